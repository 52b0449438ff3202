/* SASL PLAIN and LOGIN decoding, PLAIN and XOAUTH2 encoding, the XOAUTH2
 * error challenge, base64. */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "log.h"
#include "sasl.h"
#include "util.h"

#define SASL_B64_ALPHABET \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define SASL_PLAIN_MAX	(3 * SASL_FIELD_MAX)	/* authzid, authcid, passwd */

/* One part of a decoded PLAIN response. */
struct sasl_span {
	const char	*s;
	size_t		 len;
};

static int	sasl_b64_padding(const char *, size_t);
static bool	sasl_plain_split(const char *, size_t, struct sasl_span *);
static bool	sasl_plain_valid(const struct sasl_span *);
static bool	sasl_field_ok(size_t);

/* Decode base64 text into dst, NUL-terminated; the length, or -1. */
long
sasl_b64_decode(const char *text, size_t textlen, char *dst, size_t dstlen)
{
	unsigned char tail[3];
	size_t head, outlen;
	int pad;
	bool ok;

	if (textlen == 1 && text[0] == '=')
		textlen = 0;
	if ((pad = sasl_b64_padding(text, textlen)) < 0)
		return -1;
	outlen = textlen / 4 * 3 - (size_t)pad;
	if (outlen >= dstlen)
		return -1;
	dst[outlen] = '\0';
	if (textlen == 0)
		return 0;
	head = textlen - 4;
	ok = EVP_DecodeBlock((unsigned char *)dst, (const unsigned char *)text,
	    (int)head) == (int)(head / 4 * 3) &&
	    EVP_DecodeBlock(tail, (const unsigned char *)text + head, 4) == 3;
	if (ok)
		memcpy(dst + head / 4 * 3, tail, 3 - (size_t)pad);
	OPENSSL_cleanse(tail, sizeof tail);
	if (!ok) {
		OPENSSL_cleanse(dst, dstlen);
		return -1;
	}
	return (long)outlen;
}

/* Check base64 syntax and return the number of '=' pads, or -1. */
static int
sasl_b64_padding(const char *text, size_t len)
{
	size_t i, pad = 0;

	if (len % 4 != 0 || len > INT_MAX)
		return -1;
	while (pad < len && text[len - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return -1;
	for (i = 0; i < len - pad; i++)
		if (memchr(SASL_B64_ALPHABET, text[i],
		    sizeof(SASL_B64_ALPHABET) - 1) == NULL)
			return -1;
	return (int)pad;
}

/* Encode len bytes as base64 into dst, NUL-terminated; the length, or -1. */
long
sasl_b64_encode(const void *src, size_t len, char *dst, size_t dstlen)
{
	if (len > INT_MAX / 4 * 3 || dstlen < (len + 2) / 3 * 4 + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)dst, src, (int)len);
}

/* Decode an AUTH PLAIN response into creds; false (creds wiped) if invalid. */
bool
sasl_plain_decode(const char *text, size_t textlen, struct sasl_creds *creds)
{
	char buf[SASL_PLAIN_MAX];
	struct sasl_span part[3];
	long len;
	bool ok;

	sasl_creds_clear(creds);
	len = sasl_b64_decode(text, textlen, buf, sizeof buf);
	ok = len >= 0 && sasl_plain_split(buf, (size_t)len, part) &&
	    sasl_plain_valid(part);
	if (ok) {
		memcpy(creds->user, part[1].s, part[1].len);
		memcpy(creds->pass, part[2].s, part[2].len);
	}
	OPENSSL_cleanse(buf, sizeof buf);
	return ok;
}

/* Split decoded PLAIN at its two NULs into authzid, authcid and passwd. */
static bool
sasl_plain_split(const char *buf, size_t len, struct sasl_span *part)
{
	const char *p = buf, *end = buf + len, *nul;
	int i;

	for (i = 0; i < 2; i++) {
		if ((nul = memchr(p, '\0', (size_t)(end - p))) == NULL)
			return false;
		part[i] = (struct sasl_span){ p, (size_t)(nul - p) };
		p = nul + 1;
	}
	part[2] = (struct sasl_span){ p, (size_t)(end - p) };
	return memchr(p, '\0', part[2].len) == NULL;
}

/* Check field lengths and that any authzid names the authcid itself. */
static bool
sasl_plain_valid(const struct sasl_span *part)
{
	if (!sasl_field_ok(part[1].len) || !sasl_field_ok(part[2].len))
		return false;
	return part[0].len == 0 || (part[0].len == part[1].len &&
	    memcmp(part[0].s, part[1].s, part[1].len) == 0);
}

/* Tell whether a user name or password of len bytes is acceptable. */
static bool
sasl_field_ok(size_t len)
{
	return len > 0 && len < SASL_FIELD_MAX;
}

/* Decode one AUTH LOGIN answer into dst; false (dst wiped) if invalid. */
bool
sasl_login_decode(const char *text, size_t textlen, char *dst)
{
	long len;

	len = sasl_b64_decode(text, textlen, dst, SASL_FIELD_MAX);
	if (len > 0 && memchr(dst, '\0', (size_t)len) == NULL)
		return true;
	OPENSSL_cleanse(dst, SASL_FIELD_MAX);
	dst[0] = '\0';
	return false;
}

/* Encode creds as an AUTH PLAIN response with an empty authzid. */
bool
sasl_plain_encode(const struct sasl_creds *creds, char *dst, size_t dstlen)
{
	char buf[2 * SASL_FIELD_MAX];
	size_t ulen, plen;
	long n;

	ulen = strnlen(creds->user, SASL_FIELD_MAX);
	plen = strnlen(creds->pass, SASL_FIELD_MAX);
	if (!sasl_field_ok(ulen) || !sasl_field_ok(plen))
		return false;
	buf[0] = '\0';
	memcpy(buf + 1, creds->user, ulen + 1);
	memcpy(buf + ulen + 2, creds->pass, plen);
	n = sasl_b64_encode(buf, ulen + plen + 2, dst, dstlen);
	OPENSSL_cleanse(buf, sizeof buf);
	return n >= 0;
}

/* The XOAUTH2 initial response for user and token, heap-allocated. */
char *
sasl_xoauth2_encode(const char *user, const char *token)
{
	char *raw, *out;
	size_t len, outlen;

	len = (size_t)xasprintf(&raw, "user=%s\001auth=Bearer %s\001\001", user,
	    token);
	outlen = (len + 2) / 3 * 4 + 1;
	out = xcalloc(1, outlen);
	if (sasl_b64_encode(raw, len, out, outlen) < 0) {
		free(out);
		out = NULL;
	}
	OPENSSL_cleanse(raw, len);
	free(raw);
	return out;
}

/* Overwrite credentials so they do not linger in memory. */
void
sasl_creds_clear(struct sasl_creds *creds)
{
	OPENSSL_cleanse(creds, sizeof *creds);
}

/* Decode an XOAUTH2 error challenge for the log. */
void
sasl_xoauth2_challenge(char *dst, size_t len, const char *text)
{
	char json[1024];
	long n = sasl_b64_decode(text, strlen(text), json, sizeof(json));

	if (n < 0)
		log_escape(dst, len, text, strlen(text));
	else
		log_escape(dst, len, json, (size_t)n);
}
