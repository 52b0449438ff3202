/* Configuration key tables, loading from files or texts, snapshot life. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libconfig.h>
#include <openssl/ssl.h>

#include "config_int.h"
#include "date.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define DEFAULT_LAN_CIPHERS	"DEFAULT:@SECLEVEL=0"
#define DEFAULT_STATE_DIR	"/var/lib/tlsrelay"	/* StateDirectory= */
#define TEXT_MAIN_NAME		"(main)"	/* in errors, for texts given */
#define TEXT_DEVICES_NAME	"(devices)"
#define INCLUDE_DIRECTIVE	"@include"

/* Choice values are stored through an int pointer. */
_Static_assert(sizeof(enum proto) == sizeof(int), "enum proto size");
_Static_assert(sizeof(enum lan_tls_mode) == sizeof(int), "lan_tls_mode size");
_Static_assert(sizeof(enum upstream_tls_mode) == sizeof(int),
    "upstream_tls_mode size");
_Static_assert(sizeof(enum auth_mode) == sizeof(int), "auth_mode size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "log_target size");

static bool	 domain_valid(const char *text);
static bool	 numeric_address_valid(const char *text);
static char	*dir_resolve(const char *path);
static custom_parser user_parse, listeners_parse, listener_address_parse,
		    devices_parse,
		    device_protocols_parse, device_sunset_parse,
		    device_secret_hash_parse,
		    device_senders_parse, connector_domains_parse,
		    oauth2_secret_expires_parse, device_retest_parse;
static struct config *load_run(struct load *ld, const char *path);
static bool	 file_read(struct load *ld, config_t *cf, const char *path,
		    const config_setting_t *from);
static bool	 text_read(struct load *ld, config_t *cf, const char *name,
		    const char *text);
static void	 read_error(struct load *ld, const config_t *cf,
		    const char *name);
static void	 devices_load(struct load *ld, const config_setting_t *from);
static struct config *config_new(const char *path);
static void	 device_free(struct device *dev);
static void	 oauth_conf_free(struct config *cfg);
static void	 listener_free(struct listener_conf *l);
static void	 upstream_free(struct upstream_conf *up);

static const struct choice protos[] = {
	{ "smtp", PROTO_SMTP },
	{ "pop3", PROTO_POP3 },
	{ "imap", PROTO_IMAP },
	{ NULL, 0 }
};

const struct choice auth_modes[] = {
	{ "passthrough", AUTH_PASSTHROUGH },
	{ "oauth2", AUTH_OAUTH2 },
	{ "relay", AUTH_RELAY },
	{ "connector", AUTH_CONNECTOR },
	{ NULL, 0 }
};

static const struct choice remediations[] = {
	{ "undecided", REMEDIATION_UNDECIDED },
	{ "reconfigure", REMEDIATION_RECONFIGURE },
	{ "replace", REMEDIATION_REPLACE },
	{ "retire", REMEDIATION_RETIRE },
	{ NULL, 0 }
};

static const struct string_kind address_kind = {
	"address", "sender", "a mail address (local@domain)", address_valid
};

static const struct string_kind domain_kind = {
	"domain", "domain", "a domain name such as \"example.org\"",
	domain_valid
};

static const struct choice bare_eol_policies[] = {
	{ "normalise", BARE_EOL_NORMALISE },
	{ "normalize", BARE_EOL_NORMALISE },
	{ "reject", BARE_EOL_REJECT },
	{ NULL, 0 }
};

static const struct choice route_names[] = {
	{ "smtp", ROUTE_SMTP },
	{ "pop3", ROUTE_POP3 },
	{ "imap", ROUTE_IMAP },
	{ "connector", ROUTE_CONNECTOR },
	{ NULL, 0 }
};

static const struct choice tls_versions[] = {
	{ "TLSv1", TLS1_VERSION },
	{ "TLSv1.1", TLS1_1_VERSION },
	{ "TLSv1.2", TLS1_2_VERSION },
	{ "TLSv1.3", TLS1_3_VERSION },
	{ NULL, 0 }
};

static const struct choice lan_tls_modes[] = {
	{ "plain", LAN_TLS_PLAIN },
	{ "implicit", LAN_TLS_IMPLICIT },
	{ NULL, 0 }
};

static const struct choice upstream_tls_modes[] = {
	{ "implicit", UPSTREAM_TLS_IMPLICIT },
	{ "starttls", UPSTREAM_TLS_STARTTLS },
	{ NULL, 0 }
};

static const struct choice log_targets[] = {
	{ "auto", LOG_TARGET_AUTO },
	{ "journald", LOG_TARGET_JOURNALD },
	{ "syslog", LOG_TARGET_SYSLOG },
	{ "stderr", LOG_TARGET_STDERR },
	{ NULL, 0 }
};

static const struct choice log_facilities[] = {
	{ "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 }
};

static const struct choice log_levels[] = {
	{ "err", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
	{ NULL, 0 }
};

#define AT(type, field)	.offset = offsetof(type, field)
#define UPSTREAM_AT(p)	.offset = (p) * sizeof(struct upstream_conf)

static const struct key log_keys[] = {
	{ "target", KIND_CHOICE, AT(struct log_conf, target),
	    .choices = log_targets },
	{ "facility", KIND_CHOICE, AT(struct log_conf, facility),
	    .choices = log_facilities },
	{ "level", KIND_CHOICE, AT(struct log_conf, level),
	    .choices = log_levels },
};

static const struct key limits_keys[] = {
	{ "max_sessions", KIND_UINT, AT(struct limits, max_sessions),
	    .min = 1, .max = INT_MAX },
	{ "max_sessions_per_device", KIND_UINT,
	    AT(struct limits, max_sessions_per_device),
	    .min = 1, .max = INT_MAX },
	{ "max_mailbox_sessions", KIND_UINT,
	    AT(struct limits, max_mailbox_sessions), .min = 1, .max = INT_MAX },
	{ "line_length", KIND_UINT, AT(struct limits, line_length),
	    .min = 512, .max = LINE_LENGTH_MAX },
	{ "prelogin_timeout", KIND_UINT, AT(struct limits, prelogin_timeout),
	    .min = 1, .max = INT_MAX },
	{ "idle_timeout", KIND_UINT, AT(struct limits, idle_timeout),
	    .min = 1, .max = INT_MAX },
	{ "imap_idle_timeout", KIND_UINT,
	    AT(struct limits, imap_idle_timeout), .min = 1, .max = INT_MAX },
	{ "upstream_timeout", KIND_UINT, AT(struct limits, upstream_timeout),
	    .min = 1, .max = INT_MAX },
	{ "data_timeout", KIND_UINT, AT(struct limits, data_timeout),
	    .min = 1, .max = INT_MAX },
	{ "drain_timeout", KIND_UINT, AT(struct limits, drain_timeout),
	    .min = 1, .max = INT_MAX },
};

static const struct key lan_tls_keys[] = {
	{ "certificate", KIND_PATH, AT(struct lan_tls_conf, certificate) },
	{ "key", KIND_PATH, AT(struct lan_tls_conf, key) },
	{ "ecdsa_certificate", KIND_PATH,
	    AT(struct lan_tls_conf, ecdsa_certificate) },
	{ "ecdsa_key", KIND_PATH, AT(struct lan_tls_conf, ecdsa_key) },
	{ "min_version", KIND_CHOICE, AT(struct lan_tls_conf, min_version),
	    .choices = tls_versions },
	{ "ciphers", KIND_STRING, AT(struct lan_tls_conf, ciphers) },
};

static const struct key listener_keys[] = {
	{ "name", KIND_IDENT, true, AT(struct listener_conf, name) },
	{ "protocol", KIND_CHOICE, true, AT(struct listener_conf, proto),
	    .choices = protos },
	{ "address", KIND_CUSTOM, true, .type = CONFIG_TYPE_STRING,
	    .parse = listener_address_parse },
	{ "port", KIND_PORT, true, AT(struct listener_conf, port) },
	{ "tls", KIND_CHOICE, AT(struct listener_conf, tls),
	    .choices = lan_tls_modes },
	{ "proxy_protocol", KIND_BOOL,
	    AT(struct listener_conf, proxy_protocol) },
};

static const struct key metrics_keys[] = {
	{ "address", KIND_STRING, AT(struct metrics_conf, address) },
	{ "port", KIND_PORT, AT(struct metrics_conf, port) },
};

static const struct key upstream_keys[] = {
	{ "host", KIND_HOST, true, AT(struct upstream_conf, host) },
	{ "port", KIND_PORT, true, AT(struct upstream_conf, port) },
	{ "tls", KIND_CHOICE, true, AT(struct upstream_conf, tls),
	    .choices = upstream_tls_modes },
	{ "min_version", KIND_CHOICE, AT(struct upstream_conf, min_version),
	    .choices = tls_versions },
	{ "ca_file", KIND_PATH, AT(struct upstream_conf, ca_file) },
	{ "ca_path", KIND_PATH, AT(struct upstream_conf, ca_path) },
};

static const struct key oauth2_keys[] = {
	{ "tenant", KIND_IDENT, true, AT(struct oauth_conf, tenant) },
	{ "client_id", KIND_IDENT, true, AT(struct oauth_conf, client_id) },
	{ "client_secret_file", KIND_PATH,
	    AT(struct oauth_conf, client_secret_file) },
	{ "secret_expires", KIND_CUSTOM, .type = CONFIG_TYPE_STRING,
	    .parse = oauth2_secret_expires_parse },
	{ "certificate", KIND_PATH, AT(struct oauth_conf, certificate) },
	{ "key", KIND_PATH, AT(struct oauth_conf, key) },
	{ "token_url", KIND_STRING, AT(struct oauth_conf, token_url) },
	{ "scope", KIND_STRING, AT(struct oauth_conf, scope) },
	{ "ca_file", KIND_PATH, AT(struct oauth_conf, ca_file) },
};

static const struct key connector_keys[] = {
	{ "host", KIND_HOST, true, AT(struct upstream_conf, host) },
	{ "port", KIND_PORT, AT(struct upstream_conf, port) },
	{ "min_version", KIND_CHOICE, AT(struct upstream_conf, min_version),
	    .choices = tls_versions },
	{ "ca_file", KIND_PATH, AT(struct upstream_conf, ca_file) },
	{ "ca_path", KIND_PATH, AT(struct upstream_conf, ca_path) },
	{ "certificate", KIND_PATH, true,
	    AT(struct upstream_conf, client_cert) },
	{ "key", KIND_PATH, true, AT(struct upstream_conf, client_key) },
	{ "accepted_domains", KIND_CUSTOM, true, .type = CONFIG_TYPE_ARRAY,
	    .parse = connector_domains_parse },
};

static const struct section log_section = {
	log_keys, nitems(log_keys), NULL
};
static const struct section limits_section = {
	limits_keys, nitems(limits_keys), NULL
};
static const struct section lan_tls_section = {
	lan_tls_keys, nitems(lan_tls_keys), lan_tls_check
};
static const struct section listener_section = {
	listener_keys, nitems(listener_keys), listener_check
};
static const struct section upstream_section = {
	upstream_keys, nitems(upstream_keys), upstream_check
};
static const struct section connector_section = {
	connector_keys, nitems(connector_keys), upstream_check
};
static const struct section oauth2_section = {
	oauth2_keys, nitems(oauth2_keys), oauth2_check
};
static const struct section metrics_section = {
	metrics_keys, nitems(metrics_keys), metrics_check
};

static const struct key upstreams_keys[] = {
	{ "smtp", KIND_GROUP, UPSTREAM_AT(PROTO_SMTP),
	    .section = &upstream_section },
	{ "pop3", KIND_GROUP, UPSTREAM_AT(PROTO_POP3),
	    .section = &upstream_section },
	{ "imap", KIND_GROUP, UPSTREAM_AT(ROUTE_IMAP),
	    .section = &upstream_section },
	{ "connector", KIND_GROUP, UPSTREAM_AT(ROUTE_CONNECTOR),
	    .section = &connector_section },
};

static const struct section upstreams_section = {
	upstreams_keys, nitems(upstreams_keys), NULL
};

static const struct key main_keys[] = {
	{ "server_name", KIND_HOST, true, AT(struct config, server_name) },
	{ "devices_file", KIND_PATH, true, AT(struct config, devices_file) },
	{ "user", KIND_CUSTOM, .type = CONFIG_TYPE_STRING,
	    .parse = user_parse },
	{ "warn_days", KIND_UINT, AT(struct config, warn_days),
	    .min = 0, .max = 3650 },
	{ "max_sunset_days", KIND_UINT, AT(struct config, max_sunset_days),
	    .min = 0, .max = 36500 },
	{ "state_dir", KIND_PATH, AT(struct config, state_dir) },
	{ "evidence_days", KIND_UINT, AT(struct config, evidence_days),
	    .min = 1, .max = 36500 },
	{ "smtp_bare_line_endings", KIND_CHOICE,
	    AT(struct config, smtp_bare_eol), .choices = bare_eol_policies },
	{ "log", KIND_GROUP, AT(struct config, log),
	    .section = &log_section },
	{ "limits", KIND_GROUP, AT(struct config, limits),
	    .section = &limits_section },
	{ "lan_tls", KIND_GROUP, AT(struct config, lan_tls),
	    .section = &lan_tls_section },
	{ "listeners", KIND_CUSTOM, true, .type = CONFIG_TYPE_LIST,
	    .parse = listeners_parse },
	{ "upstreams", KIND_GROUP, AT(struct config, upstreams),
	    .section = &upstreams_section },
	{ "oauth2", KIND_GROUP, AT(struct config, oauth2),
	    .section = &oauth2_section },
	{ "trusted_proxies", KIND_CUSTOM, .type = CONFIG_TYPE_ARRAY,
	    .parse = trusted_proxies_parse },
	{ "metrics", KIND_GROUP, AT(struct config, metrics),
	    .section = &metrics_section },
	{ "notices", KIND_GROUP, AT(struct config, notices),
	    .section = &notices_section },
};

static const struct key device_keys[] = {
	{ "name", KIND_IDENT, true, AT(struct device, name) },
	{ "addresses", KIND_CUSTOM, true, .type = CONFIG_TYPE_ARRAY,
	    .parse = device_addresses_parse },
	{ "protocols", KIND_CUSTOM, true, .type = CONFIG_TYPE_ARRAY,
	    .parse = device_protocols_parse },
	{ "sunset", KIND_CUSTOM, true, .type = CONFIG_TYPE_STRING,
	    .parse = device_sunset_parse },
	{ "owner", KIND_STRING, AT(struct device, owner) },
	{ "notes", KIND_STRING, AT(struct device, notes) },
	{ "function", KIND_STRING, AT(struct device, function) },
	{ "remediation", KIND_CHOICE, AT(struct device, remediation),
	    .choices = remediations },
	{ "retest", KIND_CUSTOM, .type = CONFIG_TYPE_STRING,
	    .parse = device_retest_parse },
	{ "auth", KIND_CHOICE, AT(struct device, auth),
	    .choices = auth_modes },
	{ "plaintext_auth", KIND_BOOL, AT(struct device, plaintext_auth) },
	{ "ignore_auth", KIND_BOOL, AT(struct device, ignore_auth) },
	{ "mailbox", KIND_ADDRESS, AT(struct device, mailbox) },
	{ "secret_hash", KIND_CUSTOM, .type = CONFIG_TYPE_STRING,
	    .parse = device_secret_hash_parse },
	{ "senders", KIND_CUSTOM, .type = CONFIG_TYPE_ARRAY,
	    .parse = device_senders_parse },
};

static const struct section main_section = {
	main_keys, nitems(main_keys), NULL
};
static const struct section device_section = {
	device_keys, nitems(device_keys), device_check
};

static const struct key devices_file_keys[] = {
	{ "devices", KIND_CUSTOM, true, .type = CONFIG_TYPE_LIST,
	    .parse = devices_parse },
};

static const struct section devices_file_section = {
	devices_file_keys, nitems(devices_file_keys), NULL
};

/* Parse and validate the main file and the devices file it names. */
struct config *
config_load(const char *path, struct config_errors *errs)
{
	struct load ld = { .errs = errs, .today = date_today(time(NULL)) };

	if ((ld.dir = dir_resolve(path)) == NULL) {
		config_errors_add(errs, "%s: %s", path, strerror(errno));
		return NULL;
	}
	return load_run(&ld, path);
}

/* Parse and validate a main and a devices text given in memory: no file,
 * no user look-up, no clock. */
struct config *
config_load_string(const char *main_text, const char *devices_text,
    time_t now, struct config_errors *errs)
{
	const struct load_texts texts = { main_text, devices_text };
	struct load ld = { .errs = errs, .today = date_today(now),
	    .texts = &texts, .dir = xstrdup("") };

	return load_run(&ld, TEXT_MAIN_NAME);
}

/* Read the main text (the file at path, or the text given in memory),
 * the devices it names, and cross-check them; the config, or NULL. */
static struct config *
load_run(struct load *ld, const char *path)
{
	size_t before = ld->errs->n;
	config_t cf;
	bool ok;

	ld->cfg = config_new(path);
	config_init(&cf);
	ok = ld->texts != NULL ? text_read(ld, &cf, path, ld->texts->main) :
	    file_read(ld, &cf, path, NULL);
	if (ok) {
		section_parse(ld, config_root_setting(&cf), &main_section,
		    ld->cfg);
		devices_load(ld, config_lookup(&cf, "devices_file"));
		listeners_crosscheck(ld, config_lookup(&cf, "listeners"));
		notices_crosscheck(ld, config_lookup(&cf, "notices"));
	}
	config_destroy(&cf);
	free(ld->dir);
	free(ld->listener_ok);
	free(ld->device_ok);
	if (ld->errs->n > before) {
		config_unref(ld->cfg);
		return NULL;
	}
	return ld->cfg;
}

/* Take another reference to a config snapshot. */
struct config *
config_ref(struct config *cfg)
{
	cfg->refcount++;
	return cfg;
}

/* Drop a reference; the last one frees everything, TLS contexts included. */
void
config_unref(struct config *cfg)
{
	size_t i;

	if (cfg == NULL || --cfg->refcount > 0)
		return;
	for (i = 0; i < cfg->ndevices; i++)
		device_free(&cfg->devices[i]);
	for (i = 0; i < cfg->nlisteners; i++)
		listener_free(&cfg->listeners[i]);
	for (i = 0; i < ROUTE_COUNT; i++) {
		upstream_free(&cfg->upstreams[i]);
		SSL_CTX_free(cfg->upstream_ctx[i]);
	}
	SSL_CTX_free(cfg->lan_ctx);
	oauth_conf_free(cfg);
	notices_conf_free(&cfg->notices);
	free(cfg->devices);
	free(cfg->listeners);
	free(cfg->trusted_proxies);
	free(cfg->metrics.address);
	free(cfg->lan_tls.certificate);
	free(cfg->lan_tls.key);
	free(cfg->lan_tls.ecdsa_certificate);
	free(cfg->lan_tls.ecdsa_key);
	free(cfg->lan_tls.ciphers);
	free(cfg->server_name);
	free(cfg->user);
	free(cfg->state_dir);
	free(cfg->devices_file);
	free(cfg->file);
	free(cfg);
}

/* The configuration name of a protocol. */
const char *
proto_name(enum proto proto)
{
	const char *name = choice_name(protos, (int)proto);

	return name != NULL ? name : "unknown";
}

/* The configuration name of an upstream authentication mode. */
const char *
auth_mode_name(enum auth_mode mode)
{
	const char *name = choice_name(auth_modes, (int)mode);

	return name != NULL ? name : "unknown";
}

/* The configuration name of a device's remediation. */
const char *
remediation_name(enum remediation r)
{
	const char *name = choice_name(remediations, (int)r);

	return name != NULL ? name : "unknown";
}

/* The configuration name of an upstream route (its upstreams key). */
const char *
route_name(enum route route)
{
	const char *name = choice_name(route_names, (int)route);

	return name != NULL ? name : "unknown";
}

/* Connector devices send SMTP through the connector route; everything
 * else goes to its protocol's upstream. */
enum route
route_of(const struct device *dev, enum proto proto)
{
	if (proto == PROTO_SMTP && dev->auth == AUTH_CONNECTOR)
		return ROUTE_CONNECTOR;
	return (enum route)proto;
}

/* Is the address's domain (after the last '@') an accepted domain? */
bool
route_domain_accepted(const struct upstream_conf *up, const char *address)
{
	const char *at = strrchr(address, '@');
	size_t i;

	if (at == NULL)
		return false;
	for (i = 0; i < up->ndomains; i++)
		if (strcasecmp(at + 1, up->domains[i]) == 0)
			return true;
	return false;
}

/* The OpenSSL-style name of a TLS protocol version. */
const char *
tls_version_name(int version)
{
	const char *name = choice_name(tls_versions, version);

	return name != NULL ? name : "unknown";
}

/* Store the user to run as, which must exist and not be root (for texts
 * given in memory, stored as named). */
static void
user_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;
	const char *text = config_setting_get_string(s);
	const struct passwd *pw = NULL;

	if (ld->texts == NULL && (pw = getpwnam(text)) == NULL) {
		load_error(ld, s, "'user': no such user '%s'", text);
		return;
	}
	if (pw != NULL && pw->pw_uid == 0) {
		load_error(ld, s, "'user' must be an unprivileged user, not "
		    "'%s' (uid 0)", text);
		return;
	}
	string_store(&cfg->user, text);
}

/* Read the list of listeners. */
static void
listeners_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;

	if (config_setting_length(s) == 0) {
		load_error(ld, s, "at least one listener is required");
		return;
	}
	cfg->listeners = list_parse(ld, s, &listener_section,
	    sizeof(*cfg->listeners), &cfg->nlisteners, &ld->listener_ok);
}

/* Store a listener's address, which must be numeric IPv4 or IPv6. */
static void
listener_address_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct listener_conf *l = obj;

	string_checked_store(ld, s, numeric_address_valid,
	    "a numeric IPv4 or IPv6 address", &l->address);
}

/* Read the list of devices. */
static void
devices_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;

	cfg->devices = list_parse(ld, s, &device_section,
	    sizeof(*cfg->devices), &cfg->ndevices, &ld->device_ok);
}

/* Read the protocols a device may use into a bit set. */
static void
device_protocols_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;
	const struct choice *c;
	char path[PATH_TEXT_MAX], names[CHOICES_TEXT_MAX];
	const char *text;
	int i;

	if (!strings_check(ld, s, "protocol"))
		return;
	setting_path(s, path, sizeof(path));
	for (i = 0; i < config_setting_length(s); i++) {
		text = config_setting_get_string_elem(s, i);
		if ((c = choice_by_name(protos, text)) != NULL) {
			dev->protocols |= 1u << c->value;
			continue;
		}
		choices_format(protos, names, sizeof(names));
		load_error(ld, config_setting_get_elem(s, i), "'%s': unknown "
		    "protocol '%s': expected %s", path, text, names);
	}
}

/* Read a device's sunset date and hold it to max_sunset_days. */
static void
device_sunset_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;
	const char *text = config_setting_get_string(s);
	unsigned max = ld->cfg->max_sunset_days;
	char path[PATH_TEXT_MAX];

	setting_path(s, path, sizeof(path));
	if (!date_parse(text, &dev->sunset)) {
		load_error(ld, s, "'%s' must be a real date as YYYY-MM-DD, "
		    "not '%s'", path, text);
		return;
	}
	if (max > 0 && (long)dev->sunset - ld->today > (long)max)
		load_error(ld, s, "'%s' %s is %ld days away, more than "
		    "max_sunset_days (%u)", path, text,
		    (long)dev->sunset - ld->today, max);
}

/* Store a device secret's crypt(3) hash, which libcrypt must accept. */
static void
device_secret_hash_parse(struct load *ld, const config_setting_t *s,
    void *obj)
{
	struct device *dev = obj;
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (!secret_hash_valid(text)) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' is not a yescrypt ($y$) or SHA-512 "
		    "($6$) crypt hash under the cost ceiling: make one with "
		    "'tlsrelayd --hash-secret'", path);
		return;
	}
	string_store(&dev->secret_hash, text);
}

/* Read the envelope senders a device may use, one address per element. */
static void
device_senders_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;

	string_list_parse(ld, s, &address_kind, &dev->senders, &dev->nsenders);
}

/* Read the connector's accepted domains, one domain name per element. */
static void
connector_domains_parse(struct load *ld, const config_setting_t *s,
    void *obj)
{
	struct upstream_conf *up = obj;

	string_list_parse(ld, s, &domain_kind, &up->domains, &up->ndomains);
}

/* Read the date a device's paths are to be tested again (the register). */
static void
device_retest_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (!date_parse(text, &dev->retest)) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a real date as YYYY-MM-DD, "
		    "not '%s'", path, text);
	}
}

/* Read the client secret's expiry date, as Entra ID shows it. */
static void
oauth2_secret_expires_parse(struct load *ld, const config_setting_t *s,
    void *obj)
{
	struct oauth_conf *oc = obj;
	const char *text = config_setting_get_string(s);

	if (!date_parse(text, &oc->secret_expires)) {
		load_error(ld, s, "'oauth2.secret_expires' must be a real date "
		    "as YYYY-MM-DD, not '%s'", text);
		return;
	}
	oc->secret_expires_set = true;
}

/* Is text a mail address: local@domain, printable, no brackets or quotes? */
bool
address_valid(const char *text)
{
	const char *at = strchr(text, '@');

	return at != NULL && at != text && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL && host_valid(text) &&
	    strpbrk(text, "<>\"(),;:[]\\") == NULL;
}

/* Is text a numeric IPv4 or IPv6 address? */
static bool
numeric_address_valid(const char *text)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, text, buf) == 1 ||
	    inet_pton(AF_INET6, text, buf) == 1;
}

/* Is text a domain name with at least two labels? */
static bool
domain_valid(const char *text)
{
	return host_valid(text) && strchr(text, '.') != NULL &&
	    strchr(text, '@') == NULL;
}

/* The absolute directory holding path, or NULL with errno set. */
static char *
dir_resolve(const char *path)
{
	char *copy = xstrdup(path);
	char *dir;
	int saved;

	dir = realpath(dirname(copy), NULL);
	saved = errno;
	free(copy);
	errno = saved;
	return dir;
}

/* Read one libconfig file, reporting why when it cannot be read or parsed;
 * from is the setting that named the file, NULL for the main file. */
static bool
file_read(struct load *ld, config_t *cf, const char *path,
    const config_setting_t *from)
{
	FILE *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		if (from == NULL)
			config_errors_add(ld->errs, "%s: %s", path,
			    strerror(errno));
		else
			load_error(ld, from, "cannot read devices file %s: %s",
			    path, strerror(errno));
		return false;
	}
	fclose(fp);
	config_set_include_dir(cf, ld->dir);
	/* libconfig 1.5 leaks its string token (up to 64 bytes) when the
	 * file has a syntax error: each failed load or reload of a broken
	 * file loses that much. Only the config's author can cause it, so it is left
	 * alone (issue 15); tests/sanitizers/lsan.supp names it. */
	if (config_read_file(cf, path))
		return true;
	read_error(ld, cf, path);
	return false;
}

/* Parse a text given in memory, named name in errors and, through its root
 * setting's hook, in load_error; @include would read a file, so a text
 * holding it is refused. */
static bool
text_read(struct load *ld, config_t *cf, const char *name, const char *text)
{
	if (strstr(text, INCLUDE_DIRECTIVE) != NULL) {
		config_errors_add(ld->errs, "%s: %s cannot be used in a "
		    "configuration given as text", name, INCLUDE_DIRECTIVE);
		return false;
	}
	if (!config_read_string(cf, text)) {
		read_error(ld, cf, name);
		return false;
	}
	config_setting_set_hook(config_root_setting(cf), (void *)name);
	return true;
}

/* Report why libconfig could not parse the text named name. */
static void
read_error(struct load *ld, const config_t *cf, const char *name)
{
	if (config_error_line(cf) > 0)
		config_errors_add(ld->errs, "%s:%d: %s",
		    config_error_file(cf) != NULL ? config_error_file(cf) : name,
		    config_error_line(cf), config_error_text(cf));
	else
		config_errors_add(ld->errs, "%s: %s", name,
		    config_error_text(cf));
}

/* Read the devices file named by the main file (or the devices text),
 * then cross-check it. */
static void
devices_load(struct load *ld, const config_setting_t *from)
{
	config_t cf;
	bool ok;

	if (from == NULL || ld->cfg->devices_file == NULL)
		return;
	config_init(&cf);
	ok = ld->texts != NULL ? text_read(ld, &cf, TEXT_DEVICES_NAME,
	    ld->texts->devices) : file_read(ld, &cf, ld->cfg->devices_file, from);
	if (ok) {
		section_parse(ld, config_root_setting(&cf),
		    &devices_file_section, ld->cfg);
		devices_crosscheck(ld, config_lookup(&cf, "devices"));
	}
	config_destroy(&cf);
}

/* A config holding every default, with refcount 1. */
static struct config *
config_new(const char *path)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	size_t i;

	cfg->refcount = 1;
	cfg->file = xstrdup(path);
	cfg->warn_days = 30;
	cfg->state_dir = xstrdup(DEFAULT_STATE_DIR);
	cfg->evidence_days = 400;
	notices_conf_init(&cfg->notices);
	cfg->log.target = LOG_TARGET_AUTO;
	cfg->log.facility = LOG_MAIL;
	cfg->log.level = LOG_INFO;
	cfg->limits.max_sessions = 1000;
	cfg->limits.max_sessions_per_device = 20;
	cfg->limits.max_mailbox_sessions = 16;
	cfg->limits.line_length = 2048;
	cfg->limits.prelogin_timeout = 60;
	cfg->limits.idle_timeout = 300;
	cfg->limits.imap_idle_timeout = 1800;
	cfg->limits.upstream_timeout = 30;
	cfg->limits.data_timeout = 600;
	cfg->limits.drain_timeout = 30;
	cfg->lan_tls.min_version = TLS1_VERSION;
	cfg->lan_tls.ciphers = xstrdup(DEFAULT_LAN_CIPHERS);
	for (i = 0; i < ROUTE_COUNT; i++)
		cfg->upstreams[i].min_version = TLS1_2_VERSION;
	cfg->upstreams[ROUTE_CONNECTOR].port = 25;
	cfg->upstreams[ROUTE_CONNECTOR].tls = UPSTREAM_TLS_STARTTLS;
	return cfg;
}

/* Free what a device owns. */
static void
device_free(struct device *dev)
{
	size_t i;

	free(dev->name);
	free(dev->addrs);
	free(dev->owner);
	free(dev->notes);
	free(dev->function);
	free(dev->mailbox);
	free(dev->secret_hash);
	for (i = 0; i < dev->nsenders; i++)
		free(dev->senders[i]);
	free(dev->senders);
}

/* Free the oauth2 settings and what oauth_config_load built, wiping the
 * client secret. */
static void
oauth_conf_free(struct config *cfg)
{
	struct oauth_conf *oc = &cfg->oauth2;

	free(oc->tenant);
	free(oc->client_id);
	free(oc->client_secret_file);
	free(oc->certificate);
	free(oc->key);
	free(oc->token_url);
	free(oc->scope);
	free(oc->ca_file);
	SSL_CTX_free(cfg->oauth_ctx);
	if (cfg->oauth_secret != NULL)
		OPENSSL_cleanse(cfg->oauth_secret, strlen(cfg->oauth_secret));
	free(cfg->oauth_secret);
	EVP_PKEY_free(cfg->oauth_key);
	X509_free(cfg->oauth_cert);
}

/* Free what a listener owns. */
static void
listener_free(struct listener_conf *l)
{
	free(l->name);
	free(l->address);
}

/* Free what an upstream owns. */
static void
upstream_free(struct upstream_conf *up)
{
	size_t i;

	free(up->host);
	free(up->ca_file);
	free(up->ca_path);
	free(up->client_cert);
	free(up->client_key);
	for (i = 0; i < up->ndomains; i++)
		free(up->domains[i]);
	free(up->domains);
}
