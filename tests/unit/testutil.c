/* Fixtures shared by the unit suites: time zone, stderr capture, a key
 * with its self-signed certificate, a parser fed every prefix, and a
 * suite built from a table of tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "testutil.h"
#include "util.h"

static void	cred_add_ext(X509 *cert, int nid, const char *value);

static char	*saved_tz;

/* Run the test in UTC, remembering the TZ it started with. */
void
tz_setup(void)
{
	const char *tz = getenv("TZ");

	saved_tz = tz != NULL ? xstrdup(tz) : NULL;
	tz_set("UTC");
}

/* Restore the TZ the test started with. */
void
tz_teardown(void)
{
	if (saved_tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved_tz);
	saved_tz = NULL;
}

/* Switch the local time zone (localtime_r needs tzset to notice). */
void
tz_set(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Redirect stderr to a temporary file; returns the saved descriptor. */
int
stderr_capture_start(FILE **tmp)
{
	int saved;

	fflush(stderr);
	*tmp = tmpfile();
	ck_assert_ptr_nonnull(*tmp);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(*tmp), STDERR_FILENO), 0);
	return saved;
}

/* Restore stderr and return what was written to it (caller frees). */
char *
stderr_capture_end(FILE *tmp, int saved)
{
	char *text = xcalloc(1, 16384);
	size_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, 16383, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

/* A 2048-bit RSA key and a self-signed certificate for 127.0.0.1. */
void
cred_make(struct cred *c)
{
	X509_NAME *name;

	memset(c, 0, sizeof(*c));
	c->key = EVP_RSA_gen(2048);
	ck_assert_ptr_nonnull(c->key);
	c->cert = X509_new();
	X509_set_version(c->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c->cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(c->cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(c->cert), 3600);
	X509_set_pubkey(c->cert, c->key);
	name = X509_get_subject_name(c->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tlsrelay test", -1, -1, 0);
	X509_set_issuer_name(c->cert, name);
	cred_add_ext(c->cert, NID_basic_constraints, "critical,CA:TRUE");
	cred_add_ext(c->cert, NID_subject_alt_name, "IP:127.0.0.1");
	ck_assert_int_gt(X509_sign(c->cert, c->key, EVP_sha256()), 0);
}

/* Add one v3 extension to a self-signed certificate. */
static void
cred_add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	ck_assert_ptr_nonnull(ext);
	X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
}

/* Write the certificate and key as PEM files in a new directory. */
void
cred_write(struct cred *c)
{
	FILE *fp;

	snprintf(c->dir, sizeof(c->dir), "/tmp/tlsrelay-oauth.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(c->dir));
	xasprintf(&c->cert_path, "%s/app.pem", c->dir);
	xasprintf(&c->key_path, "%s/app.key", c->dir);
	ck_assert_ptr_nonnull(fp = fopen(c->cert_path, "w"));
	ck_assert_int_eq(PEM_write_X509(fp, c->cert), 1);
	fclose(fp);
	ck_assert_ptr_nonnull(fp = fopen(c->key_path, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(fp, c->key, NULL, NULL, 0,
	    NULL, NULL), 1);
	fclose(fp);
}

/* Free the key and certificate and remove their directory. */
void
cred_free(struct cred *c)
{
	char *cmd;

	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	if (c->dir[0] != '\0') {
		xasprintf(&cmd, "rm -rf '%s'", c->dir);
		ck_assert_int_eq(system(cmd), 0);
		free(cmd);
	}
	free(c->cert_path);
	free(c->key_path);
}

/* Feed parse every proper prefix of bytes and assert what each gives. */
void
prefixes_assert(const char *name, const void *bytes, size_t len,
    prefix_parse_fn parse, void *arg, enum prefix_rule rule, int status)
{
	size_t k;
	int st;

	for (k = 0; k < len; k++) {
		st = parse(bytes, k, arg);
		ck_assert_msg((st == status) == (rule == PREFIX_GIVES),
		    "%s: %zu bytes gave %d, %s %d", name, k, st,
		    rule == PREFIX_GIVES ? "not" : "which must never be",
		    status);
	}
}

/* A suite of one test case running tests, with an optional fixture. */
Suite *
suite_of_tests(const char *name, SFun setup, SFun teardown,
    const TTest *const *tests, size_t ntests)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);
	size_t i;

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	for (i = 0; i < ntests; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}
