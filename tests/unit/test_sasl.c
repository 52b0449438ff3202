/* Unit tests for sasl.c: base64, PLAIN, LOGIN and XOAUTH2. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sasl.h"
#include "suites.h"

static bool	plain_decode_str(const char *, struct sasl_creds *);
static bool	plain_decode_raw(const void *, size_t, struct sasl_creds *);
static bool	login_decode_str(const char *, char *);

/* Decode a NUL-terminated AUTH PLAIN response. */
static bool
plain_decode_str(const char *text, struct sasl_creds *creds)
{
	return sasl_plain_decode(text, strlen(text), creds);
}

/* Base64-encode raw bytes, then decode them as an AUTH PLAIN response. */
static bool
plain_decode_raw(const void *raw, size_t len, struct sasl_creds *creds)
{
	char text[4096];

	ck_assert_int_ge(sasl_b64_encode(raw, len, text, sizeof text), 0);
	return plain_decode_str(text, creds);
}

/* Decode a NUL-terminated AUTH LOGIN answer. */
static bool
login_decode_str(const char *text, char *dst)
{
	return sasl_login_decode(text, strlen(text), dst);
}

/* PLAIN without an authzid yields user and password. */
START_TEST(test_plain_no_authzid)
{
	struct sasl_creds c;

	ck_assert(plain_decode_str("AHVzZXIAcGFzcw==", &c));
	ck_assert_str_eq(c.user, "user");
	ck_assert_str_eq(c.pass, "pass");
	sasl_creds_clear(&c);
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.pass, "");
}
END_TEST

/* PLAIN with an authzid equal to the authcid is accepted. */
START_TEST(test_plain_same_authzid)
{
	struct sasl_creds c;

	ck_assert(plain_decode_str("dXNlcgB1c2VyAHBhc3M=", &c));
	ck_assert_str_eq(c.user, "user");
	ck_assert_str_eq(c.pass, "pass");
}
END_TEST

/* PLAIN with an authzid other than the authcid is refused and wiped. */
START_TEST(test_plain_other_authzid)
{
	struct sasl_creds c;

	memset(&c, 'x', sizeof c);
	ck_assert(!plain_decode_str("YWRtaW4AdXNlcgBwYXNz", &c));
	ck_assert_str_eq(c.user, "");
	ck_assert_str_eq(c.pass, "");
	ck_assert(!plain_decode_raw("use\0user\0pass", 13, &c));
	ck_assert(!plain_decode_raw("users\0user\0pass", 15, &c));
}
END_TEST

/* PLAIN needs exactly two NULs. */
START_TEST(test_plain_nuls)
{
	struct sasl_creds c;

	ck_assert(!plain_decode_str("dXNlcgBwYXNz", &c));	/* user\0pass */
	ck_assert(!plain_decode_str("dXNlcnBhc3M=", &c));	/* userpass */
	ck_assert(!plain_decode_str("AHVzZXIAcGEAc3M=", &c));
	ck_assert(!plain_decode_raw("\0user\0pass\0", 11, &c));
}
END_TEST

/* PLAIN with an empty user or password is refused. */
START_TEST(test_plain_empty_fields)
{
	struct sasl_creds c;

	ck_assert(!plain_decode_str("AHVzZXIA", &c));	/* \0user\0 */
	ck_assert(!plain_decode_str("AABwYXNz", &c));	/* \0\0pass */
	ck_assert(!plain_decode_str("AAA=", &c));	/* \0\0 */
	ck_assert(!plain_decode_str("=", &c));
	ck_assert(!plain_decode_str("", &c));
}
END_TEST

/* PLAIN with bad base64 is refused. */
START_TEST(test_plain_bad_base64)
{
	struct sasl_creds c;

	ck_assert(!plain_decode_str("AHVzZXIAcGFzcw=", &c));
	ck_assert(!plain_decode_str("AHVzZXIAcGFzcw", &c));
	ck_assert(!plain_decode_str("AHVzZXIA cGFzcw==", &c));
	ck_assert(!plain_decode_str("AHVzZXIAcGFz*w==", &c));
}
END_TEST

/* User names and passwords must be shorter than SASL_FIELD_MAX. */
START_TEST(test_plain_overlong)
{
	char raw[3 * SASL_FIELD_MAX + 2];
	struct sasl_creds c;
	size_t n = SASL_FIELD_MAX - 1;

	memset(raw, 'u', sizeof raw);
	raw[0] = '\0';
	raw[1 + n] = '\0';
	ck_assert(plain_decode_raw(raw, 2 + 2 * n, &c));
	ck_assert_uint_eq(strlen(c.user), n);
	ck_assert_uint_eq(strlen(c.pass), n);
	ck_assert(!plain_decode_raw(raw, 3 + 2 * n, &c));
	raw[1 + n] = 'u';
	raw[2 + n] = '\0';
	ck_assert(!plain_decode_raw(raw, 3 + 2 * n, &c));

	memset(raw, 'u', sizeof raw);
	raw[n] = '\0';
	raw[2 * n + 1] = '\0';
	ck_assert(plain_decode_raw(raw, 3 * n + 2, &c));
	ck_assert_uint_eq(strlen(c.user), n);
}
END_TEST

/* LOGIN answers decode to the user name or password. */
START_TEST(test_login_decode)
{
	char dst[SASL_FIELD_MAX];

	ck_assert(login_decode_str("dXNlcg==", dst));
	ck_assert_str_eq(dst, "user");
	ck_assert(login_decode_str("cGFzcw==", dst));
	ck_assert_str_eq(dst, "pass");
	ck_assert(!login_decode_str("=", dst));
	ck_assert_str_eq(dst, "");
	ck_assert(!login_decode_str("dXNl\ncg==", dst));
	ck_assert(!login_decode_str("AHVzZXI=", dst));	/* \0user */
}
END_TEST

/* A LOGIN answer of SASL_FIELD_MAX bytes or more is refused. */
START_TEST(test_login_overlong)
{
	char raw[SASL_FIELD_MAX], text[1024], dst[SASL_FIELD_MAX];

	memset(raw, 'p', sizeof raw);
	ck_assert_int_ge(sasl_b64_encode(raw, SASL_FIELD_MAX - 1, text,
	    sizeof text), 0);
	ck_assert(login_decode_str(text, dst));
	ck_assert_uint_eq(strlen(dst), SASL_FIELD_MAX - 1);
	ck_assert_int_ge(sasl_b64_encode(raw, SASL_FIELD_MAX, text,
	    sizeof text), 0);
	ck_assert(!login_decode_str(text, dst));
}
END_TEST

/* "=" alone is the empty response; an empty text also decodes to nothing. */
START_TEST(test_b64_empty)
{
	char dst[8] = "junk";

	ck_assert_int_eq(sasl_b64_decode("=", 1, dst, sizeof dst), 0);
	ck_assert_str_eq(dst, "");
	ck_assert_int_eq(sasl_b64_decode("", 0, dst, sizeof dst), 0);
	ck_assert_int_eq(sasl_b64_decode("=", 1, dst, 0), -1);
	ck_assert_int_eq(sasl_b64_decode("==", 2, dst, sizeof dst), -1);
	ck_assert_int_eq(sasl_b64_decode("====", 4, dst, sizeof dst), -1);
}
END_TEST

/* Malformed base64 is refused. */
START_TEST(test_b64_bad)
{
	static const char *const bad[] = {
		"dXNlcg=", "dXNlc", "dXN lcg==", "dXNl\tcg==", "dXNlcg==\r\n",
		"dX*lcg==", "d=Nlcg==", "dXNl=g==", "dXNlc===", "dXNl====",
		"dXNl-_==", "A",
	};
	char dst[32];
	size_t i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(sasl_b64_decode(bad[i], strlen(bad[i]), dst,
		    sizeof dst) == -1, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(sasl_b64_decode("dX\0lcg==", 8, dst, sizeof dst), -1);
}
END_TEST

/* Decoding needs room for the result and its NUL. */
START_TEST(test_b64_decode_room)
{
	char dst[8];

	ck_assert_int_eq(sasl_b64_decode("dXNlcg==", 8, dst, 4), -1);
	ck_assert_int_eq(sasl_b64_decode("dXNlcg==", 8, dst, 5), 4);
	ck_assert_str_eq(dst, "user");
	ck_assert_int_eq(sasl_b64_decode("dXNlcnM=", 8, dst, 6), 5);
	ck_assert_str_eq(dst, "users");
	ck_assert_int_eq(sasl_b64_decode("dXNl", 4, dst, 4), 3);
	ck_assert_str_eq(dst, "use");
}
END_TEST

/* Encoding needs room for the text and its NUL. */
START_TEST(test_b64_encode_room)
{
	char dst[16];

	ck_assert_int_eq(sasl_b64_encode("user", 4, dst, 8), -1);
	ck_assert_int_eq(sasl_b64_encode("user", 4, dst, 9), 8);
	ck_assert_str_eq(dst, "dXNlcg==");
	ck_assert_int_eq(sasl_b64_encode("", 0, dst, 1), 0);
	ck_assert_str_eq(dst, "");
}
END_TEST

/* Every byte value survives encoding and decoding, at every length mod 3. */
START_TEST(test_b64_round_trip)
{
	unsigned char raw[256];
	char text[400], back[257];
	long n;
	size_t len, i;

	for (i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)i;
	for (len = 253; len <= sizeof raw; len++) {
		n = sasl_b64_encode(raw, len, text, sizeof text);
		ck_assert_int_eq(n, (long)((len + 2) / 3 * 4));
		ck_assert_int_eq(sasl_b64_decode(text, (size_t)n, back,
		    sizeof back), (long)len);
		ck_assert_mem_eq(back, raw, len);
	}
}
END_TEST

/* The standard LOGIN prompts have their well-known encodings. */
START_TEST(test_login_prompts)
{
	char dst[32];

	ck_assert_int_eq(sasl_b64_encode("Username:", 9, dst, sizeof dst), 12);
	ck_assert_str_eq(dst, "VXNlcm5hbWU6");
	ck_assert_int_eq(sasl_b64_encode("Password:", 9, dst, sizeof dst), 12);
	ck_assert_str_eq(dst, "UGFzc3dvcmQ6");
	ck_assert_int_eq(sasl_b64_decode("VXNlcm5hbWU6", 12, dst, sizeof dst),
	    9);
	ck_assert_str_eq(dst, "Username:");
	ck_assert_int_eq(sasl_b64_decode("UGFzc3dvcmQ6", 12, dst, sizeof dst),
	    9);
	ck_assert_str_eq(dst, "Password:");
}
END_TEST

/* PLAIN encoding has an empty authzid and round-trips through decoding. */
START_TEST(test_plain_encode)
{
	struct sasl_creds c = { "user", "pass" }, back;
	char dst[64];

	ck_assert(sasl_plain_encode(&c, dst, sizeof dst));
	ck_assert_str_eq(dst, "AHVzZXIAcGFzcw==");
	ck_assert(!sasl_plain_encode(&c, dst, 16));
	ck_assert(sasl_plain_encode(&c, dst, 17));
	ck_assert(plain_decode_str(dst, &back));
	ck_assert_str_eq(back.user, "user");
	ck_assert_str_eq(back.pass, "pass");
	c.pass[0] = '\0';
	ck_assert(!sasl_plain_encode(&c, dst, sizeof dst));
}
END_TEST

/* XOAUTH2 encodes user and token as the published example does. */
START_TEST(test_xoauth2_encode)
{
	char *b64, raw[256];
	long len;

	b64 = sasl_xoauth2_encode("someuser@example.com",
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	ck_assert_ptr_nonnull(b64);
	ck_assert_str_eq(b64, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJl"
	    "YXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0"
	    "Q2cBAQ==");
	free(b64);
	b64 = sasl_xoauth2_encode("a@b", "t");
	len = sasl_b64_decode(b64, strlen(b64), raw, sizeof raw);
	ck_assert_int_eq(len, 24);
	ck_assert_int_eq(memcmp(raw, "user=a@b\001auth=Bearer t\001\001", 24),
	    0);
	free(b64);
}
END_TEST

/* An XOAUTH2 error challenge is decoded for the log, escaped; text that
 * is not base64 is logged as it came, escaped; the result always fits. */
START_TEST(test_xoauth2_challenge)
{
	char dst[64], tiny[8];

	/* base64 of {"status":"401","schemes":"bearer"} */
	sasl_xoauth2_challenge(dst, sizeof(dst), "eyJzdGF0dXMiOiI0MDEiLCJzY2hl"
	    "bWVzIjoiYmVhcmVyIn0=");
	ck_assert_str_eq(dst, "{\"status\":\"401\",\"schemes\":\"bearer\"}");
	sasl_xoauth2_challenge(dst, sizeof(dst), "not base64!");
	ck_assert_str_eq(dst, "not base64!");
	/* base64 of "a\nb" */
	sasl_xoauth2_challenge(dst, sizeof(dst), "YQpi");
	ck_assert_ptr_null(strchr(dst, '\n'));
	sasl_xoauth2_challenge(tiny, sizeof(tiny), "eyJzdGF0dXMiOiI0MDEifQ==");
	ck_assert_uint_lt(strlen(tiny), sizeof(tiny));
}
END_TEST

/* Build the SASL suite. */
Suite *
sasl_suite(void)
{
	Suite *s = suite_create("sasl");
	TCase *tc;

	tc = tcase_create("plain");
	tcase_add_test(tc, test_plain_no_authzid);
	tcase_add_test(tc, test_plain_same_authzid);
	tcase_add_test(tc, test_plain_other_authzid);
	tcase_add_test(tc, test_plain_nuls);
	tcase_add_test(tc, test_plain_empty_fields);
	tcase_add_test(tc, test_plain_bad_base64);
	tcase_add_test(tc, test_plain_overlong);
	tcase_add_test(tc, test_plain_encode);
	suite_add_tcase(s, tc);

	tc = tcase_create("login");
	tcase_add_test(tc, test_login_decode);
	tcase_add_test(tc, test_login_overlong);
	tcase_add_test(tc, test_login_prompts);
	suite_add_tcase(s, tc);

	tc = tcase_create("base64");
	tcase_add_test(tc, test_b64_empty);
	tcase_add_test(tc, test_b64_bad);
	tcase_add_test(tc, test_b64_decode_room);
	tcase_add_test(tc, test_b64_encode_room);
	tcase_add_test(tc, test_b64_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("xoauth2");
	tcase_add_test(tc, test_xoauth2_encode);
	tcase_add_test(tc, test_xoauth2_challenge);
	suite_add_tcase(s, tc);
	return s;
}
