/* Unit tests for config.c: the config corpus, defaults and parsed values. */
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>

#include <openssl/ssl.h>

#include "config.h"
#include "cidr.h"
#include "date.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define EXPECT_PREFIX	"# expect: "
#define EXPECT_MAX	8	/* "# expect:" lines per bad file */
#define EXPECT_LEN	512
#define GOOD_MIN	5	/* files the good corpus holds at least */
#define BAD_MIN		40	/* files the bad corpus holds at least */
#define TEXT_NOW	1893456000	/* 2030-01-01T00:00:00Z */
#define TEXT_DEVICE(name, sunset) \
	"{ name = \"" name "\"; addresses = [ \"192.0.2.10\" ]; " \
	"protocols = [ \"smtp\" ]; sunset = \"" sunset "\"; }"
#define TEXT_DEVICES	\
	"devices = ( " TEXT_DEVICE("copier", "2030-06-30") " );\n"

/* The "# expect:" lines at the top of a bad config file. */
struct expectations {
	char	text[EXPECT_MAX][EXPECT_LEN];
	size_t	n;
};

static const char *srcdir(void);
static char	*source_path(const char *relative);
static char	**corpus_list(const char *dir, size_t *n);
static void	corpus_free(char **names, size_t n);
static int	name_cmp(const void *a, const void *b);
static void	expectations_read(const char *path, struct expectations *exp);
static bool	errors_contain(const struct config_errors *errs,
		    const char *needle);
static void	report_add(char **report, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static void	errors_report(char **report, const struct config_errors *errs);
static void	bad_file_check(const char *dir, const char *name,
		    char **report);
static struct config *good_load(const char *name);
static char	*file_text(const char *path);
static struct config *string_load(const char *main_text,
		    const char *devices_text, time_t now,
		    struct config_errors *errs);
static char	*good_dir(void);
static void	string_corpus_net_check(const struct config *text,
		    const struct config *file);

/* The source root, from the environment the test harness sets. */
static const char *
srcdir(void)
{
	const char *dir = getenv("TLSRELAY_SRCDIR");

	ck_assert_msg(dir != NULL && dir[0] != '\0',
	    "TLSRELAY_SRCDIR is not set: run the tests with 'make check', or "
	    "set it to the source root");
	return dir;
}

/* A path under the source root (caller frees). */
static char *
source_path(const char *relative)
{
	char *path;

	xasprintf(&path, "%s/%s", srcdir(), relative);
	return path;
}

/* The sorted names of the *.conf files in dir (caller frees). */
static char **
corpus_list(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t len;

	ck_assert_msg(d != NULL, "cannot open %s", dir);
	*n = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".conf") != 0)
			continue;
		names = xreallocarray(names, *n + 1, sizeof(*names));
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, *n, sizeof(*names), name_cmp);
	return names;
}

/* Free what corpus_list returned. */
static void
corpus_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Order file names alphabetically. */
static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Read the "# expect: <substring>" lines that open a bad file. */
static void
expectations_read(const char *path, struct expectations *exp)
{
	FILE *fp = fopen(path, "r");
	char line[EXPECT_LEN + sizeof(EXPECT_PREFIX) - 1];

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	exp->n = 0;
	while (exp->n < EXPECT_MAX && fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, EXPECT_PREFIX, strlen(EXPECT_PREFIX)) == 0) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(exp->text[exp->n++], EXPECT_LEN, "%s",
		    line + strlen(EXPECT_PREFIX));
	}
	fclose(fp);
}

/* Does any error message contain needle? */
static bool
errors_contain(const struct config_errors *errs, const char *needle)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		if (strstr(errs->msgs[i], needle) != NULL)
			return true;
	return false;
}

/* Append a formatted line to a growing failure report. */
static void
report_add(char **report, const char *fmt, ...)
{
	va_list ap;
	char *line, *joined;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&line, fmt, ap), 0);
	va_end(ap);
	xasprintf(&joined, "%s%s\n", *report != NULL ? *report : "", line);
	free(line);
	free(*report);
	*report = joined;
}

/* Append every error message to the report, indented. */
static void
errors_report(char **report, const struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		report_add(report, "    got: %s", errs->msgs[i]);
}

/* Load one bad file and report what it failed to produce. */
static void
bad_file_check(const char *dir, const char *name, char **report)
{
	struct config_errors errs = { NULL, 0 };
	struct expectations exp;
	struct config *cfg;
	char *path;
	size_t i;

	xasprintf(&path, "%s/%s", dir, name);
	expectations_read(path, &exp);
	cfg = config_load(path, &errs);
	if (exp.n == 0)
		report_add(report, "%s: no '# expect:' line", name);
	if (cfg != NULL || errs.n == 0)
		report_add(report, "%s: loaded without errors", name);
	for (i = 0; i < exp.n; i++) {
		if (errors_contain(&errs, exp.text[i]))
			continue;
		report_add(report, "%s: no error contains \"%s\"", name,
		    exp.text[i]);
		errors_report(report, &errs);
	}
	config_unref(cfg);
	config_errors_clear(&errs);
	free(path);
}

/* Load a file of the good corpus, failing the test on any error. */
static struct config *
good_load(const char *name)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;
	char *path, *report = NULL;

	xasprintf(&path, "%s/tests/conf/good/%s", srcdir(), name);
	cfg = config_load(path, &errs);
	errors_report(&report, &errs);
	ck_assert_msg(cfg != NULL && errs.n == 0, "%s failed to load:\n%s",
	    path, report != NULL ? report : "");
	free(report);
	free(path);
	return cfg;
}

/* The whole text of a file (caller frees). */
static char *
file_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;

	ck_assert_msg(fp != NULL, "cannot open %s", path);
	ck_assert_int_ge(getdelim(&text, &len, '\0', fp), 0);
	fclose(fp);
	return text;
}

/* Load texts from memory, failing the test if that fails. */
static struct config *
string_load(const char *main_text, const char *devices_text, time_t now,
    struct config_errors *errs)
{
	struct config *cfg = config_load_string(main_text, devices_text, now,
	    errs);
	char *report = NULL;

	errors_report(&report, errs);
	ck_assert_msg(cfg != NULL && errs->n == 0, "texts failed to load:\n%s",
	    report != NULL ? report : "");
	return cfg;
}

/* A config loaded from texts has the same trusted proxies, PROXY
 * listeners and metrics listener as from its files. */
static void
string_corpus_net_check(const struct config *text, const struct config *file)
{
	size_t i;

	ck_assert_uint_eq(text->ntrusted_proxies, file->ntrusted_proxies);
	for (i = 0; i < file->ntrusted_proxies; i++)
		ck_assert(cidr_overlap(&text->trusted_proxies[i],
		    &file->trusted_proxies[i]) && text->trusted_proxies[i].prefix
		    == file->trusted_proxies[i].prefix);
	for (i = 0; i < file->nlisteners; i++)
		ck_assert_int_eq(text->listeners[i].proxy_protocol,
		    file->listeners[i].proxy_protocol);
	ck_assert_int_eq(text->metrics.configured, file->metrics.configured);
	ck_assert_uint_eq(text->metrics.port, file->metrics.port);
	if (file->metrics.configured)
		ck_assert_str_eq(text->metrics.address, file->metrics.address);
}

/* The absolute, resolved directory of the good corpus (caller frees). */
static char *
good_dir(void)
{
	char *path = source_path("tests/conf/good");
	char *dir = realpath(path, NULL);

	ck_assert_ptr_nonnull(dir);
	free(path);
	return dir;
}

/* Every file of the good corpus loads with no error at all. */
START_TEST(test_good_corpus)
{
	char *dir = source_path("tests/conf/good");
	char **names;
	size_t i, n;

	names = corpus_list(dir, &n);
	ck_assert_uint_ge(n, GOOD_MIN);
	for (i = 0; i < n; i++)
		config_unref(good_load(names[i]));
	corpus_free(names, n);
	free(dir);
}
END_TEST

/* Every file of the bad corpus fails with each error it announces. */
START_TEST(test_bad_corpus)
{
	char *dir = source_path("tests/conf/bad");
	char **names, *report = NULL;
	size_t i, n;

	names = corpus_list(dir, &n);
	ck_assert_uint_ge(n, BAD_MIN);
	for (i = 0; i < n; i++)
		bad_file_check(dir, names[i], &report);
	ck_assert_msg(report == NULL, "bad corpus:\n%s", report);
	corpus_free(names, n);
	free(dir);
}
END_TEST

/* The sample configuration shipped in conf/ loads. */
START_TEST(test_sample_config)
{
	struct config_errors errs = { NULL, 0 };
	char *path = source_path("conf/tlsrelayd.conf"), *report = NULL;
	struct config *cfg;

	cfg = config_load(path, &errs);
	errors_report(&report, &errs);
	ck_assert_msg(cfg != NULL, "%s:\n%s", path, report);
	ck_assert_str_eq(cfg->upstreams[PROTO_SMTP].host, "smtp.office365.com");
	ck_assert_uint_eq(cfg->upstreams[PROTO_SMTP].port, 587);
	ck_assert_int_eq(cfg->upstreams[PROTO_SMTP].tls, UPSTREAM_TLS_STARTTLS);
	ck_assert_str_eq(cfg->upstreams[PROTO_POP3].host,
	    "outlook.office365.com");
	ck_assert_uint_eq(cfg->upstreams[PROTO_POP3].port, 995);
	ck_assert_int_eq(cfg->upstreams[PROTO_POP3].tls, UPSTREAM_TLS_IMPLICIT);
	ck_assert_str_eq(cfg->upstreams[PROTO_IMAP].host,
	    "outlook.office365.com");
	ck_assert_uint_eq(cfg->upstreams[PROTO_IMAP].port, 993);
	ck_assert_int_eq(cfg->upstreams[PROTO_IMAP].tls, UPSTREAM_TLS_IMPLICIT);
	ck_assert_uint_gt(cfg->ndevices, 0);
	config_unref(cfg);
	free(path);
}
END_TEST

/* A file with only the required keys gets every default. */
START_TEST(test_defaults)
{
	struct config *cfg = good_load("minimal.conf");
	char *dir = good_dir(), *devices;
	const struct device *dev;
	size_t p;

	ck_assert_int_eq(cfg->refcount, 1);
	ck_assert_ptr_nonnull(strstr(cfg->file, "tests/conf/good/minimal.conf"));
	xasprintf(&devices, "%s/minimal.devices", dir);
	ck_assert_str_eq(cfg->devices_file, devices);
	ck_assert_str_eq(cfg->server_name, "relay.example.org");
	ck_assert_uint_eq(cfg->warn_days, 30);
	ck_assert_uint_eq(cfg->max_sunset_days, 0);
	ck_assert_str_eq(cfg->state_dir, "/var/lib/tlsrelay");
	ck_assert_uint_eq(cfg->evidence_days, 400);
	ck_assert_ptr_null(cfg->user);
	ck_assert_uint_eq(cfg->ntrusted_proxies, 0);
	ck_assert(!cfg->metrics.configured);
	ck_assert_int_eq(cfg->log.target, LOG_TARGET_AUTO);
	ck_assert_int_eq(cfg->log.facility, LOG_MAIL);
	ck_assert_int_eq(cfg->log.level, LOG_INFO);
	ck_assert_uint_eq(cfg->limits.max_sessions, 1000);
	ck_assert_uint_eq(cfg->limits.max_sessions_per_device, 20);
	ck_assert_uint_eq(cfg->limits.max_mailbox_sessions, 16);
	ck_assert_uint_eq(cfg->limits.line_length, 2048);
	ck_assert_uint_eq(cfg->limits.prelogin_timeout, 60);
	ck_assert_uint_eq(cfg->limits.idle_timeout, 300);
	ck_assert_uint_eq(cfg->limits.upstream_timeout, 30);
	ck_assert_uint_eq(cfg->limits.drain_timeout, 30);
	ck_assert_ptr_null(cfg->lan_tls.certificate);
	ck_assert_ptr_null(cfg->lan_tls.key);
	ck_assert_int_eq(cfg->lan_tls.min_version, TLS1_VERSION);
	ck_assert_str_eq(cfg->lan_tls.ciphers, "DEFAULT:@SECLEVEL=0");
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_int_eq(cfg->listeners[0].tls, LAN_TLS_PLAIN);
	ck_assert_int_eq(cfg->listeners[0].line, 5);
	ck_assert(cfg->upstreams[PROTO_SMTP].configured);
	ck_assert_int_eq(cfg->upstreams[PROTO_SMTP].min_version,
	    TLS1_2_VERSION);
	ck_assert_ptr_null(cfg->upstreams[PROTO_SMTP].ca_file);
	ck_assert_ptr_null(cfg->upstreams[PROTO_SMTP].ca_path);
	for (p = PROTO_POP3; p < PROTO_COUNT; p++)
		ck_assert(!cfg->upstreams[p].configured);
	ck_assert_uint_eq(cfg->ndevices, 1);
	dev = &cfg->devices[0];
	ck_assert_int_eq(dev->auth, AUTH_PASSTHROUGH);
	ck_assert(!dev->plaintext_auth);
	ck_assert_ptr_null(dev->owner);
	ck_assert_ptr_null(dev->notes);
	ck_assert_int_eq(dev->line, 3);
	ck_assert_ptr_null(cfg->lan_ctx);
	config_unref(cfg);
	free(devices);
	free(dir);
}
END_TEST

/* Every key of the main file is parsed into the right field. */
START_TEST(test_full_main)
{
	struct config *cfg = good_load("full.conf");
	char *dir = good_dir(), *want;

	ck_assert_uint_eq(cfg->warn_days, 45);
	ck_assert_uint_eq(cfg->max_sunset_days, 36500);
	ck_assert_str_eq(cfg->state_dir, "/srv/tlsrelay/state");
	ck_assert_uint_eq(cfg->evidence_days, 800);
	ck_assert_str_eq(cfg->user, "nobody");
	ck_assert_int_eq(cfg->log.target, LOG_TARGET_STDERR);
	ck_assert_int_eq(cfg->log.facility, LOG_LOCAL3);
	ck_assert_int_eq(cfg->log.level, LOG_DEBUG);
	ck_assert_uint_eq(cfg->limits.max_sessions, 500);
	ck_assert_uint_eq(cfg->limits.max_sessions_per_device, 5);
	ck_assert_uint_eq(cfg->limits.max_mailbox_sessions, 8);
	ck_assert_uint_eq(cfg->limits.line_length, 4096);
	ck_assert_uint_eq(cfg->limits.prelogin_timeout, 20);
	ck_assert_uint_eq(cfg->limits.idle_timeout, 600);
	ck_assert_uint_eq(cfg->limits.upstream_timeout, 15);
	ck_assert_uint_eq(cfg->limits.drain_timeout, 10);
	xasprintf(&want, "%s/certs/lan.pem", dir);
	ck_assert_str_eq(cfg->lan_tls.certificate, want);
	free(want);
	ck_assert_str_eq(cfg->lan_tls.key, "/etc/tlsrelay/lan.key");
	ck_assert_int_eq(cfg->lan_tls.min_version, TLS1_1_VERSION);
	ck_assert_str_eq(cfg->lan_tls.ciphers, "HIGH:@SECLEVEL=1");
	ck_assert(cfg->upstreams[PROTO_SMTP].configured);
	ck_assert_str_eq(cfg->upstreams[PROTO_SMTP].host, "smtp.office365.com");
	ck_assert_uint_eq(cfg->upstreams[PROTO_SMTP].port, 587);
	ck_assert_int_eq(cfg->upstreams[PROTO_SMTP].tls, UPSTREAM_TLS_STARTTLS);
	ck_assert_int_eq(cfg->upstreams[PROTO_SMTP].min_version,
	    TLS1_3_VERSION);
	xasprintf(&want, "%s/ca/bundle.pem", dir);
	ck_assert_str_eq(cfg->upstreams[PROTO_SMTP].ca_file, want);
	free(want);
	ck_assert_str_eq(cfg->upstreams[PROTO_SMTP].ca_path, "/etc/ssl/certs");
	ck_assert(cfg->upstreams[PROTO_POP3].configured);
	ck_assert_uint_eq(cfg->upstreams[PROTO_POP3].port, 995);
	ck_assert_int_eq(cfg->upstreams[PROTO_POP3].tls, UPSTREAM_TLS_IMPLICIT);
	ck_assert_int_eq(cfg->upstreams[PROTO_POP3].min_version,
	    TLS1_2_VERSION);
	ck_assert(cfg->upstreams[PROTO_IMAP].configured);
	ck_assert_str_eq(cfg->upstreams[PROTO_IMAP].host,
	    "outlook.office365.com");
	ck_assert_uint_eq(cfg->ntrusted_proxies, 3);
	ck_assert_uint_eq(cfg->trusted_proxies[1].prefix, 24);
	ck_assert_int_eq(cfg->trusted_proxies[2].family, AF_INET6);
	ck_assert(cfg->metrics.configured);
	ck_assert_str_eq(cfg->metrics.address, "::1");
	ck_assert_uint_eq(cfg->metrics.port, 9155);
	config_unref(cfg);
	free(dir);
}
END_TEST

/* Listeners are parsed in order with every field. */
START_TEST(test_full_listeners)
{
	struct config *cfg = good_load("full.conf");
	const struct listener_conf *l = cfg->listeners;

	ck_assert_uint_eq(cfg->nlisteners, 4);
	ck_assert_str_eq(l[0].name, "smtp");
	ck_assert_int_eq(l[0].proto, PROTO_SMTP);
	ck_assert_str_eq(l[0].address, "0.0.0.0");
	ck_assert_uint_eq(l[0].port, 25);
	ck_assert_int_eq(l[0].tls, LAN_TLS_PLAIN);
	ck_assert_int_eq(l[0].line, 32);
	ck_assert_str_eq(l[1].name, "smtps");
	ck_assert_str_eq(l[1].address, "::");
	ck_assert_uint_eq(l[1].port, 465);
	ck_assert_int_eq(l[1].tls, LAN_TLS_IMPLICIT);
	ck_assert_int_eq(l[2].proto, PROTO_POP3);
	ck_assert_int_eq(l[2].tls, LAN_TLS_PLAIN);
	ck_assert(l[2].proxy_protocol);
	ck_assert(!l[0].proxy_protocol);
	ck_assert_int_eq(l[3].proto, PROTO_IMAP);
	ck_assert_str_eq(l[3].address, "2001:db8::1");
	ck_assert_int_eq(l[3].line, 35);
	config_unref(cfg);
}
END_TEST

/* Devices are parsed with every field, addresses as networks. */
START_TEST(test_full_devices)
{
	struct config *cfg = good_load("full.conf");
	const struct device *d = cfg->devices;
	char text[64];
	int32_t day;

	ck_assert_uint_eq(cfg->ndevices, 2);
	ck_assert_str_eq(d[0].name, "copier-2f");
	ck_assert_uint_eq(d[0].naddrs, 2);
	cidr_format(&d[0].addrs[0], text, sizeof(text));
	ck_assert_str_eq(text, "192.0.2.10");
	cidr_format(&d[0].addrs[1], text, sizeof(text));
	ck_assert_str_eq(text, "2001:db8:1::/64");
	ck_assert_uint_eq(d[0].protocols,
	    (1u << PROTO_SMTP) | (1u << PROTO_IMAP));
	ck_assert(date_parse("2028-02-29", &day));
	ck_assert_int_eq(d[0].sunset, day);
	ck_assert_str_eq(d[0].owner, "facilities@example.org");
	ck_assert_str_eq(d[0].notes, "Ricoh MP C3004, replace Q2 2027");
	ck_assert_str_eq(d[0].function, "scan to mail for the front desk");
	ck_assert_int_eq(d[0].remediation, REMEDIATION_REPLACE);
	ck_assert(date_parse("2027-03-01", &day));
	ck_assert_int_eq(d[0].retest, day);
	ck_assert_int_eq(d[1].remediation, REMEDIATION_UNDECIDED);
	ck_assert_int_eq(d[1].retest, 0);
	ck_assert_int_eq(d[0].auth, AUTH_PASSTHROUGH);
	ck_assert(d[0].plaintext_auth);
	ck_assert_int_eq(d[0].line, 3);
	ck_assert_str_eq(d[1].name, "ups_room.B");
	ck_assert_uint_eq(d[1].naddrs, 3);
	ck_assert_int_eq(d[1].addrs[2].family, AF_INET);
	cidr_format(&d[1].addrs[2], text, sizeof(text));
	ck_assert_str_eq(text, "203.0.113.7");
	ck_assert_uint_eq(d[1].protocols, 1u << PROTO_POP3);
	ck_assert_ptr_null(d[1].owner);
	ck_assert(!d[1].plaintext_auth);
	config_unref(cfg);
}
END_TEST

/* The oauth2 section: tenant put into token_url, paths resolved. */
START_TEST(test_oauth2_main)
{
	struct config *cfg = good_load("oauth2.conf");
	const struct oauth_conf *oc = &cfg->oauth2;
	char *dir = good_dir(), *want;

	ck_assert(oc->configured);
	ck_assert_str_eq(oc->tenant, "contoso.onmicrosoft.com");
	ck_assert_str_eq(oc->client_id, "00000000-1111-2222-3333-444444444444");
	xasprintf(&want, "%s/client-secret", dir);
	ck_assert_str_eq(oc->client_secret_file, want);
	free(want);
	ck_assert_ptr_null(oc->certificate);
	ck_assert_ptr_null(oc->key);
	ck_assert_str_eq(oc->token_url, "https://login.example.org/"
	    "contoso.onmicrosoft.com/oauth2/contoso.onmicrosoft.com/token");
	ck_assert_str_eq(oc->scope,
	    "https://outlook.office365.com/.default offline_access");
	ck_assert_str_eq(oc->ca_file, "/etc/tlsrelay/login-ca.pem");
	ck_assert_ptr_null(cfg->oauth_ctx);
	ck_assert_ptr_null(cfg->oauth_secret);
	config_unref(cfg);
	cfg = good_load("oauth2-cert.conf");
	oc = &cfg->oauth2;
	ck_assert_ptr_null(oc->client_secret_file);
	xasprintf(&want, "%s/keys/app.key", dir);
	ck_assert_str_eq(oc->key, want);
	free(want);
	ck_assert_str_eq(oc->token_url, "https://login.microsoftonline.com/"
	    "contoso.onmicrosoft.com/oauth2/v2.0/token");
	ck_assert_str_eq(oc->scope, "https://outlook.office365.com/.default");
	ck_assert_ptr_null(oc->ca_file);
	config_unref(cfg);
	cfg = good_load("minimal.conf");
	ck_assert(!cfg->oauth2.configured);
	ck_assert_ptr_null(cfg->oauth2.token_url);
	config_unref(cfg);
	free(dir);
}
END_TEST

/* Devices of each auth mode keep their mailbox, hash and senders. */
START_TEST(test_oauth2_devices)
{
	struct config *cfg = good_load("oauth2.conf");
	const struct device *d = cfg->devices;

	ck_assert_uint_eq(cfg->ndevices, 4);
	ck_assert_int_eq(d[0].auth, AUTH_OAUTH2);
	ck_assert_str_eq(d[0].mailbox, "scanner@contoso.example");
	ck_assert_int_eq(strncmp(d[0].secret_hash, "$y$j9T$", 7), 0);
	ck_assert_uint_eq(d[0].nsenders, 2);
	ck_assert_str_eq(d[0].senders[0], "scanner@contoso.example");
	ck_assert_str_eq(d[0].senders[1], "noreply@contoso.example");
	ck_assert_int_eq(d[1].auth, AUTH_RELAY);
	ck_assert_str_eq(d[1].mailbox, "ups@contoso.example");
	ck_assert_ptr_null(d[1].secret_hash);
	ck_assert_uint_eq(d[1].nsenders, 0);
	ck_assert_ptr_null(d[1].senders);
	ck_assert_int_eq(d[2].auth, AUTH_OAUTH2);
	ck_assert_int_eq(strncmp(d[2].secret_hash, "$6$", 3), 0);
	ck_assert_int_eq(d[3].auth, AUTH_PASSTHROUGH);
	ck_assert_ptr_null(d[3].mailbox);
	ck_assert_ptr_null(d[3].secret_hash);
	config_unref(cfg);
}
END_TEST

/* The connector route: its group, its devices, the bare-LF policy. */
START_TEST(test_connector)
{
	struct config *cfg = good_load("connector.conf");
	const struct upstream_conf *up = &cfg->upstreams[ROUTE_CONNECTOR];

	ck_assert(up->configured);
	ck_assert_str_eq(up->host, "contoso-com.mail.protection.outlook.com");
	ck_assert_uint_eq(up->port, 25);
	ck_assert_int_eq(up->tls, UPSTREAM_TLS_STARTTLS);
	ck_assert_int_eq(up->min_version, TLS1_2_VERSION);
	ck_assert_ptr_nonnull(strstr(up->client_cert, "/connector.pem"));
	ck_assert_ptr_nonnull(strstr(up->client_key, "/connector.key"));
	ck_assert_uint_eq(up->ndomains, 2);
	ck_assert_str_eq(up->domains[1], "contoso.org");
	ck_assert_int_eq(cfg->smtp_bare_eol, BARE_EOL_REJECT);
	ck_assert_int_eq(cfg->devices[0].auth, AUTH_CONNECTOR);
	ck_assert(cfg->devices[0].ignore_auth);
	ck_assert_uint_eq(cfg->devices[0].nsenders, 2);
	ck_assert_int_eq(route_of(&cfg->devices[0], PROTO_SMTP),
	    ROUTE_CONNECTOR);
	ck_assert_int_eq(route_of(&cfg->devices[1], PROTO_SMTP), ROUTE_SMTP);
	ck_assert_int_eq(route_of(&cfg->devices[0], PROTO_IMAP), ROUTE_IMAP);
	ck_assert_str_eq(route_name(ROUTE_CONNECTOR), "connector");
	ck_assert(route_domain_accepted(up, "scans@CONTOSO.com"));
	ck_assert(!route_domain_accepted(up, "scans@sub.contoso.com"));
	ck_assert(!route_domain_accepted(up, "scans@contoso.com.evil"));
	ck_assert(!route_domain_accepted(up, "contoso.com"));
	config_unref(cfg);
	cfg = good_load("minimal.conf");
	ck_assert_int_eq(cfg->smtp_bare_eol, BARE_EOL_NORMALISE);
	ck_assert(!cfg->upstreams[ROUTE_CONNECTOR].configured);
	config_unref(cfg);
}
END_TEST

/* A file with two errors in two files reports exactly both. */
START_TEST(test_all_errors_reported)
{
	struct config_errors errs = { NULL, 0 };
	char *path = source_path("tests/conf/bad/two-errors.conf");

	ck_assert_ptr_null(config_load(path, &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], "two-errors.conf:6: "));
	ck_assert_ptr_nonnull(strstr(errs.msgs[1], "two-errors.devices:5: "));
	config_errors_clear(&errs);
	free(path);
}
END_TEST

/* A missing main file is named with the system's reason. */
START_TEST(test_missing_file)
{
	static const char *const paths[] = {
		"/nonexistent-tlsrelay/tlsrelayd.conf",
		"/tmp/nonexistent-tlsrelay.conf",
	};
	struct config_errors errs = { NULL, 0 };
	size_t i;

	for (i = 0; i < nitems(paths); i++) {
		ck_assert_ptr_null(config_load(paths[i], &errs));
		ck_assert_uint_eq(errs.n, 1);
		ck_assert_ptr_nonnull(strstr(errs.msgs[0], paths[i]));
		ck_assert_ptr_nonnull(strstr(errs.msgs[0],
		    "No such file or directory"));
		config_errors_clear(&errs);
	}
}
END_TEST

/* Errors accumulate and clearing frees them all. */
START_TEST(test_errors_clear)
{
	struct config_errors errs = { NULL, 0 };

	config_errors_add(&errs, "%s:%d: %s", "a.conf", 3, "first");
	config_errors_add(&errs, "second");
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msgs[0], "a.conf:3: first");
	ck_assert_str_eq(errs.msgs[1], "second");
	config_errors_clear(&errs);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_null(errs.msgs);
	config_errors_clear(&errs);
}
END_TEST

/* Names of protocols, auth modes and TLS versions. */
START_TEST(test_names)
{
	ck_assert_str_eq(proto_name(PROTO_SMTP), "smtp");
	ck_assert_str_eq(proto_name(PROTO_POP3), "pop3");
	ck_assert_str_eq(proto_name(PROTO_IMAP), "imap");
	ck_assert_str_eq(proto_name(PROTO_COUNT), "unknown");
	ck_assert_str_eq(auth_mode_name(AUTH_PASSTHROUGH), "passthrough");
	ck_assert_str_eq(auth_mode_name(AUTH_OAUTH2), "oauth2");
	ck_assert_str_eq(auth_mode_name(AUTH_RELAY), "relay");
	ck_assert_str_eq(tls_version_name(TLS1_VERSION), "TLSv1");
	ck_assert_str_eq(tls_version_name(TLS1_1_VERSION), "TLSv1.1");
	ck_assert_str_eq(tls_version_name(TLS1_2_VERSION), "TLSv1.2");
	ck_assert_str_eq(tls_version_name(TLS1_3_VERSION), "TLSv1.3");
	ck_assert_str_eq(tls_version_name(SSL3_VERSION), "unknown");
	ck_assert_str_eq(tls_version_name(0), "unknown");
}
END_TEST

/* References keep the snapshot alive; the last one frees TLS contexts. */
START_TEST(test_refcount)
{
	struct config *cfg = good_load("full.conf");

	ck_assert_ptr_eq(config_ref(cfg), cfg);
	ck_assert_int_eq(cfg->refcount, 2);
	cfg->lan_ctx = SSL_CTX_new(TLS_server_method());
	cfg->upstream_ctx[PROTO_IMAP] = SSL_CTX_new(TLS_client_method());
	ck_assert_ptr_nonnull(cfg->lan_ctx);
	config_unref(cfg);
	ck_assert_int_eq(cfg->refcount, 1);
	ck_assert_str_eq(cfg->server_name, "relay.example.org");
	config_unref(cfg);
	config_unref(NULL);
}
END_TEST

/* Texts given in memory load like files: named "(main)", relative paths
 * from /, and the user stored without looking it up. */
START_TEST(test_string_load)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;

	cfg = string_load(TEXT_MAIN "user = \"no-such-user-tlsrelay\";\n",
	    TEXT_DEVICES, TEXT_NOW, &errs);
	ck_assert_str_eq(cfg->file, "(main)");
	ck_assert_str_eq(cfg->devices_file, "/relay.devices");
	ck_assert_str_eq(cfg->server_name, "relay.example.org");
	ck_assert_str_eq(cfg->user, "no-such-user-tlsrelay");
	ck_assert_uint_eq(cfg->nlisteners, 1);
	ck_assert_uint_eq(cfg->ndevices, 1);
	ck_assert_str_eq(cfg->devices[0].name, "copier");
	ck_assert_int_eq(cfg->devices[0].line, 1);
	config_unref(cfg);
}
END_TEST

/* Errors in texts name "(main)" or "(devices)" and the line, the PROXY
 * and metrics keys' among them; a text with @include is refused, since
 * it would read a file. */
START_TEST(test_string_errors)
{
	static const struct {
		const char	*main;
		const char	*devices;
		const char	*error;
	} cases[] = {
		{ TEXT_MAIN "bogus = 1;\n", TEXT_DEVICES,
		    "(main):5: unknown key 'bogus' at top level" },
		{ "devices_file = \"d\";\n", TEXT_DEVICES,
		    "(main): missing required key 'server_name'" },
		{ TEXT_MAIN, "devices = ( " TEXT_DEVICE("a", "2030-06-30") ",\n"
		    TEXT_DEVICE("a", "2030-06-30") " );\n",
		    "(devices):2: duplicate device name 'a', first defined at "
		    "line 1" },
		{ TEXT_MAIN, "devices = (\n{ name = ; }\n);\n",
		    "(devices):2: syntax error" },
		{ TEXT_MAIN "@include \"/etc/passwd\"\n", TEXT_DEVICES,
		    "(main): @include cannot be used in a configuration given "
		    "as text" },
		{ TEXT_MAIN, "@include \"/etc/passwd\"\n",
		    "(devices): @include cannot be used in a configuration "
		    "given as text" },
		{ "server_name = \"r.example.org\";\ndevices_file = \"d\";\n"
		    "upstreams = { smtp = { host = \"smtp.office365.com\"; "
		    "port = 587; tls = \"starttls\"; }; };\n"
		    "listeners = ( { name = \"lb\"; protocol = \"smtp\"; "
		    "address = \"0.0.0.0\"; port = 25;\n"
		    "proxy_protocol = true; } );\n", TEXT_DEVICES,
		    "(main):5: listener 'lb' takes PROXY headers but "
		    "trusted_proxies lists no proxy" },
		{ TEXT_MAIN "trusted_proxies = [ \"10.0.9.1/24\" ];\n",
		    TEXT_DEVICES,
		    "(main):5: 'trusted_proxies': host bits set in "
		    "'10.0.9.1/24': write the network as 10.0.9.0/24" },
		{ TEXT_MAIN "metrics = { address = \"localhost\"; };\n",
		    TEXT_DEVICES, "(main):5: 'metrics.address' must be a "
		    "numeric IPv4 or IPv6 address, not 'localhost'" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { from = \"r@example.org\"; "
		    "route = \"smtp\"; mailbox = \"r@example.org\"; "
		    "days = [ 7, 30 ]; };\n", TEXT_DEVICES,
		    "(main):6: 'notices.days' must count down" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { from = \"r@example.org\"; "
		    "route = \"smtp\"; mailbox = \"r@example.org\"; "
		    "days = [ ]; };\n", TEXT_DEVICES,
		    "(main):6: 'notices.days' must list 1 to 8" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { from = \"relay\"; "
		    "route = \"smtp\"; mailbox = \"r@example.org\"; };\n",
		    TEXT_DEVICES, "'notices.from' must be a mail address" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { from = \"r@example.org\"; "
		    "admin = \"admins\"; route = \"smtp\"; "
		    "mailbox = \"r@example.org\"; };\n", TEXT_DEVICES,
		    "'notices.admin' must be a mail address" },
		{ TEXT_MAIN "notices = { from = \"r@example.org\"; "
		    "route = \"smtp\"; mailbox = \"r@example.org\"; };\n",
		    TEXT_DEVICES, "it needs 'upstreams.smtp' and 'oauth2'" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { from = \"r@example.org\"; "
		    "route = \"smtp\"; };\n", TEXT_DEVICES,
		    "set 'notices.mailbox'" },
		{ TEXT_MAIN "notices = { from = \"r@example.org\"; "
		    "route = \"connector\"; };\n", TEXT_DEVICES,
		    "'upstreams.connector' is not configured" },
		{ TEXT_MAIN TEXT_OAUTH2 "notices = { route = \"smtp\"; "
		    "mailbox = \"r@example.org\"; };\n", TEXT_DEVICES,
		    "missing required key 'from'" },
	};
	struct config_errors errs = { NULL, 0 };
	char *report = NULL;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		ck_assert_ptr_null(config_load_string(cases[i].main,
		    cases[i].devices, TEXT_NOW, &errs));
		errors_report(&report, &errs);
		ck_assert_msg(errors_contain(&errs, cases[i].error),
		    "case %zu: no \"%s\" in:\n%s", i, cases[i].error,
		    report != NULL ? report : "");
		free(report);
		report = NULL;
		config_errors_clear(&errs);
	}
}
END_TEST

/* max_sunset_days counts from the now the caller gives, not the clock. */
START_TEST(test_string_now)
{
	struct config_errors errs = { NULL, 0 };
	const char *main_text = TEXT_MAIN "max_sunset_days = 365;\n";

	config_unref(string_load(main_text, TEXT_DEVICES, TEXT_NOW, &errs));
	ck_assert_ptr_null(config_load_string(main_text, TEXT_DEVICES,
	    TEXT_NOW - 365 * 86400, &errs));
	ck_assert(errors_contain(&errs, "(devices):1: 'devices[0].sunset' "
	    "2030-06-30 is 545 days away, more than max_sunset_days (365)"));
	config_errors_clear(&errs);
}
END_TEST

/* Every file of the good corpus loads the same from its texts. */
START_TEST(test_string_corpus)
{
	struct config_errors errs = { NULL, 0 };
	char *dir = source_path("tests/conf/good"), *path, *main_text;
	char *devices_text, **names;
	struct config *file, *text;
	size_t i, j, n;

	names = corpus_list(dir, &n);
	for (i = 0; i < n; i++) {
		file = good_load(names[i]);
		xasprintf(&path, "%s/%s", dir, names[i]);
		main_text = file_text(path);
		devices_text = file_text(file->devices_file);
		text = string_load(main_text, devices_text, time(NULL), &errs);
		ck_assert_str_eq(text->server_name, file->server_name);
		ck_assert_uint_eq(text->nlisteners, file->nlisteners);
		ck_assert_uint_eq(text->ndevices, file->ndevices);
		for (j = 0; j < file->ndevices; j++)
			ck_assert_str_eq(text->devices[j].name,
			    file->devices[j].name);
		ck_assert_int_eq(text->oauth2.configured,
		    file->oauth2.configured);
		string_corpus_net_check(text, file);
		config_unref(text);
		config_unref(file);
		free(devices_text);
		free(main_text);
		free(path);
	}
	corpus_free(names, n);
	free(dir);
}
END_TEST

/* The config module's suite. */
Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, test_good_corpus);
	tcase_add_test(tc, test_bad_corpus);
	tcase_add_test(tc, test_sample_config);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_full_main);
	tcase_add_test(tc, test_full_listeners);
	tcase_add_test(tc, test_full_devices);
	tcase_add_test(tc, test_oauth2_main);
	tcase_add_test(tc, test_oauth2_devices);
	tcase_add_test(tc, test_connector);
	tcase_add_test(tc, test_all_errors_reported);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_errors_clear);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_refcount);
	tcase_add_test(tc, test_string_load);
	tcase_add_test(tc, test_string_errors);
	tcase_add_test(tc, test_string_now);
	tcase_add_test(tc, test_string_corpus);
	suite_add_tcase(s, tc);
	return s;
}
