/*
 * Fuzz target: SASL as devices and upstreams send it (sasl.c): base64,
 * PLAIN and LOGIN responses, the XOAUTH2 initial response and the XOAUTH2
 * error challenge. Decoding and encoding round-trip; decoded credentials
 * are non-empty, fit their fields and encode back to themselves; the
 * challenge text for the log is printable ASCII and fits its buffer.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "sasl.h"

static void	check_b64(const char *, size_t, const uint8_t *, size_t);
static void	check_plain(const char *, size_t);
static void	check_xoauth2(const char *, size_t);
static void	check_challenge(const char *);

/* Base64 both ways: raw bytes encode and decode back; decoded text
 * encodes to text that decodes to the same bytes. */
static void
check_b64(const char *text, size_t len, const uint8_t *raw, size_t rawlen)
{
	char dec[1024], enc[1400], again[1024];
	long n, m;

	FUZZ_CHECK(sasl_b64_encode(raw, rawlen, enc, sizeof(enc)) >= 0);
	n = sasl_b64_decode(enc, strlen(enc), dec, sizeof(dec));
	FUZZ_CHECK(n == (long)rawlen && memcmp(dec, raw, rawlen) == 0);
	if ((n = sasl_b64_decode(text, len, dec, sizeof(dec))) < 0)
		return;
	FUZZ_CHECK(dec[n] == '\0');
	FUZZ_CHECK(sasl_b64_encode(dec, (size_t)n, enc, sizeof(enc)) >= 0);
	m = sasl_b64_decode(enc, strlen(enc), again, sizeof(again));
	FUZZ_CHECK(m == n && memcmp(again, dec, (size_t)n) == 0);
}

/* PLAIN and LOGIN responses as a device sends them. */
static void
check_plain(const char *text, size_t len)
{
	struct sasl_creds c, back;
	char enc[1400], user[SASL_FIELD_MAX];

	if (sasl_login_decode(text, len, user))
		FUZZ_CHECK(user[0] != '\0' && strlen(user) < SASL_FIELD_MAX);
	if (!sasl_plain_decode(text, len, &c))
		return;
	FUZZ_CHECK(c.user[0] != '\0' && c.pass[0] != '\0');
	FUZZ_CHECK(strlen(c.user) < SASL_FIELD_MAX &&
	    strlen(c.pass) < SASL_FIELD_MAX);
	FUZZ_CHECK(sasl_plain_encode(&c, enc, sizeof(enc)));
	FUZZ_CHECK(sasl_plain_decode(enc, strlen(enc), &back));
	FUZZ_CHECK(strcmp(c.user, back.user) == 0 &&
	    strcmp(c.pass, back.pass) == 0);
	sasl_creds_clear(&c);
	FUZZ_CHECK(c.user[0] == '\0' && c.pass[0] == '\0');
}

/* The XOAUTH2 initial response holds user and token as published. */
static void
check_xoauth2(const char *text, size_t len)
{
	char user[256], want[1100], dec[1100], *b64;
	const char *token;
	size_t ulen = strcspn(text, "\x01");
	long n;
	int w;

	if (ulen >= sizeof(user) || ulen == len)
		return;
	memcpy(user, text, ulen);
	user[ulen] = '\0';
	token = text + ulen + 1;
	b64 = sasl_xoauth2_encode(user, token);
	FUZZ_CHECK(b64 != NULL);
	w = snprintf(want, sizeof(want), "user=%s\x01" "auth=Bearer %s\x01\x01",
	    user, token);
	n = sasl_b64_decode(b64, strlen(b64), dec, sizeof(dec));
	FUZZ_CHECK(n == w && memcmp(dec, want, (size_t)w) == 0);
	free(b64);
}

/* The error challenge as logged: printable, escaped, within its buffer. */
static void
check_challenge(const char *text)
{
	char dst[256], small[9];
	size_t i;

	memset(dst, 'X', sizeof(dst));
	sasl_xoauth2_challenge(dst, sizeof(dst), text);
	FUZZ_CHECK(memchr(dst, '\0', sizeof(dst)) != NULL);
	for (i = 0; dst[i] != '\0'; i++)
		FUZZ_CHECK(dst[i] >= 0x20 && dst[i] < 0x7f);
	sasl_xoauth2_challenge(small, sizeof(small), text);
	FUZZ_CHECK(strlen(small) < sizeof(small));
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1024];

	if (!fuzz_string(text, sizeof(text), data, size))
		return 0;
	check_b64(text, size, data, size);
	check_plain(text, size);
	check_xoauth2(text, strlen(text));
	check_challenge(text);
	return 0;
}
