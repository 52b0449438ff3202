/*
 * Fuzz target: the client assertion (oauth_jwt_assertion), which the relay
 * makes rather than reads, so this is a round trip. An RSA 1024 key (the
 * key size is not under test, and 2048 bits halve the runs per second)
 * and a certificate are made once at start-up; the input drives the time, the
 * client id, the tenant in the token URL and the certificate's serial
 * (hence its thumbprint). The assertion is three base64url parts and
 * nothing else; header and claims decode to JSON with no raw control
 * byte, carrying exactly the inputs (the thumbprint of the certificate,
 * the client id as iss and sub, the URL as aud, the times) and a fresh
 * 128-bit jti; the RS256 signature checks with the certificate's key.
 * Text that is not UTF-8 (which JSON cannot carry) gives no assertion.
 */
#include <stdbool.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz.h"
#include "oauth_wire.h"
#include "util.h"

#define TOKEN_URL	"https://login.microsoftonline.com/%s/oauth2/v2.0/token"
#define LIFETIME	300		/* oauth_wire.c's assertion lifetime */
#define TIME_BYTES	5		/* now: 0 to 2^40 s, past year 36000 */
#define SERIAL_MAX	20		/* RFC 5280 4.1.2.2 */
#define JTI_LEN		32		/* 16 random bytes in hex */
#define B64URL		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-_"

/* What one input asks for. */
struct claims_in {
	time_t		 now;
	const char	*client_id;
	const char	*tenant;
	char		*url;		/* heap */
	X509		*cert;		/* the start-up one, another serial */
	unsigned char	 thumb[32];	/* SHA-256 of its DER */
};

/* A well-formed UTF-8 lead byte range, its first continuation byte's
 * range and the sequence length (Unicode 15, table 3-7). */
struct utf8_form {
	unsigned char	lead_lo, lead_hi, next_lo, next_hi, len;
};

static EVP_PKEY	*fuzz_key;
static X509	*fuzz_cert;
static char	 last_jti[JTI_LEN + 1];

static size_t	 utf8_seq(const unsigned char *);
static bool	 utf8_valid(const char *);
static void	 input_read(struct claims_in *, const char *, size_t);
static void	 cert_make(struct claims_in *, const unsigned char *, size_t);
static unsigned char *b64url_decode(const char *, size_t, size_t *);
static json_t	*part_json(const char *, size_t, size_t);
static void	 header_check(const char *, size_t, const struct claims_in *);
static void	 claims_check(const char *, size_t, const struct claims_in *);
static void	 string_check(json_t *, const char *, const char *, size_t);
static void	 time_check(json_t *, const char *, long long);
static void	 signature_check(const char *, size_t, const char *, X509 *);
static void	 assertion_check(const char *, const struct claims_in *);

/* Make the key and a self-signed certificate for it, once. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	X509_NAME *name;

	(void)argc;
	(void)argv;
	fuzz_key = EVP_RSA_gen(1024);
	fuzz_cert = X509_new();
	FUZZ_CHECK(fuzz_key != NULL && fuzz_cert != NULL);
	name = X509_get_subject_name(fuzz_cert);
	FUZZ_CHECK(X509_set_version(fuzz_cert, X509_VERSION_3) == 1 &&
	    X509_set_pubkey(fuzz_cert, fuzz_key) == 1 &&
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tlsrelay fuzz", -1, -1, 0) == 1 &&
	    X509_set_issuer_name(fuzz_cert, name) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(fuzz_cert), 0) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(fuzz_cert), 3600) != NULL &&
	    X509_sign(fuzz_cert, fuzz_key, EVP_sha256()) > 0);
	return 0;
}

/* The length of the well-formed UTF-8 sequence at s, 0 if ill-formed. */
static size_t
utf8_seq(const unsigned char *s)
{
	static const struct utf8_form forms[] = {
		{ 0x01, 0x7f, 0, 0, 1 },	{ 0xc2, 0xdf, 0x80, 0xbf, 2 },
		{ 0xe0, 0xe0, 0xa0, 0xbf, 3 },	{ 0xe1, 0xec, 0x80, 0xbf, 3 },
		{ 0xed, 0xed, 0x80, 0x9f, 3 },	{ 0xee, 0xef, 0x80, 0xbf, 3 },
		{ 0xf0, 0xf0, 0x90, 0xbf, 4 },	{ 0xf1, 0xf3, 0x80, 0xbf, 4 },
		{ 0xf4, 0xf4, 0x80, 0x8f, 4 },
	};
	const struct utf8_form *f;
	size_t i, k;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		f = &forms[i];
		if (s[0] < f->lead_lo || s[0] > f->lead_hi)
			continue;
		if (f->len > 1 && (s[1] < f->next_lo || s[1] > f->next_hi))
			return 0;
		for (k = 2; k < f->len; k++)
			if (s[k] < 0x80 || s[k] > 0xbf)
				return 0;
		return f->len;
	}
	return 0;
}

/* The string is well-formed UTF-8 (what a JSON string can carry). */
static bool
utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	for (; *p != '\0'; p += n)
		if ((n = utf8_seq(p)) == 0)
			return false;
	return true;
}

/* Split text (NUL-terminated at len) into the time, then the client id,
 * tenant and serial bytes, each ended by a NUL or the end. */
static void
input_read(struct claims_in *in, const char *text, size_t len)
{
	const char *end = text + len, *serial;
	size_t i;

	in->now = 0;
	for (i = 0; i < TIME_BYTES; i++)
		in->now = in->now << 8 | (unsigned char)text[i];
	in->client_id = text + TIME_BYTES;
	in->tenant = in->client_id + strlen(in->client_id);
	in->tenant += in->tenant < end;
	serial = in->tenant + strlen(in->tenant);
	serial += serial < end;
	xasprintf(&in->url, TOKEN_URL, in->tenant);
	cert_make(in, (const unsigned char *)serial,
	    (size_t)(end - serial) < SERIAL_MAX ? (size_t)(end - serial) :
	    SERIAL_MAX);
}

/* The start-up certificate with the given serial, and its thumbprint. */
static void
cert_make(struct claims_in *in, const unsigned char *serial, size_t len)
{
	BIGNUM *bn = BN_bin2bn(serial, (int)len, NULL);
	ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int derlen;

	in->cert = X509_dup(fuzz_cert);
	/* The copy keeps the DER it was made from until its TBS part is
	 * encoded again: without that the serial would change nothing. */
	FUZZ_CHECK(ai != NULL && in->cert != NULL &&
	    X509_set_serialNumber(in->cert, ai) == 1 &&
	    i2d_re_X509_tbs(in->cert, NULL) > 0);
	derlen = i2d_X509(in->cert, &der);
	FUZZ_CHECK(derlen > 0 && EVP_Digest(der, (size_t)derlen, in->thumb,
	    &mdlen, EVP_sha256(), NULL) == 1 && mdlen == sizeof(in->thumb));
	OPENSSL_free(der);
	ASN1_INTEGER_free(ai);
	BN_free(bn);
}

/* Decode len bytes of base64url (no padding) into a heap buffer, with
 * its length in outlen; anything else is a broken invariant. */
static unsigned char *
b64url_decode(const char *s, size_t len, size_t *outlen)
{
	size_t pad = (4 - len % 4) % 4, i;
	char *b64 = xcalloc(1, len + pad + 1);
	unsigned char *out = xcalloc(1, (len + pad) / 4 * 3 + 1);
	int n;

	FUZZ_CHECK(len > 0 && pad < 3 && strspn(s, B64URL) >= len);
	for (i = 0; i < len; i++)
		b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(b64 + len, '=', pad);
	n = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)(len + pad));
	FUZZ_CHECK(n >= 0 && (size_t)n >= pad);
	*outlen = (size_t)n - pad;
	free(b64);
	return out;
}

/* A part of the assertion as a JSON object of nkeys members, its text
 * valid UTF-8 with no raw control byte. */
static json_t *
part_json(const char *s, size_t len, size_t nkeys)
{
	size_t textlen, i;
	char *text = (char *)b64url_decode(s, len, &textlen);
	json_t *obj;

	for (i = 0; i < textlen; i++)
		FUZZ_CHECK((unsigned char)text[i] >= 0x20);
	FUZZ_CHECK(utf8_valid(text));
	obj = json_loadb(text, textlen, JSON_REJECT_DUPLICATES, NULL);
	FUZZ_CHECK(json_is_object(obj) && json_object_size(obj) == nkeys);
	free(text);
	return obj;
}

/* The header: RS256, a JWT, named by the certificate's thumbprint. */
static void
header_check(const char *s, size_t len, const struct claims_in *in)
{
	json_t *obj = part_json(s, len, 3);
	const char *thumb = json_string_value(json_object_get(obj,
	    "x5t#S256"));
	unsigned char *md;
	size_t mdlen;

	string_check(obj, "alg", "RS256", 5);
	string_check(obj, "typ", "JWT", 3);
	FUZZ_CHECK(thumb != NULL);
	md = b64url_decode(thumb, strlen(thumb), &mdlen);
	FUZZ_CHECK(mdlen == sizeof(in->thumb) &&
	    memcmp(md, in->thumb, mdlen) == 0);
	free(md);
	json_decref(obj);
}

/* The claims: exactly the inputs, and a jti unlike the last one. */
static void
claims_check(const char *s, size_t len, const struct claims_in *in)
{
	json_t *obj = part_json(s, len, 7);
	const char *jti = json_string_value(json_object_get(obj, "jti"));

	string_check(obj, "aud", in->url, strlen(in->url));
	string_check(obj, "iss", in->client_id, strlen(in->client_id));
	string_check(obj, "sub", in->client_id, strlen(in->client_id));
	time_check(obj, "nbf", (long long)in->now);
	time_check(obj, "iat", (long long)in->now);
	time_check(obj, "exp", (long long)in->now + LIFETIME);
	FUZZ_CHECK(jti != NULL && strlen(jti) == JTI_LEN &&
	    strspn(jti, "0123456789abcdef") == JTI_LEN &&
	    strcmp(jti, last_jti) != 0);
	memcpy(last_jti, jti, sizeof(last_jti));
	json_decref(obj);
}

/* The member key is a string of exactly want's len bytes. */
static void
string_check(json_t *obj, const char *key, const char *want, size_t len)
{
	json_t *value = json_object_get(obj, key);

	FUZZ_CHECK(json_is_string(value) && json_string_length(value) == len &&
	    memcmp(json_string_value(value), want, len) == 0);
}

/* The member key is the integer want. */
static void
time_check(json_t *obj, const char *key, long long want)
{
	json_t *value = json_object_get(obj, key);

	FUZZ_CHECK(json_is_integer(value) && json_integer_value(value) == want);
}

/* The signature is RS256 over the first len bytes of jwt, by the
 * certificate's key. */
static void
signature_check(const char *sig, size_t len, const char *jwt, X509 *cert)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *raw;
	size_t rawlen;

	raw = b64url_decode(sig, strlen(sig), &rawlen);
	FUZZ_CHECK(md != NULL && rawlen ==
	    (size_t)EVP_PKEY_get_size(X509_get0_pubkey(cert)));
	FUZZ_CHECK(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL,
	    X509_get0_pubkey(cert)) == 1 && EVP_DigestVerify(md, raw, rawlen,
	    (const unsigned char *)jwt, len) == 1);
	free(raw);
	EVP_MD_CTX_free(md);
}

/* The assertion is header.claims.signature in base64url and nothing
 * else, and each part holds. */
static void
assertion_check(const char *jwt, const struct claims_in *in)
{
	const char *dot1, *dot2;

	FUZZ_CHECK(jwt != NULL && strspn(jwt, B64URL ".") == strlen(jwt));
	dot1 = strchr(jwt, '.');
	FUZZ_CHECK(dot1 != NULL && (dot2 = strchr(dot1 + 1, '.')) != NULL &&
	    strchr(dot2 + 1, '.') == NULL);
	header_check(jwt, (size_t)(dot1 - jwt), in);
	claims_check(dot1 + 1, (size_t)(dot2 - dot1 - 1), in);
	signature_check(dot2 + 1, (size_t)(dot2 - jwt), jwt, in->cert);
}

/* One fuzz input: make an assertion and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[4096];
	struct claims_in in;
	char *jwt;

	if (size < TIME_BYTES || !fuzz_string(text, sizeof(text), data, size))
		return 0;
	input_read(&in, text, size);
	jwt = oauth_jwt_assertion(fuzz_key, in.cert, in.client_id, in.url,
	    in.now);
	if (utf8_valid(in.client_id) && utf8_valid(in.tenant))
		assertion_check(jwt, &in);
	else
		FUZZ_CHECK(jwt == NULL);
	free(jwt);
	free(in.url);
	X509_free(in.cert);
	return 0;
}
