/* Unit tests for oauth_wire.c: token answers, form bodies and client
 * assertions. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "oauth_wire.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define ERRLEN		256
#define JWT_URL		"https://login.microsoftonline.com/contoso/oauth2/" \
			"v2.0/token"
#define JWT_CLIENT	"00000000-1111-2222-3333-444444444444"
#define JWT_NOW		1800000000

/* The oauth2 settings the form body tests send. */
static const struct oauth_conf form_conf = {
	.client_id = "00000000-1111-2222-3333-444444444444",
	.scope = "https://outlook.office365.com/.default",
};

static bool	parse(int status, const char *body, struct oauth_token *tok,
		    char *err);
static char	*b64url_decode(const char *text, size_t len, size_t *outlen);
static json_t	*jwt_part(const char *jwt, int part);
static bool	signature_valid(X509 *cert, const char *data, size_t len,
		    const char *sig, size_t siglen);

/* Parse a NUL-terminated answer. */
static bool
parse(int status, const char *body, struct oauth_token *tok, char *err)
{
	return oauth_parse_answer(status, body, strlen(body), tok, err, ERRLEN);
}

/* Decode base64url without padding (caller frees). */
static char *
b64url_decode(const char *text, size_t len, size_t *outlen)
{
	char *std = xcalloc(1, len + 4), *out = xcalloc(1, len + 4);
	size_t i, padded = (len + 3) / 4 * 4;
	int n;

	for (i = 0; i < len; i++) {
		ck_assert_msg(strchr("+/=", text[i]) == NULL,
		    "not base64url: %.*s", (int)len, text);
		std[i] = text[i] == '-' ? '+' : text[i] == '_' ? '/' : text[i];
	}
	for (; i < padded; i++)
		std[i] = '=';
	n = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)std,
	    (int)padded);
	ck_assert_int_ge(n, 0);
	*outlen = (size_t)n - (padded - len);
	free(std);
	return out;
}

/* Decode part 0 (header) or 1 (claims) of a JWT as JSON. */
static json_t *
jwt_part(const char *jwt, int part)
{
	const char *start = jwt, *end;
	size_t len;
	char *raw;
	json_t *obj;

	for (; part > 0; part--)
		start = strchr(start, '.') + 1;
	end = strchr(start, '.');
	raw = b64url_decode(start, (size_t)(end - start), &len);
	obj = json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_msg(obj != NULL, "JWT part is not JSON: %.*s", (int)len,
	    raw);
	free(raw);
	return obj;
}

/* Does the certificate's key verify an RS256 signature of data? */
static bool
signature_valid(X509 *cert, const char *data, size_t len, const char *sig,
    size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok;

	ck_assert_int_eq(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL,
	    X509_get0_pubkey(cert)), 1);
	ok = EVP_DigestVerify(ctx, (const unsigned char *)sig, siglen,
	    (const unsigned char *)data, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* A good answer yields the token and its lifetime. */
START_TEST(test_answer_ok)
{
	struct oauth_token tok;
	char err[ERRLEN];

	ck_assert(parse(200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
	    "\"ext_expires_in\":3599,\"access_token\":\"eyJ0eXAi.x.y\"}",
	    &tok, err));
	ck_assert_str_eq(tok.access_token, "eyJ0eXAi.x.y");
	ck_assert_int_eq(tok.expires_in, 3599);
	free(tok.access_token);
	ck_assert(parse(200, "{\"token_type\":\"bearer\",\"expires_in\":\"60\","
	    "\"access_token\":\"abc\"}", &tok, err));
	ck_assert_str_eq(tok.access_token, "abc");
	ck_assert_int_eq(tok.expires_in, 60);
	free(tok.access_token);
}
END_TEST

/* An Entra ID error gives its AADSTS code, error and trace id, and
 * nothing of the description. */
START_TEST(test_answer_aadsts)
{
	struct oauth_token tok;
	char err[ERRLEN];

	ck_assert(!parse(401, "{\"error\":\"invalid_client\","
	    "\"error_description\":\"AADSTS7000215: Invalid client secret "
	    "provided. Ensure the secret being sent in the request is the "
	    "client secret value.\\r\\nTrace ID: 0c7c\",\"error_codes\":"
	    "[7000215],\"timestamp\":\"2026-11-22 10:00:00Z\",\"trace_id\":"
	    "\"0c7c5f2e-1c1a-4a3e-9b1c-7f1e3f0e2a00\",\"correlation_id\":"
	    "\"8d3e2c1b-aaaa-bbbb-cccc-ddddeeeeffff\"}", &tok, err));
	ck_assert_ptr_null(tok.access_token);
	ck_assert_str_eq(err, "AADSTS7000215 invalid_client "
	    "trace_id=0c7c5f2e-1c1a-4a3e-9b1c-7f1e3f0e2a00 (HTTP 401)");
	ck_assert(!parse(400, "{\"error\":\"invalid_request\",\"error_codes\":"
	    "[900144]}", &tok, err));
	ck_assert_str_eq(err, "AADSTS900144 invalid_request (HTTP 400)");
	ck_assert(!parse(400, "{\"error\":\"bad\\nline\"}", &tok, err));
	ck_assert_str_eq(err, "bad\\nline (HTTP 400)");
	ck_assert(!parse(200, "{\"error\":\"temporarily_unavailable\"}", &tok,
	    err));
	ck_assert_str_eq(err, "temporarily_unavailable (HTTP 200)");
}
END_TEST

/* Malformed JSON and answers without JSON are named as such. */
START_TEST(test_answer_not_json)
{
	struct oauth_token tok;
	char err[ERRLEN];

	ck_assert(!parse(200, "{\"token_type\":\"Bearer\",", &tok, err));
	ck_assert_str_eq(err, "malformed JSON answer (HTTP 200)");
	ck_assert(!parse(200, "", &tok, err));
	ck_assert_str_eq(err, "malformed JSON answer (HTTP 200)");
	ck_assert(!parse(200, "[1,2]", &tok, err));
	ck_assert_str_eq(err, "malformed JSON answer (HTTP 200)");
	ck_assert(!parse(503, "<html>Service Unavailable</html>", &tok, err));
	ck_assert_str_eq(err, "unexpected answer (HTTP 503)");
	ck_assert(!parse(500, "{}", &tok, err));
	ck_assert_str_eq(err, "unexpected answer (HTTP 500)");
	ck_assert(!parse(200, "{\"access_token\":\"a\",\"access_token\":\"b\","
	    "\"token_type\":\"Bearer\",\"expires_in\":1}", &tok, err));
}
END_TEST

/* Missing or wrong fields of a 200 answer are each named. */
START_TEST(test_answer_fields)
{
	static const struct {
		const char	*body;
		const char	*err;
	} cases[] = {
		{ "{\"expires_in\":3599,\"access_token\":\"a\"}",
		    "no token_type in the answer (HTTP 200)" },
		{ "{\"token_type\":\"mac\",\"expires_in\":3599,"
		    "\"access_token\":\"a\"}",
		    "token_type is not Bearer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599}",
		    "no access_token in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"\"}",
		    "no access_token in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":42}",
		    "no access_token in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"a\\u0000b\"}",
		    "malformed JSON answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"a\\u0001user=b\"}",
		    "access_token is not a Bearer token (RFC 6750) (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		    "\"access_token\":\"a b\"}",
		    "access_token is not a Bearer token (RFC 6750) (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"access_token\":\"a\"}",
		    "no valid expires_in in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":0,"
		    "\"access_token\":\"a\"}",
		    "no valid expires_in in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":-5,"
		    "\"access_token\":\"a\"}",
		    "no valid expires_in in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":\"12x\","
		    "\"access_token\":\"a\"}",
		    "no valid expires_in in the answer (HTTP 200)" },
		{ "{\"token_type\":\"Bearer\",\"expires_in\":35.5,"
		    "\"access_token\":\"a\"}",
		    "no valid expires_in in the answer (HTTP 200)" },
	};
	struct oauth_token tok;
	char err[ERRLEN];
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		ck_assert_msg(!parse(200, cases[i].body, &tok, err),
		    "accepted %s", cases[i].body);
		ck_assert_ptr_null(tok.access_token);
		ck_assert_str_eq(err, cases[i].err);
	}
}
END_TEST

/* The form body URL-encodes every value and carries the secret. */
START_TEST(test_form_secret)
{
	char *body;

	body = oauth_form_body(&form_conf, "a b&c=d+\xc3\xa9~%", NULL);
	ck_assert_str_eq(body, "client_id=00000000-1111-2222-3333-444444444444"
	    "&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
	    "&grant_type=client_credentials"
	    "&client_secret=a%20b%26c%3Dd%2B%C3%A9~%25");
	free(body);
}
END_TEST

/* With an assertion, the body names its type and has no secret. */
START_TEST(test_form_assertion)
{
	char *body;

	body = oauth_form_body(&form_conf, NULL, "aGVh.Y2xh.c2ln_-");
	ck_assert_str_eq(body, "client_id=00000000-1111-2222-3333-444444444444"
	    "&scope=https%3A%2F%2Foutlook.office365.com%2F.default"
	    "&grant_type=client_credentials"
	    "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3A"
	    "client-assertion-type%3Ajwt-bearer"
	    "&client_assertion=aGVh.Y2xh.c2ln_-");
	free(body);
}
END_TEST

/* The JWT header names RS256 and the certificate's SHA-256 thumbprint. */
START_TEST(test_jwt_header)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	struct cred c;
	char *jwt, *thumb;
	const char *x5t;
	size_t len;
	json_t *hdr;

	cred_make(&c);
	jwt = oauth_jwt_assertion(c.key, c.cert, JWT_CLIENT, JWT_URL, JWT_NOW);
	ck_assert_ptr_nonnull(jwt);
	ck_assert_ptr_null(strpbrk(jwt, "+/= "));
	hdr = jwt_part(jwt, 0);
	ck_assert_str_eq(json_string_value(json_object_get(hdr, "alg")),
	    "RS256");
	ck_assert_str_eq(json_string_value(json_object_get(hdr, "typ")), "JWT");
	ck_assert_ptr_nonnull(x5t = json_string_value(json_object_get(hdr,
	    "x5t#S256")));
	X509_digest(c.cert, EVP_sha256(), md, &mdlen);
	thumb = b64url_decode(x5t, strlen(x5t), &len);
	ck_assert_uint_eq(len, mdlen);
	ck_assert_int_eq(memcmp(thumb, md, mdlen), 0);
	json_decref(hdr);
	free(thumb);
	free(jwt);
	cred_free(&c);
}
END_TEST

/* The claims: audience, issuer and subject, a fresh jti, five minutes. */
START_TEST(test_jwt_claims)
{
	struct cred c;
	char *jwt, *again;
	json_t *claims, *other;

	cred_make(&c);
	jwt = oauth_jwt_assertion(c.key, c.cert, JWT_CLIENT, JWT_URL, JWT_NOW);
	again = oauth_jwt_assertion(c.key, c.cert, JWT_CLIENT, JWT_URL,
	    JWT_NOW);
	claims = jwt_part(jwt, 1);
	other = jwt_part(again, 1);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "aud")),
	    JWT_URL);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "iss")),
	    JWT_CLIENT);
	ck_assert_str_eq(json_string_value(json_object_get(claims, "sub")),
	    JWT_CLIENT);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(claims,
	    "jti"))), 32);
	ck_assert_str_ne(json_string_value(json_object_get(claims, "jti")),
	    json_string_value(json_object_get(other, "jti")));
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "nbf")),
	    JWT_NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "iat")),
	    JWT_NOW);
	ck_assert_int_eq(json_integer_value(json_object_get(claims, "exp")),
	    JWT_NOW + 300);
	json_decref(claims);
	json_decref(other);
	free(jwt);
	free(again);
	cred_free(&c);
}
END_TEST

/* The certificate's public key verifies the RS256 signature over header
 * and claims, and not over anything else. */
START_TEST(test_jwt_signature)
{
	struct cred c;
	char *jwt, *sig, *last;
	size_t siglen;

	cred_make(&c);
	jwt = oauth_jwt_assertion(c.key, c.cert, JWT_CLIENT, JWT_URL, JWT_NOW);
	last = strrchr(jwt, '.');
	sig = b64url_decode(last + 1, strlen(last + 1), &siglen);
	ck_assert_uint_eq(siglen, 256);
	ck_assert(signature_valid(c.cert, jwt, (size_t)(last - jwt), sig,
	    siglen));
	jwt[0] = jwt[0] == 'e' ? 'f' : 'e';
	ck_assert(!signature_valid(c.cert, jwt, (size_t)(last - jwt), sig,
	    siglen));
	free(sig);
	free(jwt);
	cred_free(&c);
}
END_TEST

/* The whole answer: a token with its lifetime, or each field of an
 * error (escaped for logs, the description as it came). */
START_TEST(test_answer_detail)
{
	struct oauth_answer ans;
	const char *ok = "{\"token_type\":\"Bearer\",\"expires_in\":60,"
	    "\"access_token\":\"abc\"}";
	const char *bad = "{\"error\":\"invalid\\tclient\","
	    "\"error_description\":\"AADSTS7000222: The secret expired.\","
	    "\"trace_id\":\"t-1\"}";

	ck_assert(oauth_answer_parse(200, ok, strlen(ok), &ans));
	ck_assert_int_eq(ans.status, 200);
	ck_assert_str_eq(ans.token, "abc");
	ck_assert_int_eq(ans.expires_in, 60);
	ck_assert_str_eq(ans.problem, "");
	free(ans.token);
	ck_assert(!oauth_answer_parse(401, bad, strlen(bad), &ans));
	ck_assert_ptr_null(ans.token);
	ck_assert_str_eq(ans.code, "AADSTS7000222");
	ck_assert_str_eq(ans.error, "invalid\\tclient");
	ck_assert_str_eq(ans.trace_id, "t-1");
	ck_assert_str_eq(ans.description,
	    "AADSTS7000222: The secret expired.");
}
END_TEST

/* A failure without an answer is described by its problem alone; one
 * with an HTTP status names it. */
START_TEST(test_answer_describe)
{
	struct oauth_answer ans = { .status = 0 };
	char err[ERRLEN];

	snprintf(ans.problem, sizeof(ans.problem), "token endpoint h:443: "
	    "timed out");
	oauth_answer_describe(&ans, err, sizeof(err));
	ck_assert_str_eq(err, "token endpoint h:443: timed out");
	ans.status = 502;
	oauth_answer_describe(&ans, err, sizeof(err));
	ck_assert_str_eq(err, "token endpoint h:443: timed out (HTTP 502)");
	snprintf(ans.code, sizeof(ans.code), "AADSTS50034");
	oauth_answer_describe(&ans, err, 16);
	ck_assert_str_eq(err, "AADSTS50034 (HT");
}
END_TEST

/* Build the oauth_wire suite. */
Suite *
oauth_wire_suite(void)
{
	Suite *s = suite_create("oauth_wire");
	TCase *tc;

	tc = tcase_create("answer");
	tcase_add_test(tc, test_answer_ok);
	tcase_add_test(tc, test_answer_aadsts);
	tcase_add_test(tc, test_answer_not_json);
	tcase_add_test(tc, test_answer_fields);
	tcase_add_test(tc, test_answer_detail);
	tcase_add_test(tc, test_answer_describe);
	suite_add_tcase(s, tc);

	tc = tcase_create("request");
	tcase_add_test(tc, test_form_secret);
	tcase_add_test(tc, test_form_assertion);
	tcase_add_test(tc, test_jwt_header);
	tcase_add_test(tc, test_jwt_claims);
	tcase_add_test(tc, test_jwt_signature);
	suite_add_tcase(s, tc);
	return s;
}
