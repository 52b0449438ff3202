/* ClientHello parser: the record header, the handshake header and the
 * fields up to the supported_versions extension (RFC 8446 section 4.1.2),
 * read only to learn the highest TLS version a client offered. */
#include <stdbool.h>
#include <stdint.h>

#include "tls_hello_parse.h"

#define RECORD_HANDSHAKE	0x16
#define HANDSHAKE_CLIENT_HELLO	0x01
#define HELLO_RANDOM		32
#define EXT_SUPPORTED_VERSIONS	43

/* A read position in a byte span; ok turns false past its end. */
struct cursor {
	const unsigned char	*p;
	size_t			 left;
	bool			 ok;
};

static size_t	cursor_number(struct cursor *c, size_t width);
static const unsigned char *cursor_take(struct cursor *c, size_t n);
static size_t	cursor_skip_vector(struct cursor *c, size_t width);
static int	tls_hello_body_version(const unsigned char *body, size_t len);
static int	tls_hello_extensions_version(struct cursor *c, int legacy);

/* Take n bytes, or fail the cursor. */
static const unsigned char *
cursor_take(struct cursor *c, size_t n)
{
	const unsigned char *p = c->p;

	if (!c->ok || n > c->left) {
		c->ok = false;
		return NULL;
	}
	c->p += n;
	c->left -= n;
	return p;
}

/* Read a big-endian number of width bytes (0 once the cursor failed). */
static size_t
cursor_number(struct cursor *c, size_t width)
{
	const unsigned char *p = cursor_take(c, width);
	size_t v = 0, i;

	for (i = 0; p != NULL && i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/* Skip a vector whose length prefix is width bytes; return its length. */
static size_t
cursor_skip_vector(struct cursor *c, size_t width)
{
	size_t n = cursor_number(c, width);

	cursor_take(c, n);
	return n;
}

/* The highest of legacy and the versions of a supported_versions body. */
int
tls_hello_versions_max(int legacy, const unsigned char *ext, size_t len)
{
	size_t i;
	int v, best = legacy;

	if (len < 1)
		return best;
	for (i = 1; i + 1 < len && i < (size_t)ext[0] + 1; i += 2) {
		v = ext[i] << 8 | ext[i + 1];
		if (!TLS_GREASE(v) && v > best)
			best = v;
	}
	return best;
}

/* The best version in the extensions block at c, or legacy; -1 if the
 * block is malformed. */
static int
tls_hello_extensions_version(struct cursor *c, int legacy)
{
	struct cursor ext;
	size_t type, n;
	const unsigned char *body;

	if (c->left == 0)
		return legacy;	/* no extensions: TLS 1.2 and older */
	n = cursor_number(c, 2);
	ext.p = cursor_take(c, n);
	ext.left = n;
	ext.ok = c->ok;
	while (ext.ok && ext.left > 0) {
		type = cursor_number(&ext, 2);
		n = cursor_number(&ext, 2);
		body = cursor_take(&ext, n);
		if (ext.ok && type == EXT_SUPPORTED_VERSIONS)
			return tls_hello_versions_max(legacy, body, n);
	}
	return ext.ok ? legacy : -1;
}

/* The best version of a whole ClientHello handshake message, or -1. */
static int
tls_hello_body_version(const unsigned char *body, size_t len)
{
	struct cursor c = { body, len, true };
	size_t hs_len;
	int legacy;

	if (cursor_number(&c, 1) != HANDSHAKE_CLIENT_HELLO)
		return -1;
	hs_len = cursor_number(&c, 3);
	if (!c.ok || hs_len != c.left)
		return -1;	/* a hello split over records: not accepted */
	legacy = (int)cursor_number(&c, 2);
	cursor_take(&c, HELLO_RANDOM);
	cursor_skip_vector(&c, 1);	/* legacy_session_id */
	cursor_skip_vector(&c, 2);	/* cipher_suites */
	cursor_skip_vector(&c, 1);	/* legacy_compression_methods */
	if (!c.ok || legacy >> 8 != 3)
		return -1;
	return tls_hello_extensions_version(&c, legacy);
}

/* Parse the first len bytes of a connection as a ClientHello record. */
enum tls_hello_status
tls_hello_parse(const unsigned char *buf, size_t len, int *version)
{
	size_t body;
	int v;

	if (len >= 1 && buf[0] != RECORD_HANDSHAKE)
		return TLS_HELLO_ERROR;
	if (len >= 2 && buf[1] != 3)
		return TLS_HELLO_ERROR;
	if (len < TLS_HELLO_HEADER)
		return TLS_HELLO_NEED_MORE;
	body = (size_t)buf[3] << 8 | buf[4];
	if (body == 0 || body > TLS_HELLO_BODY_MAX)
		return TLS_HELLO_ERROR;
	if (len < TLS_HELLO_HEADER + body)
		return TLS_HELLO_NEED_MORE;
	v = tls_hello_body_version(buf + TLS_HELLO_HEADER, body);
	if (v < 0)
		return TLS_HELLO_ERROR;
	*version = v;
	return TLS_HELLO_DONE;
}
