/* The token endpoint wire format, no I/O or clock: answer JSON, form, JWT. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "log.h"
#include "oauth_wire.h"
#include "util.h"

#define OAUTH_JWT_LIFETIME	300	/* seconds an assertion is valid */
#define OAUTH_JTI_BYTES		16
#define OAUTH_AADSTS		"AADSTS"
#define OAUTH_ASSERTION_TYPE \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define OAUTH_UNRESERVED	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz0123456789-._~"
/* The characters of a Bearer token (RFC 6750 b64token): nothing that
 * could break the XOAUTH2 string it goes into. */
#define OAUTH_B64TOKEN		OAUTH_UNRESERVED "+/="

/* One field of a form body. */
struct form_field {
	const char	*name;
	const char	*value;		/* NULL: left out */
};

static void	 oauth_answer_error_fields(json_t *root,
		    struct oauth_answer *ans);
static void	 oauth_answer_code(json_t *root, struct oauth_answer *ans);
static bool	 oauth_answer_token(json_t *root, struct oauth_answer *ans);
static bool	 oauth_answer_expiry(json_t *value, long *expires_in);
static void	 oauth_json_string(json_t *root, const char *key, char *dst,
		    size_t dstlen);
static size_t	 oauth_urlencoded_len(const char *value);
static char	*oauth_urlencode(char *dst, const char *value);
static char	*oauth_jwt_header(X509 *cert);
static char	*oauth_jwt_claims(const char *client_id,
		    const char *token_url, time_t now);
static char	*oauth_jwt_sign(EVP_PKEY *key, const char *input);
static char	*oauth_json_b64url(json_t *obj);
static char	*oauth_b64url(const unsigned char *data, size_t len);

/* Parse a token endpoint answer into tok, or a log-safe error into err. */
bool
oauth_parse_answer(int http_status, const char *body, size_t len,
    struct oauth_token *tok, char *err, size_t errlen)
{
	struct oauth_answer ans;

	if (oauth_answer_parse(http_status, body, len, &ans)) {
		tok->access_token = ans.token;
		tok->expires_in = ans.expires_in;
		return true;
	}
	tok->access_token = NULL;
	tok->expires_in = 0;
	oauth_answer_describe(&ans, err, errlen);
	return false;
}

/* Read an answer: a token on HTTP 200, else what the error says. */
bool
oauth_answer_parse(int status, const char *body, size_t len,
    struct oauth_answer *ans)
{
	json_t *root;
	bool ok;

	memset(ans, 0, sizeof(*ans));
	ans->status = status;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root)) {
		snprintf(ans->problem, sizeof(ans->problem), "%s",
		    status == 200 ? "malformed JSON answer" :
		    "unexpected answer");
		json_decref(root);
		return false;
	}
	oauth_answer_error_fields(root, ans);
	ok = status == 200 && ans->error[0] == '\0' && ans->code[0] == '\0' &&
	    oauth_answer_token(root, ans);
	if (!ok && ans->problem[0] == '\0')
		snprintf(ans->problem, sizeof(ans->problem), "%s",
		    "unexpected answer");
	json_decref(root);
	return ok;
}

/* Take the error, its AADSTS code and the trace id from an answer. */
static void
oauth_answer_error_fields(json_t *root, struct oauth_answer *ans)
{
	const char *desc = json_string_value(json_object_get(root,
	    "error_description"));

	snprintf(ans->description, sizeof(ans->description), "%s",
	    desc != NULL ? desc : "");
	oauth_json_string(root, "error", ans->error, sizeof(ans->error));
	oauth_json_string(root, "trace_id", ans->trace_id,
	    sizeof(ans->trace_id));
	oauth_answer_code(root, ans);
}

/* The AADSTS code from the start of error_description, else from the
 * first of error_codes. */
static void
oauth_answer_code(json_t *root, struct oauth_answer *ans)
{
	const char *desc = json_string_value(json_object_get(root,
	    "error_description"));
	json_t *first = json_array_get(json_object_get(root, "error_codes"),
	    0);
	size_t digits;

	if (desc != NULL && strncmp(desc, OAUTH_AADSTS,
	    strlen(OAUTH_AADSTS)) == 0) {
		digits = strspn(desc + strlen(OAUTH_AADSTS), "0123456789");
		if (digits > 0 && digits + strlen(OAUTH_AADSTS) <
		    sizeof(ans->code)) {
			memcpy(ans->code, desc, strlen(OAUTH_AADSTS) + digits);
			return;
		}
	}
	if (json_is_integer(first))
		snprintf(ans->code, sizeof(ans->code), OAUTH_AADSTS "%lld",
		    (long long)json_integer_value(first));
}

/* A Bearer access_token with its expires_in; false with the problem. */
static bool
oauth_answer_token(json_t *root, struct oauth_answer *ans)
{
	const char *type = json_string_value(json_object_get(root,
	    "token_type"));
	json_t *token = json_object_get(root, "access_token");
	const char *problem = NULL;

	if (type == NULL)
		problem = "no token_type in the answer";
	else if (strcasecmp(type, "Bearer") != 0)
		problem = "token_type is not Bearer";
	else if (!json_is_string(token) || json_string_length(token) == 0)
		problem = "no access_token in the answer";
	else if (strspn(json_string_value(token), OAUTH_B64TOKEN) !=
	    json_string_length(token))
		problem = "access_token is not a Bearer token (RFC 6750)";
	else if (!oauth_answer_expiry(json_object_get(root, "expires_in"),
	    &ans->expires_in))
		problem = "no valid expires_in in the answer";
	if (problem != NULL) {
		snprintf(ans->problem, sizeof(ans->problem), "%s", problem);
		return false;
	}
	ans->token = xstrdup(json_string_value(token));
	return true;
}

/* Read expires_in, an integer or a numeric string, greater than 0. */
static bool
oauth_answer_expiry(json_t *value, long *expires_in)
{
	const char *text = json_string_value(value);
	char *end;
	long long n;

	if (json_is_integer(value))
		n = json_integer_value(value);
	else if (text != NULL && text[0] >= '0' && text[0] <= '9') {
		errno = 0;
		n = strtoll(text, &end, 10);
		if (*end != '\0' || errno != 0)
			return false;
	} else
		return false;
	if (n <= 0 || n > INT32_MAX)
		return false;
	*expires_in = (long)n;
	return true;
}

/* The log-safe text of a failed answer: AADSTS code, error and trace id
 * when it has them, else what was wrong, and the HTTP status. */
void
oauth_answer_describe(const struct oauth_answer *ans, char *err,
    size_t errlen)
{
	char status[24] = "";

	if (ans->status != 0)
		snprintf(status, sizeof(status), " (HTTP %d)", ans->status);
	if (ans->code[0] == '\0' && ans->error[0] == '\0')
		snprintf(err, errlen, "%s%s", ans->problem, status);
	else
		snprintf(err, errlen, "%s%s%s%s%s%s", ans->code,
		    ans->code[0] != '\0' && ans->error[0] != '\0' ? " " : "",
		    ans->error, ans->trace_id[0] != '\0' ? " trace_id=" : "",
		    ans->trace_id, status);
}

/* Copy a string member, escaped for logs, into dst (empty if absent). */
static void
oauth_json_string(json_t *root, const char *key, char *dst, size_t dstlen)
{
	json_t *value = json_object_get(root, key);

	dst[0] = '\0';
	if (json_is_string(value))
		log_escape(dst, dstlen, json_string_value(value),
		    json_string_length(value));
}

/* The URL-encoded form body of a token request. */
char *
oauth_form_body(const struct oauth_conf *oc, const char *secret,
    const char *assertion)
{
	const struct form_field fields[] = {
		{ "client_id", oc->client_id },
		{ "scope", oc->scope },
		{ "grant_type", "client_credentials" },
		{ "client_secret", secret },
		{ "client_assertion_type",
		    assertion != NULL ? OAUTH_ASSERTION_TYPE : NULL },
		{ "client_assertion", assertion },
	};
	size_t i, len = 0;
	char *body, *p;

	for (i = 0; i < nitems(fields); i++)
		if (fields[i].value != NULL)
			len += strlen(fields[i].name) + 2 +
			    oauth_urlencoded_len(fields[i].value);
	body = p = xcalloc(1, len + 1);
	for (i = 0; i < nitems(fields); i++) {
		if (fields[i].value == NULL)
			continue;
		if (p != body)
			*p++ = '&';
		p = oauth_urlencode(p, fields[i].name);
		*p++ = '=';
		p = oauth_urlencode(p, fields[i].value);
	}
	*p = '\0';
	return body;
}

/* The length of value once URL-encoded. */
static size_t
oauth_urlencoded_len(const char *value)
{
	size_t len = 0;

	for (; *value != '\0'; value++)
		len += strchr(OAUTH_UNRESERVED, *value) != NULL ? 1 : 3;
	return len;
}

/* URL-encode value at dst (every byte but the unreserved as %XX); the end
 * of what was written. */
static char *
oauth_urlencode(char *dst, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;

	for (; *value != '\0'; value++) {
		ch = (unsigned char)*value;
		if (strchr(OAUTH_UNRESERVED, ch) != NULL) {
			*dst++ = (char)ch;
			continue;
		}
		*dst++ = '%';
		*dst++ = hex[ch >> 4];
		*dst++ = hex[ch & 0x0f];
	}
	return dst;
}

/* A signed client assertion (RS256, x5t#S256) for the token URL. */
char *
oauth_jwt_assertion(EVP_PKEY *key, X509 *cert, const char *client_id,
    const char *token_url, time_t now)
{
	char *header = oauth_jwt_header(cert);
	char *claims = oauth_jwt_claims(client_id, token_url, now);
	char *input, *sig, *jwt = NULL;

	if (header != NULL && claims != NULL) {
		xasprintf(&input, "%s.%s", header, claims);
		if ((sig = oauth_jwt_sign(key, input)) != NULL)
			xasprintf(&jwt, "%s.%s", input, sig);
		free(sig);
		free(input);
	}
	free(header);
	free(claims);
	return jwt;
}

/* The encoded JWT header naming the certificate by its SHA-256
 * thumbprint. */
static char *
oauth_jwt_header(X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char *thumb, *out = NULL;
	json_t *obj;

	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1)
		return NULL;
	thumb = oauth_b64url(md, mdlen);
	obj = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT",
	    "x5t#S256", thumb);
	if (obj != NULL)
		out = oauth_json_b64url(obj);
	json_decref(obj);
	free(thumb);
	return out;
}

/* The encoded claims: audience, issuer and subject, a unique id, and a
 * short validity from now. */
static char *
oauth_jwt_claims(const char *client_id, const char *token_url, time_t now)
{
	unsigned char rnd[OAUTH_JTI_BYTES];
	char jti[2 * OAUTH_JTI_BYTES + 1], *out = NULL;
	json_t *obj;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	obj = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "aud", token_url, "iss", client_id, "sub", client_id, "jti", jti,
	    "nbf", (json_int_t)now, "exp", (json_int_t)now + OAUTH_JWT_LIFETIME,
	    "iat", (json_int_t)now);
	if (obj != NULL)
		out = oauth_json_b64url(obj);
	json_decref(obj);
	return out;
}

/* The base64url RS256 (SHA-256, PKCS#1 v1.5) signature of input. */
static char *
oauth_jwt_sign(EVP_PKEY *key, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *out = NULL;

	if (md != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input,
	    strlen(input)) == 1) {
		sig = xcalloc(1, siglen);
		if (EVP_DigestSign(md, sig, &siglen,
		    (const unsigned char *)input, strlen(input)) == 1)
			out = oauth_b64url(sig, siglen);
	}
	free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

/* A JSON object, compact and in order, encoded as base64url. */
static char *
oauth_json_b64url(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *out;

	if (text == NULL)
		return NULL;
	out = oauth_b64url((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

/* Base64url without padding, heap-allocated. */
static char *
oauth_b64url(const unsigned char *data, size_t len)
{
	char *out = xcalloc(1, (len + 2) / 3 * 4 + 1);
	char *p;

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	for (p = out; *p != '\0' && *p != '='; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	*p = '\0';
	return out;
}
