/* Unit tests for credentials.c: expiry days, states, collection, printing. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "credentials.h"
#include "date.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define DAY_SECONDS	86400L
#define T_0630_2000Z	((time_t)1814385600)	/* 2027-06-30 20:00:00Z */


static X509	*cert_expiring_in(long seconds);
static struct credential credential_of_cert(X509 *cert);
static int32_t	day_of(const char *date);
static struct config *good_load(const char *name);
static char	*print_text(const struct config *cfg, time_t now);




/* A self-signed certificate (fresh EC key) valid from now until seconds
 * from now (negative: already past). */
static X509 *
cert_expiring_in(long seconds)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *cert = X509_new();

	ck_assert_ptr_nonnull(key);
	ck_assert_ptr_nonnull(cert);
	ck_assert_int_eq(X509_set_pubkey(cert, key), 1);
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
	ck_assert_ptr_nonnull(X509_gmtime_adj(X509_getm_notAfter(cert),
	    seconds));
	ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
	EVP_PKEY_free(key);
	return cert;
}

/* A credential read from a certificate, which is then freed. */
static struct credential
credential_of_cert(X509 *cert)
{
	struct credential c = { "test_certificate", "test.pem", 0 };

	ck_assert(credential_cert_expiry(cert, &c.expires));
	X509_free(cert);
	return c;
}

/* The civil day number of a date that must be valid. */
static int32_t
day_of(const char *date)
{
	int32_t day;

	ck_assert_msg(date_parse(date, &day), "date_parse(\"%s\")", date);
	return day;
}

/* Load a file of the good config corpus, which must have no error. */
static struct config *
good_load(const char *name)
{
	struct config_errors errs = { NULL, 0 };
	const char *dir = getenv("TLSRELAY_SRCDIR");
	struct config *cfg;
	char *path;

	ck_assert_msg(dir != NULL, "TLSRELAY_SRCDIR is not set");
	xasprintf(&path, "%s/tests/conf/good/%s", dir, name);
	cfg = config_load(path, &errs);
	ck_assert_msg(cfg != NULL && errs.n == 0, "%s: %s", path,
	    errs.n > 0 ? errs.msgs[0] : "");
	config_errors_clear(&errs);
	free(path);
	return cfg;
}

/* What the check mode prints for the credentials of cfg (caller frees). */
static char *
print_text(const struct config *cfg, time_t now)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(fp);
	credentials_print(cfg, fp, now);
	fclose(fp);
	return text;
}

/* notAfter counts on the local date of its instant. */
START_TEST(test_cert_expiry_local_date)
{
	X509 *cert = cert_expiring_in(0);
	int32_t day;

	ck_assert_int_eq(ASN1_TIME_set_string(X509_getm_notAfter(cert),
	    "20270630200000Z"), 1);
	ck_assert(credential_cert_expiry(cert, &day));
	ck_assert_int_eq(day, day_of("2027-06-30"));
	tz_set("AEST-10");
	ck_assert(credential_cert_expiry(cert, &day));
	ck_assert_int_eq(day, day_of("2027-07-01"));
	X509_free(cert);
}
END_TEST

/* A certificate 10 days from expiry has 10 days left: expiring under
 * warn_days 30, valid under warn_days 9. */
START_TEST(test_cert_days_left_within_warn_days)
{
	time_t now = time(NULL);
	struct credential c = credential_of_cert(cert_expiring_in(
	    10 * DAY_SECONDS));

	ck_assert_int_eq(credential_days_left(&c, now), 10);
	ck_assert_int_eq(credential_classify(&c, 30, now),
	    CREDENTIAL_EXPIRING);
	ck_assert_int_eq(credential_classify(&c, 10, now),
	    CREDENTIAL_EXPIRING);
	ck_assert_int_eq(credential_classify(&c, 9, now), CREDENTIAL_VALID);
}
END_TEST

/* A certificate that expired 3 days ago has -3 days left and is expired
 * whatever warn_days is. */
START_TEST(test_cert_expired)
{
	time_t now = time(NULL);
	struct credential c = credential_of_cert(cert_expiring_in(
	    -3 * DAY_SECONDS));

	ck_assert_int_eq(credential_days_left(&c, now), -3);
	ck_assert_int_eq(credential_classify(&c, 0, now), CREDENTIAL_EXPIRED);
	ck_assert_int_eq(credential_classify(&c, 3650, now),
	    CREDENTIAL_EXPIRED);
}
END_TEST

/* The expiry day itself has 0 days left: expiring, not yet expired. */
START_TEST(test_expiry_day_itself)
{
	struct credential c = { "oauth2_secret", "secret", 0 };

	c.expires = day_of("2027-06-30");
	ck_assert_int_eq(credential_days_left(&c, T_0630_2000Z), 0);
	ck_assert_int_eq(credential_classify(&c, 0, T_0630_2000Z),
	    CREDENTIAL_EXPIRING);
	ck_assert_int_eq(credential_classify(&c, 0,
	    T_0630_2000Z + DAY_SECONDS), CREDENTIAL_EXPIRED);
}
END_TEST

/* secret_expires is parsed into a civil day, and the secret is the one
 * credential of a config with a client secret. */
START_TEST(test_collect_secret)
{
	struct config *cfg = good_load("oauth2-secret-expires.conf");
	struct credentials creds;

	ck_assert(cfg->oauth2.secret_expires_set);
	ck_assert_int_eq(cfg->oauth2.secret_expires, day_of("2027-05-01"));
	credentials_collect(cfg, &creds);
	ck_assert_uint_eq(creds.n, 1);
	ck_assert_str_eq(creds.list[0].name, "oauth2_secret");
	ck_assert_str_eq(creds.list[0].file, cfg->oauth2.client_secret_file);
	ck_assert_int_eq(creds.list[0].expires, day_of("2027-05-01"));
	config_unref(cfg);
}
END_TEST

/* Without secret_expires a client secret has no known expiry. */
START_TEST(test_collect_secret_without_date)
{
	struct config *cfg = good_load("oauth2.conf");
	struct credentials creds;

	ck_assert(!cfg->oauth2.secret_expires_set);
	credentials_collect(cfg, &creds);
	ck_assert_uint_eq(creds.n, 0);
	config_unref(cfg);
}
END_TEST

/* The oauth2 certificate and the LAN context's leaf are collected, in
 * that order, with their files. */
START_TEST(test_collect_certificates)
{
	struct config *cfg = good_load("oauth2-cert.conf");
	X509 *lan = cert_expiring_in(40 * DAY_SECONDS);
	struct credentials creds;
	time_t now = time(NULL);

	cfg->oauth_cert = cert_expiring_in(5 * DAY_SECONDS);
	cfg->lan_ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(cfg->lan_ctx, lan), 1);
	X509_free(lan);
	cfg->lan_tls.certificate = xstrdup("/etc/tlsrelay/lan.pem");
	credentials_collect(cfg, &creds);
	ck_assert_uint_eq(creds.n, 2);
	ck_assert_str_eq(creds.list[0].name, "oauth2_certificate");
	ck_assert_str_eq(creds.list[0].file, cfg->oauth2.certificate);
	ck_assert_int_eq(credential_days_left(&creds.list[0], now), 5);
	ck_assert_str_eq(creds.list[1].name, "lan_certificate");
	ck_assert_str_eq(creds.list[1].file, "/etc/tlsrelay/lan.pem");
	ck_assert_int_eq(credential_days_left(&creds.list[1], now), 40);
	config_unref(cfg);
}
END_TEST

/* The check mode line: days left, then EXPIRED once the day has passed. */
START_TEST(test_print)
{
	struct config *cfg = good_load("oauth2-secret-expires.conf");
	time_t before = (time_t)(day_of("2027-05-01") - 160) * DAY_SECONDS;
	time_t after = (time_t)(day_of("2027-05-01") + 3) * DAY_SECONDS;
	char *text, *want;

	text = print_text(cfg, before);
	xasprintf(&want, "credential oauth2_secret (%s): expires 2027-05-01, "
	    "160 days left\n", cfg->oauth2.client_secret_file);
	ck_assert_str_eq(text, want);
	free(text);
	free(want);
	text = print_text(cfg, (time_t)(day_of("2027-05-01") - 30) *
	    DAY_SECONDS);
	xasprintf(&want, "credential oauth2_secret (%s): expires 2027-05-01, "
	    "30 days left (warning: within warn_days 30, renew it)\n",
	    cfg->oauth2.client_secret_file);
	ck_assert_str_eq(text, want);
	free(text);
	free(want);
	text = print_text(cfg, after);
	xasprintf(&want, "credential oauth2_secret (%s): expires 2027-05-01, "
	    "EXPIRED, 0 days left\n", cfg->oauth2.client_secret_file);
	ck_assert_str_eq(text, want);
	free(text);
	free(want);
	config_unref(cfg);
}
END_TEST

/* What credentials_report logs for cfg at now (caller frees). */
static char *
report_text(const struct config *cfg, time_t now, bool all)
{
	FILE *tmp;
	int saved;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_DEBUG);
	saved = stderr_capture_start(&tmp);
	credentials_report(cfg, now, all);
	return stderr_capture_end(tmp, saved);
}

/* Start and reload (all) log every credential, the daily report only
 * those within warn_days or past: at warning and error level. */
START_TEST(test_report)
{
	struct config *cfg = good_load("oauth2-secret-expires.conf");
	int32_t expires = day_of("2027-05-01");
	time_t far = (time_t)(expires - 160) * DAY_SECONDS;
	time_t near = (time_t)(expires - 5) * DAY_SECONDS;
	time_t past = (time_t)(expires + 2) * DAY_SECONDS;
	char *text;

	text = report_text(cfg, far, true);
	ck_assert_ptr_nonnull(strstr(text, "info: event=credential "
	    "credential=oauth2_secret "));
	ck_assert_ptr_nonnull(strstr(text, " expires=2027-05-01 "
	    "days_left=160"));
	free(text);
	text = report_text(cfg, far, false);
	ck_assert_str_eq(text, "");
	free(text);
	text = report_text(cfg, near, false);
	ck_assert_ptr_nonnull(strstr(text, "warning: event=credential_expiring "
	    "credential=oauth2_secret "));
	ck_assert_ptr_nonnull(strstr(text, " days_left=5"));
	free(text);
	text = report_text(cfg, past, false);
	ck_assert_ptr_nonnull(strstr(text, ": event=credential_expired "
	    "credential=oauth2_secret "));
	ck_assert_ptr_nonnull(strstr(text, " days_left=-2"));
	free(text);
	config_unref(cfg);
}
END_TEST

/* The credentials module's suite. */
Suite *
credentials_suite(void)
{
	Suite *s = suite_create("credentials");
	TCase *expiry = tcase_create("expiry");
	TCase *collect = tcase_create("collect");

	tcase_add_checked_fixture(expiry, tz_setup, tz_teardown);
	tcase_add_test(expiry, test_cert_expiry_local_date);
	tcase_add_test(expiry, test_cert_days_left_within_warn_days);
	tcase_add_test(expiry, test_cert_expired);
	tcase_add_test(expiry, test_expiry_day_itself);
	suite_add_tcase(s, expiry);
	tcase_add_checked_fixture(collect, tz_setup, tz_teardown);
	tcase_add_test(collect, test_collect_secret);
	tcase_add_test(collect, test_collect_secret_without_date);
	tcase_add_test(collect, test_collect_certificates);
	tcase_add_test(collect, test_print);
	tcase_add_test(collect, test_report);
	suite_add_tcase(s, collect);
	return s;
}
