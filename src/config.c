/* libconfig files -> a validated, immutable configuration snapshot. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libconfig.h>
#include <openssl/ssl.h>

#include "config.h"
#include "devices.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define DEFAULT_LAN_CIPHERS	"DEFAULT:@SECLEVEL=0"
#define DEFAULT_STATE_DIR	"/var/lib/tlsrelay"	/* StateDirectory= */
#define PATH_TEXT_MAX		256	/* "devices[12].addresses" and the like */
#define CHOICES_TEXT_MAX	256	/* "mail, daemon, local0, ..." */
#define DEFAULT_TOKEN_URL	\
	"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
#define DEFAULT_SCOPE		"https://outlook.office365.com/.default"
#define TENANT_PLACEHOLDER	"{tenant}"

/* Choice values are stored through an int pointer. */
_Static_assert(sizeof(enum proto) == sizeof(int), "enum proto size");
_Static_assert(sizeof(enum lan_tls_mode) == sizeof(int), "lan_tls_mode size");
_Static_assert(sizeof(enum upstream_tls_mode) == sizeof(int),
    "upstream_tls_mode size");
_Static_assert(sizeof(enum auth_mode) == sizeof(int), "auth_mode size");
_Static_assert(sizeof(enum log_target) == sizeof(int), "log_target size");

/* One name a string setting may take, and the value it stands for. */
struct choice {
	const char	*name;
	int		 value;
};

/* State while loading: the config being built and where errors go. */
struct load {
	struct config		*cfg;
	struct config_errors	*errs;
	char			*dir;		/* absolute dir of the main file */
	int32_t			 today;		/* for max_sunset_days */
	bool			*listener_ok;	/* per listener: parsed cleanly */
	bool			*device_ok;	/* per device: parsed cleanly */
};

struct key;

/* Reads one setting into the object of its section. */
typedef void	 key_parser(struct load *, const config_setting_t *,
		    const struct key *, void *);
/* Reads one setting whose key needs a function of its own. */
typedef void	 custom_parser(struct load *, const config_setting_t *, void *);
/* Checks a whole section once its keys are read. */
typedef void	 section_checker(struct load *, const config_setting_t *,
		    void *);

/* How a key's value is read and where it is stored. */
enum key_kind {
	KIND_STRING,	/* char *: any text */
	KIND_HOST,	/* char *: a host name, no spaces or controls */
	KIND_IDENT,	/* char *: [A-Za-z0-9._-]+ */
	KIND_PATH,	/* char *: resolved against the main file's directory */
	KIND_UINT,	/* unsigned: between min and max */
	KIND_PORT,	/* uint16_t: 1..65535 */
	KIND_BOOL,	/* bool */
	KIND_CHOICE,	/* int: one of the names in choices */
	KIND_GROUP,	/* a section of its own, read into the field */
	KIND_CUSTOM,	/* read by parse, which gets the whole object */
};

/* One allowed key of a section. */
struct key {
	const char		*name;
	enum key_kind		 kind;
	bool			 required;
	size_t			 offset;	/* of the field in the object */
	long long		 min, max;	/* KIND_UINT */
	const struct choice	*choices;	/* KIND_CHOICE */
	const struct section	*section;	/* KIND_GROUP */
	int			 type;		/* KIND_CUSTOM: libconfig type */
	custom_parser		*parse;		/* KIND_CUSTOM */
};

/* What a device's auth mode needs: each key either required or refused. */
struct auth_rule {
	bool	 mailbox;	/* mailbox required (else refused) */
	bool	 secret_hash;	/* secret_hash required (else refused) */
	bool	 senders;	/* senders allowed (else refused) */
	bool	 senders_required; /* senders must be given */
	bool	 ignore_auth;	/* ignore_auth allowed (else refused) */
	bool	 smtp_only;	/* protocols must be exactly smtp */
	bool	 oauth2;	/* the main file needs an oauth2 section */
};

/* What the elements of a string array must be, for its errors. */
struct string_kind {
	const char	*what;		/* "must list at least one <what>" */
	const char	*name;		/* "bad <name> 'x'" */
	const char	*expected;	/* "expected <expected>" */
	bool		 (*valid)(const char *);
};

/* The keys a group may hold, and a check to run once they are read. */
struct section {
	const struct key	*keys;
	size_t			 nkeys;
	section_checker		*check;		/* may be NULL */
};

/* The libconfig type a kind of key expects, and how it is read. */
struct kind {
	int			 type;
	key_parser		*parse;
};

static char	*vformat(const char *fmt, va_list ap)
		    __attribute__((format(printf, 1, 0)));
static void	 load_error(struct load *ld, const config_setting_t *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void	 setting_path(const config_setting_t *s, char *buf,
		    size_t len);
static const char *setting_file(const config_setting_t *s);
static const config_setting_t *member_or_self(const config_setting_t *group,
		    const char *name);
static const char *type_name(int type);
static bool	 type_matches(int expected, int actual);
static const struct choice *choice_by_name(const struct choice *choices,
		    const char *name);
static const char *choice_name(const struct choice *choices, int value);
static void	 choices_format(const struct choice *choices, char *buf,
		    size_t len);
static bool	 ident_valid(const char *text);
static bool	 host_valid(const char *text);
static bool	 address_valid(const char *text);
static char	*string_substitute(const char *text, const char *from,
		    const char *to);
static char	*path_resolve(const struct load *ld, const char *path);
static char	*dir_resolve(const char *path);
static void	 string_store(char **field, const char *value);
static void	*field_of(void *obj, const struct key *key);
static const struct key *key_find(const struct section *sec,
		    const char *name);
static void	 section_parse(struct load *ld, const config_setting_t *group,
		    const struct section *sec, void *obj);
static void	 member_parse(struct load *ld, const config_setting_t *s,
		    const struct section *sec, void *obj);
static void	 required_check(struct load *ld, const config_setting_t *group,
		    const struct section *sec);
static void	*list_parse(struct load *ld, const config_setting_t *list,
		    const struct section *sec, size_t size, size_t *n,
		    bool **ok);
static bool	 strings_check(struct load *ld, const config_setting_t *s,
		    const char *what);
static void	 string_list_parse(struct load *ld, const config_setting_t *s,
		    const struct string_kind *kind, char ***list, size_t *n);
static bool	 domain_valid(const char *text);
static key_parser value_string, value_host, value_ident, value_path,
		    value_uint, value_port, value_bool, value_choice,
		    value_group, value_custom;
static custom_parser user_parse, listeners_parse, listener_address_parse,
		    devices_parse, device_addresses_parse,
		    device_protocols_parse, device_sunset_parse,
		    device_mailbox_parse, device_secret_hash_parse,
		    device_senders_parse, connector_domains_parse;
static section_checker listener_check, upstream_check, lan_tls_check, oauth2_check, device_check;
static void	 oauth2_credentials_check(struct load *ld,
		    const config_setting_t *group);
static void	 oauth2_token_url_check(struct load *ld,
		    const config_setting_t *group, struct oauth_conf *oc);
static custom_parser oauth2_secret_expires_parse;
static custom_parser device_retest_parse;
static void	 oauth2_secret_expires_check(struct load *ld,
		    const config_setting_t *group);
static bool	 device_auth_known(const config_setting_t *group);
static void	 device_auth_check(struct load *ld,
		    const config_setting_t *group, const struct device *dev);
static void	 device_senders_check(struct load *ld,
		    const config_setting_t *group, const struct device *dev);
static void	 device_routes_check(struct load *ld,
		    const config_setting_t *group, const struct device *dev);
static bool	 listener_for(const struct config *cfg, enum proto proto);
static void	 device_key_check(struct load *ld,
		    const config_setting_t *group, const struct device *dev,
		    const char *key, bool required);
static bool	 cidr_network_hint(const char *text, char *dst, size_t len);
static bool	 file_read(struct load *ld, config_t *cf, const char *path,
		    const config_setting_t *from);
static void	 devices_load(struct load *ld, const config_setting_t *from);
static void	 devices_crosscheck(struct load *ld,
		    const config_setting_t *list);
static void	 device_pair_check(struct load *ld,
		    const config_setting_t *list, size_t first, size_t second);
static void	 listeners_crosscheck(struct load *ld,
		    const config_setting_t *list);
static void	 listener_single_check(struct load *ld,
		    const config_setting_t *elem, const struct listener_conf *l);
static void	 listener_pair_check(struct load *ld,
		    const config_setting_t *list, size_t first, size_t second);
static bool	 listener_same_socket(const struct listener_conf *a,
		    const struct listener_conf *b);
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

static const struct choice auth_modes[] = {
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

static const struct auth_rule auth_rules[] = {
	[AUTH_PASSTHROUGH] = { 0 },	/* none of those keys, any protocol */
	[AUTH_OAUTH2] = { .mailbox = true, .secret_hash = true,
	    .senders = true, .oauth2 = true },
	[AUTH_RELAY] = { .mailbox = true, .senders = true, .ignore_auth = true,
	    .smtp_only = true, .oauth2 = true },
	[AUTH_CONNECTOR] = { .senders = true, .senders_required = true,
	    .ignore_auth = true, .smtp_only = true },
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

static const struct kind kinds[] = {
	[KIND_STRING] = { CONFIG_TYPE_STRING, value_string },
	[KIND_HOST] = { CONFIG_TYPE_STRING, value_host },
	[KIND_IDENT] = { CONFIG_TYPE_STRING, value_ident },
	[KIND_PATH] = { CONFIG_TYPE_STRING, value_path },
	[KIND_UINT] = { CONFIG_TYPE_INT, value_uint },
	[KIND_PORT] = { CONFIG_TYPE_INT, value_port },
	[KIND_BOOL] = { CONFIG_TYPE_BOOL, value_bool },
	[KIND_CHOICE] = { CONFIG_TYPE_STRING, value_choice },
	[KIND_GROUP] = { CONFIG_TYPE_GROUP, value_group },
	[KIND_CUSTOM] = { CONFIG_TYPE_NONE, value_custom },
};

static const char *const type_names[] = {
	[CONFIG_TYPE_NONE] = "nothing",
	[CONFIG_TYPE_GROUP] = "a group",
	[CONFIG_TYPE_INT] = "an integer",
	[CONFIG_TYPE_INT64] = "an integer",
	[CONFIG_TYPE_FLOAT] = "a floating-point number",
	[CONFIG_TYPE_STRING] = "a string",
	[CONFIG_TYPE_BOOL] = "a boolean",
	[CONFIG_TYPE_ARRAY] = "an array",
	[CONFIG_TYPE_LIST] = "a list",
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
	    .min = 512, .max = 65536 },
	{ "prelogin_timeout", KIND_UINT, AT(struct limits, prelogin_timeout),
	    .min = 1, .max = INT_MAX },
	{ "idle_timeout", KIND_UINT, AT(struct limits, idle_timeout),
	    .min = 1, .max = INT_MAX },
	{ "imap_idle_timeout", KIND_UINT,
	    AT(struct limits, imap_idle_timeout), .min = 1, .max = INT_MAX },
	{ "upstream_timeout", KIND_UINT, AT(struct limits, upstream_timeout),
	    .min = 1, .max = INT_MAX },
	{ "drain_timeout", KIND_UINT, AT(struct limits, drain_timeout),
	    .min = 1, .max = INT_MAX },
};

static const struct key lan_tls_keys[] = {
	{ "certificate", KIND_PATH, AT(struct lan_tls_conf, certificate) },
	{ "key", KIND_PATH, AT(struct lan_tls_conf, key) },
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
	{ "mailbox", KIND_CUSTOM, .type = CONFIG_TYPE_STRING,
	    .parse = device_mailbox_parse },
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
	size_t before = errs->n;
	config_t cf;

	if ((ld.dir = dir_resolve(path)) == NULL) {
		config_errors_add(errs, "%s: %s", path, strerror(errno));
		return NULL;
	}
	ld.cfg = config_new(path);
	config_init(&cf);
	if (file_read(&ld, &cf, path, NULL)) {
		section_parse(&ld, config_root_setting(&cf), &main_section,
		    ld.cfg);
		devices_load(&ld, config_lookup(&cf, "devices_file"));
		listeners_crosscheck(&ld, config_lookup(&cf, "listeners"));
	}
	config_destroy(&cf);
	free(ld.dir);
	free(ld.listener_ok);
	free(ld.device_ok);
	if (errs->n > before) {
		config_unref(ld.cfg);
		return NULL;
	}
	return ld.cfg;
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
	free(cfg->devices);
	free(cfg->listeners);
	free(cfg->lan_tls.certificate);
	free(cfg->lan_tls.key);
	free(cfg->lan_tls.ciphers);
	free(cfg->server_name);
	free(cfg->user);
	free(cfg->state_dir);
	free(cfg->devices_file);
	free(cfg->file);
	free(cfg);
}

/* Append one formatted message to the list of errors. */
void
config_errors_add(struct config_errors *errs, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1,
	    sizeof(*errs->msgs));
	errs->msgs[errs->n++] = msg;
}

/* Free every message and leave the list empty. */
void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
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

/* Format into a newly allocated string, or die. */
static char *
vformat(const char *fmt, va_list ap)
{
	char *out;

	if (vasprintf(&out, fmt, ap) == -1)
		fatal("vasprintf");
	return out;
}

/* Record an error at the file and line of a setting. */
static void
load_error(struct load *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	unsigned line = config_setting_source_line(s);

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (line == 0)
		config_errors_add(ld->errs, "%s: %s", setting_file(s), msg);
	else
		config_errors_add(ld->errs, "%s:%u: %s", setting_file(s), line,
		    msg);
	free(msg);
}

/* Write the dotted path of a setting, such as "listeners[0].port". */
static void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t used;

	buf[0] = '\0';
	if (parent == NULL)
		return;
	setting_path(parent, buf, len);
	used = strlen(buf);
	if (config_setting_name(s) != NULL)
		snprintf(buf + used, len - used, "%s%s", used > 0 ? "." : "",
		    config_setting_name(s));
	else
		snprintf(buf + used, len - used, "[%d]",
		    config_setting_index(s));
}

/* The file a setting was read from. */
static const char *
setting_file(const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);

	return file != NULL ? file : "(unknown file)";
}

/* A member of a group, or the group itself when the member is absent. */
static const config_setting_t *
member_or_self(const config_setting_t *group, const char *name)
{
	const config_setting_t *member;

	member = config_setting_get_member(group, name);
	return member != NULL ? member : group;
}

/* "an integer", "a string", ... for error messages. */
static const char *
type_name(int type)
{
	if (type < 0 || (size_t)type >= nitems(type_names))
		return "an unknown type";
	return type_names[type];
}

/* Does a setting of type actual satisfy a key expecting type expected? */
static bool
type_matches(int expected, int actual)
{
	if (expected == actual)
		return true;
	if (expected == CONFIG_TYPE_INT)
		return actual == CONFIG_TYPE_INT64;
	if (expected == CONFIG_TYPE_ARRAY)
		return actual == CONFIG_TYPE_LIST;
	return false;
}

/* The choice with this name, or NULL. */
static const struct choice *
choice_by_name(const struct choice *choices, const char *name)
{
	for (; choices->name != NULL; choices++)
		if (strcmp(choices->name, name) == 0)
			return choices;
	return NULL;
}

/* The name of the choice with this value, or NULL. */
static const char *
choice_name(const struct choice *choices, int value)
{
	for (; choices->name != NULL; choices++)
		if (choices->value == value)
			return choices->name;
	return NULL;
}

/* Write "a, b, c": the names a choice setting may take. */
static void
choices_format(const struct choice *choices, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; choices->name != NULL && used < len; choices++)
		used += snprintf(buf + used, len - used, "%s%s",
		    used > 0 ? ", " : "", choices->name);
}

/* Is text a non-empty name made of [A-Za-z0-9._-]? */
static bool
ident_valid(const char *text)
{
	return text[0] != '\0' && text[strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

/* Is text a non-empty host name or address with no spaces or controls? */
static bool
host_valid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (!isgraph(*p))
			return false;
	return true;
}

/* Is text a mail address: local@domain, printable, no brackets or quotes? */
static bool
address_valid(const char *text)
{
	const char *at = strchr(text, '@');

	return at != NULL && at != text && at[1] != '\0' &&
	    strchr(at + 1, '@') == NULL && host_valid(text) &&
	    strpbrk(text, "<>\"(),;:[]\\") == NULL;
}

/* A copy of text with every occurrence of from replaced by to. */
static char *
string_substitute(const char *text, const char *from, const char *to)
{
	size_t flen = strlen(from), tlen = strlen(to), n = 0;
	const char *p;
	char *out, *o;

	for (p = text; (p = strstr(p, from)) != NULL; p += flen)
		n++;
	out = o = xcalloc(1, strlen(text) - n * flen + n * tlen + 1);
	while ((p = strstr(text, from)) != NULL) {
		memcpy(o, text, (size_t)(p - text));
		o += p - text;
		memcpy(o, to, tlen);
		o += tlen;
		text = p + flen;
	}
	strcpy(o, text);
	return out;
}

/* An absolute path for path, relative ones taken from the main file's dir. */
static char *
path_resolve(const struct load *ld, const char *path)
{
	char *out;

	if (path[0] == '/')
		return xstrdup(path);
	xasprintf(&out, "%s/%s", ld->dir, path);
	return out;
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

/* Replace a string field with a copy of value. */
static void
string_store(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* The address of a key's field inside the section's object. */
static void *
field_of(void *obj, const struct key *key)
{
	return (char *)obj + key->offset;
}

/* The key of a section with this name, or NULL. */
static const struct key *
key_find(const struct section *sec, const char *name)
{
	size_t i;

	for (i = 0; i < sec->nkeys; i++)
		if (strcmp(sec->keys[i].name, name) == 0)
			return &sec->keys[i];
	return NULL;
}

/* Read every member of a group into obj through the section's keys. */
static void
section_parse(struct load *ld, const config_setting_t *group,
    const struct section *sec, void *obj)
{
	int i;

	for (i = 0; i < config_setting_length(group); i++)
		member_parse(ld, config_setting_get_elem(group, i), sec, obj);
	required_check(ld, group, sec);
	if (sec->check != NULL)
		sec->check(ld, group, obj);
}

/* Read one member of a group: known key, right type, then its parser. */
static void
member_parse(struct load *ld, const config_setting_t *s,
    const struct section *sec, void *obj)
{
	const struct key *key = key_find(sec, config_setting_name(s));
	char path[PATH_TEXT_MAX];
	int type;

	if (key == NULL) {
		setting_path(config_setting_parent(s), path, sizeof(path));
		if (path[0] == '\0')
			load_error(ld, s, "unknown key '%s' at top level",
			    config_setting_name(s));
		else
			load_error(ld, s, "unknown key '%s' in section '%s'",
			    config_setting_name(s), path);
		return;
	}
	type = key->kind == KIND_CUSTOM ? key->type : kinds[key->kind].type;
	if (!type_matches(type, config_setting_type(s))) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be %s, not %s", path,
		    type_name(type), type_name(config_setting_type(s)));
		return;
	}
	kinds[key->kind].parse(ld, s, key, obj);
}

/* Report every required key of a section that the group lacks. */
static void
required_check(struct load *ld, const config_setting_t *group,
    const struct section *sec)
{
	char path[PATH_TEXT_MAX];
	size_t i;

	setting_path(group, path, sizeof(path));
	for (i = 0; i < sec->nkeys; i++) {
		if (!sec->keys[i].required ||
		    config_setting_get_member(group, sec->keys[i].name) != NULL)
			continue;
		if (path[0] == '\0')
			load_error(ld, group, "missing required key '%s'",
			    sec->keys[i].name);
		else
			load_error(ld, group,
			    "missing required key '%s' in section '%s'",
			    sec->keys[i].name, path);
	}
}

/* Read a list of groups into n new objects of size bytes; ok says which
 * ones were read without errors. */
static void *
list_parse(struct load *ld, const config_setting_t *list,
    const struct section *sec, size_t size, size_t *n, bool **ok)
{
	char path[PATH_TEXT_MAX];
	char *objs;
	size_t i, before;

	*n = (size_t)config_setting_length(list);
	objs = xcalloc(*n, size);
	*ok = xcalloc(*n, sizeof(**ok));
	for (i = 0; i < *n; i++) {
		const config_setting_t *elem = config_setting_get_elem(list, i);

		before = ld->errs->n;
		if (config_setting_is_group(elem))
			section_parse(ld, elem, sec, objs + i * size);
		else {
			setting_path(elem, path, sizeof(path));
			load_error(ld, elem, "'%s' must be a group { ... }, "
			    "not %s", path, type_name(config_setting_type(elem)));
		}
		(*ok)[i] = ld->errs->n == before;
	}
	return objs;
}

/* Check that an array holds at least one element and only strings. */
static bool
strings_check(struct load *ld, const config_setting_t *s, const char *what)
{
	char path[PATH_TEXT_MAX];
	int i;

	setting_path(s, path, sizeof(path));
	if (config_setting_length(s) == 0) {
		load_error(ld, s, "'%s' must list at least one %s", path, what);
		return false;
	}
	for (i = 0; i < config_setting_length(s); i++) {
		if (config_setting_type(config_setting_get_elem(s, i)) !=
		    CONFIG_TYPE_STRING) {
			load_error(ld, s, "'%s' must list strings, each %s "
			    "in double quotes", path, what);
			return false;
		}
	}
	return true;
}

/* Store any text. */
static void
value_string(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	(void)ld;
	string_store(field_of(obj, key), config_setting_get_string(s));
}

/* Store a host name, refusing spaces and control characters. */
static void
value_host(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (!host_valid(text)) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a host name, not '%s'", path,
		    text);
		return;
	}
	string_store(field_of(obj, key), text);
}

/* Store a name made of letters, digits, '.', '_' and '-'. */
static void
value_ident(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (!ident_valid(text)) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be made of letters, digits, '.', "
		    "'_' and '-', not '%s'", path, text);
		return;
	}
	string_store(field_of(obj, key), text);
}

/* Store a path, resolved against the main file's directory. */
static void
value_path(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	const char *text = config_setting_get_string(s);
	char **field = field_of(obj, key);
	char path[PATH_TEXT_MAX];

	if (text[0] == '\0') {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must not be empty", path);
		return;
	}
	free(*field);
	*field = path_resolve(ld, text);
}

/* Store an unsigned integer within the key's range. */
static void
value_uint(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	long long v = config_setting_get_int64(s);
	char path[PATH_TEXT_MAX];

	if (v < key->min || v > key->max) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be between %lld and %lld, not %lld",
		    path, key->min, key->max, v);
		return;
	}
	*(unsigned *)field_of(obj, key) = (unsigned)v;
}

/* Store a TCP port number. */
static void
value_port(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	long long v = config_setting_get_int64(s);
	char path[PATH_TEXT_MAX];

	if (v < 1 || v > 65535) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a port between 1 and 65535, "
		    "not %lld", path, v);
		return;
	}
	*(uint16_t *)field_of(obj, key) = (uint16_t)v;
}

/* Store a boolean. */
static void
value_bool(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	(void)ld;
	*(bool *)field_of(obj, key) = config_setting_get_bool(s);
}

/* Store the value of one of the key's named choices. */
static void
value_choice(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	const char *text = config_setting_get_string(s);
	const struct choice *c = choice_by_name(key->choices, text);
	char path[PATH_TEXT_MAX], names[CHOICES_TEXT_MAX];

	if (c == NULL) {
		setting_path(s, path, sizeof(path));
		choices_format(key->choices, names, sizeof(names));
		load_error(ld, s, "'%s' must be one of %s, not '%s'", path,
		    names, text);
		return;
	}
	*(int *)field_of(obj, key) = c->value;
}

/* Read a nested section into the key's field. */
static void
value_group(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	section_parse(ld, s, key->section, field_of(obj, key));
}

/* Hand the setting and the whole object to the key's own parser. */
static void
value_custom(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	key->parse(ld, s, obj);
}

/* Store the user to run as, which must exist and not be root. */
static void
user_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;
	const char *text = config_setting_get_string(s);
	const struct passwd *pw = getpwnam(text);

	if (pw == NULL) {
		load_error(ld, s, "'user': no such user '%s'", text);
		return;
	}
	if (pw->pw_uid == 0) {
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
	const char *text = config_setting_get_string(s);
	unsigned char buf[sizeof(struct in6_addr)];
	char path[PATH_TEXT_MAX];

	if (inet_pton(AF_INET, text, buf) != 1 &&
	    inet_pton(AF_INET6, text, buf) != 1) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a numeric IPv4 or IPv6 "
		    "address, not '%s'", path, text);
		return;
	}
	string_store(&l->address, text);
}

/* Read the list of devices. */
static void
devices_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct config *cfg = obj;

	cfg->devices = list_parse(ld, s, &device_section,
	    sizeof(*cfg->devices), &cfg->ndevices, &ld->device_ok);
}

/* Read a device's addresses and networks, one per array element. */
static void
device_addresses_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;
	char path[PATH_TEXT_MAX], hint[INET6_ADDRSTRLEN + 8];
	const char *text;
	size_t i;

	if (!strings_check(ld, s, "address"))
		return;
	setting_path(s, path, sizeof(path));
	dev->naddrs = (size_t)config_setting_length(s);
	dev->addrs = xcalloc(dev->naddrs, sizeof(*dev->addrs));
	for (i = 0; i < dev->naddrs; i++) {
		text = config_setting_get_string_elem(s, i);
		if (cidr_parse(text, &dev->addrs[i]))
			continue;
		if (cidr_network_hint(text, hint, sizeof(hint)))
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': host bits set in '%s': write the network "
			    "as %s", path, text, hint);
		else
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': bad address '%s': expected an IPv4 or IPv6 "
			    "address or network (CIDR)", path, text);
	}
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

/* Store the mailbox a device acts as upstream: an address local@domain. */
static void
device_mailbox_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct device *dev = obj;
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (!address_valid(text)) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a mail address (local@domain), "
		    "not '%s'", path, text);
		return;
	}
	string_store(&dev->mailbox, text);
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
		    "($6$) crypt hash: make one with 'tlsrelayd --hash-secret'",
		    path);
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

/* Remember where a listener was defined. */
static void
listener_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct listener_conf *l = obj;

	(void)ld;
	l->line = (int)config_setting_source_line(group);
}

/* Mark an upstream configured and hold it to TLS 1.2 or later. */
static void
upstream_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct upstream_conf *up = obj;

	up->configured = true;
	up->line = (int)config_setting_source_line(group);
	if (up->min_version < TLS1_2_VERSION)
		load_error(ld, member_or_self(group, "min_version"),
		    "upstream TLS must be 1.2 or later, not %s",
		    tls_version_name(up->min_version));
}

/* Read the connector's accepted domains, one domain name per element. */
static void
connector_domains_parse(struct load *ld, const config_setting_t *s,
    void *obj)
{
	struct upstream_conf *up = obj;

	string_list_parse(ld, s, &domain_kind, &up->domains, &up->ndomains);
}

/* Read an array of strings of one kind into a list, reporting each one
 * that is not valid. */
static void
string_list_parse(struct load *ld, const config_setting_t *s,
    const struct string_kind *kind, char ***list, size_t *n)
{
	char path[PATH_TEXT_MAX];
	const char *text;
	size_t i, len;

	if (!strings_check(ld, s, kind->what))
		return;
	setting_path(s, path, sizeof(path));
	len = (size_t)config_setting_length(s);
	*list = xcalloc(len, sizeof(**list));
	for (i = 0; i < len; i++) {
		text = config_setting_get_string_elem(s, i);
		if (kind->valid(text))
			(*list)[(*n)++] = xstrdup(text);
		else
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': bad %s '%s': expected %s", path, kind->name,
			    text, kind->expected);
	}
}

/* Is text a domain name with at least two labels? */
static bool
domain_valid(const char *text)
{
	return host_valid(text) && strchr(text, '.') != NULL &&
	    strchr(text, '@') == NULL;
}

/* A LAN certificate needs its key and a key needs its certificate. */
static void
lan_tls_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct lan_tls_conf *lt = obj;

	lt->line = (int)config_setting_source_line(group);
	if (lt->certificate != NULL && lt->key == NULL)
		load_error(ld, member_or_self(group, "certificate"),
		    "'lan_tls.certificate' is set without 'lan_tls.key'; "
		    "they go together");
	if (lt->key != NULL && lt->certificate == NULL)
		load_error(ld, member_or_self(group, "key"),
		    "'lan_tls.key' is set without 'lan_tls.certificate'; "
		    "they go together");
}

/* Mark oauth2 configured, check its credentials, settle token_url and
 * scope. */
static void
oauth2_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct oauth_conf *oc = obj;

	oc->configured = true;
	oc->line = (int)config_setting_source_line(group);
	oauth2_credentials_check(ld, group);
	oauth2_secret_expires_check(ld, group);
	oauth2_token_url_check(ld, group, oc);
	if (oc->scope == NULL)
		oc->scope = xstrdup(DEFAULT_SCOPE);
	else if (oc->scope[0] == '\0')
		load_error(ld, member_or_self(group, "scope"),
		    "'oauth2.scope' must not be empty");
}

/* The app authenticates with a client secret or a certificate and its key:
 * exactly one of the two. */
static void
oauth2_credentials_check(struct load *ld, const config_setting_t *group)
{
	const config_setting_t *secret, *cert, *key;

	secret = config_setting_get_member(group, "client_secret_file");
	cert = config_setting_get_member(group, "certificate");
	key = config_setting_get_member(group, "key");
	if ((cert == NULL) != (key == NULL))
		load_error(ld, cert != NULL ? cert : key, "'oauth2.%s' is set "
		    "without 'oauth2.%s'; they go together",
		    cert != NULL ? "certificate" : "key",
		    cert != NULL ? "key" : "certificate");
	else if (secret != NULL && cert != NULL)
		load_error(ld, secret, "oauth2 takes either "
		    "'client_secret_file' or 'certificate' and 'key', not both");
	else if (secret == NULL && cert == NULL)
		load_error(ld, group, "oauth2 needs 'client_secret_file' or "
		    "'certificate' and 'key'");
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

/* An expiry date belongs to a client secret; a certificate has its own. */
static void
oauth2_secret_expires_check(struct load *ld, const config_setting_t *group)
{
	const config_setting_t *expires;

	expires = config_setting_get_member(group, "secret_expires");
	if (expires != NULL &&
	    config_setting_get_member(group, "client_secret_file") == NULL)
		load_error(ld, expires, "'oauth2.secret_expires' is the "
		    "expiry date of 'client_secret_file', which is not set; a "
		    "certificate's expiry is read from the certificate");
}

/* Default the token URL, put the tenant in, and insist on https. */
static void
oauth2_token_url_check(struct load *ld, const config_setting_t *group,
    struct oauth_conf *oc)
{
	const char *url = oc->token_url != NULL ? oc->token_url :
	    DEFAULT_TOKEN_URL;
	const config_setting_t *s = member_or_self(group, "token_url");
	char *full;

	full = string_substitute(url, TENANT_PLACEHOLDER,
	    oc->tenant != NULL ? oc->tenant : TENANT_PLACEHOLDER);
	free(oc->token_url);
	oc->token_url = full;
	if (strncasecmp(full, "https://", 8) != 0)
		load_error(ld, s, "oauth2: token_url must use https, not '%s'",
		    full);
	else if (!host_valid(full) || full[8] == '/' || full[8] == '\0')
		load_error(ld, s, "oauth2: token_url must be an https URL with "
		    "a host and no spaces, not '%s'", full);
}

/* Remember where a device was defined; hold it to its auth mode. */
static void
device_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct device *dev = obj;

	dev->line = (int)config_setting_source_line(group);
	if (device_auth_known(group))
		device_auth_check(ld, group, dev);
}

/* Does the device's auth key, if it has one, name a known mode? */
static bool
device_auth_known(const config_setting_t *group)
{
	const config_setting_t *auth = config_setting_get_member(group, "auth");

	return auth == NULL ||
	    (config_setting_type(auth) == CONFIG_TYPE_STRING &&
	    choice_by_name(auth_modes, config_setting_get_string(auth)) != NULL);
}

/* Check the keys, protocols and oauth2 section a device's auth mode needs. */
static void
device_auth_check(struct load *ld, const config_setting_t *group,
    const struct device *dev)
{
	const struct auth_rule *rule = &auth_rules[dev->auth];
	char path[PATH_TEXT_MAX];

	device_key_check(ld, group, dev, "mailbox", rule->mailbox);
	device_key_check(ld, group, dev, "secret_hash", rule->secret_hash);
	if (!rule->senders || rule->senders_required)
		device_key_check(ld, group, dev, "senders",
		    rule->senders_required);
	if (!rule->ignore_auth)
		device_key_check(ld, group, dev, "ignore_auth", false);
	setting_path(group, path, sizeof(path));
	if (rule->smtp_only && dev->protocols != 0 &&
	    dev->protocols != 1u << PROTO_SMTP)
		load_error(ld, member_or_self(group, "protocols"), "'%s."
		    "protocols' must be [ \"smtp\" ]: auth \"%s\" is for SMTP "
		    "only", path, auth_mode_name(dev->auth));
	if (rule->oauth2 && !ld->cfg->oauth2.configured)
		load_error(ld, member_or_self(group, "auth"), "'%s': auth "
		    "\"%s\" needs an oauth2 section in %s", path,
		    auth_mode_name(dev->auth), ld->cfg->file);
	device_routes_check(ld, group, dev);
	if (dev->auth == AUTH_CONNECTOR)
		device_senders_check(ld, group, dev);
}

/* A device's sessions need the upstream they go to: the connector for a
 * connector device, the protocol's for any protocol with a listener. */
static void
device_routes_check(struct load *ld, const config_setting_t *group,
    const struct device *dev)
{
	char path[PATH_TEXT_MAX];
	enum route route;
	int p;

	setting_path(group, path, sizeof(path));
	for (p = 0; p < PROTO_COUNT; p++) {
		route = route_of(dev, (enum proto)p);
		if ((dev->protocols & 1u << p) == 0 ||
		    ld->cfg->upstreams[route].configured ||
		    (route != ROUTE_CONNECTOR &&
		    !listener_for(ld->cfg, (enum proto)p)))
			continue;
		load_error(ld, member_or_self(group, route == ROUTE_CONNECTOR ?
		    "auth" : "protocols"), "'%s': its %s sessions go to "
		    "upstreams.%s, which %s does not configure", path,
		    proto_name((enum proto)p), route_name(route),
		    ld->cfg->file);
	}
}

/* Does any listener take sessions of proto? */
static bool
listener_for(const struct config *cfg, enum proto proto)
{
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++)
		if (cfg->listeners[i].proto == proto)
			return true;
	return false;
}

/* A connector device's senders must be in the connector's accepted
 * domains: Exchange Online refuses the others. */
static void
device_senders_check(struct load *ld, const config_setting_t *group,
    const struct device *dev)
{
	const config_setting_t *s = config_setting_get_member(group, "senders");
	const struct upstream_conf *up = &ld->cfg->upstreams[ROUTE_CONNECTOR];
	char path[PATH_TEXT_MAX];
	size_t i;

	if (s == NULL || !up->configured)
		return;
	setting_path(s, path, sizeof(path));
	for (i = 0; i < dev->nsenders; i++)
		if (!route_domain_accepted(up, dev->senders[i]))
			load_error(ld, config_setting_get_elem(s, i), "'%s': "
			    "sender '%s' is not in upstreams.connector."
			    "accepted_domains", path, dev->senders[i]);
}

/* A key the device's auth mode requires must be there; one it does not
 * use must not be (it would be silently ignored). */
static void
device_key_check(struct load *ld, const config_setting_t *group,
    const struct device *dev, const char *key, bool required)
{
	const config_setting_t *s = config_setting_get_member(group, key);
	char path[PATH_TEXT_MAX];

	setting_path(group, path, sizeof(path));
	if (required && s == NULL)
		load_error(ld, group, "'%s': auth \"%s\" needs '%s'", path,
		    auth_mode_name(dev->auth), key);
	else if (!required && s != NULL)
		load_error(ld, s, "'%s.%s' is not used with auth \"%s\"; "
		    "remove it", path, key, auth_mode_name(dev->auth));
}

/* For "10.0.0.1/8", write the network "10.0.0.0/8" it was meant to be. */
static bool
cidr_network_hint(const char *text, char *dst, size_t len)
{
	const char *slash = strchr(text, '/');
	char addr[INET6_ADDRSTRLEN];
	struct cidr net;
	unsigned long prefix, bit;
	char *end;

	if (slash == NULL || (size_t)(slash - text) >= sizeof(addr) ||
	    !isdigit((unsigned char)slash[1]))
		return false;
	memcpy(addr, text, (size_t)(slash - text));
	addr[slash - text] = '\0';
	prefix = strtoul(slash + 1, &end, 10);
	if (*end != '\0' || !cidr_parse(addr, &net) || prefix >= net.prefix)
		return false;
	for (bit = prefix; bit < net.prefix; bit++)
		net.addr[bit / 8] &= (uint8_t)~(0x80u >> (bit % 8));
	net.prefix = (unsigned)prefix;
	cidr_format(&net, dst, len);
	return true;
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
	if (config_read_file(cf, path))
		return true;
	if (config_error_line(cf) > 0)
		config_errors_add(ld->errs, "%s:%d: %s",
		    config_error_file(cf) != NULL ? config_error_file(cf) : path,
		    config_error_line(cf), config_error_text(cf));
	else
		config_errors_add(ld->errs, "%s: %s", path,
		    config_error_text(cf));
	return false;
}

/* Read the devices file named by the main file, then cross-check it. */
static void
devices_load(struct load *ld, const config_setting_t *from)
{
	config_t cf;

	if (from == NULL || ld->cfg->devices_file == NULL)
		return;
	config_init(&cf);
	if (file_read(ld, &cf, ld->cfg->devices_file, from)) {
		section_parse(ld, config_root_setting(&cf),
		    &devices_file_section, ld->cfg);
		devices_crosscheck(ld, config_lookup(&cf, "devices"));
	}
	config_destroy(&cf);
}

/* Report devices that share a name or an address. */
static void
devices_crosscheck(struct load *ld, const config_setting_t *list)
{
	size_t i, j;

	for (i = 0; i < ld->cfg->ndevices; i++)
		for (j = 0; j < i; j++)
			if (ld->device_ok[i] && ld->device_ok[j])
				device_pair_check(ld, list, j, i);
}

/* Report a name or an address the second device shares with the first. */
static void
device_pair_check(struct load *ld, const config_setting_t *list,
    size_t first, size_t second)
{
	const struct device *a = &ld->cfg->devices[first];
	const struct device *b = &ld->cfg->devices[second];
	const config_setting_t *ga = config_setting_get_elem(list, first);
	const config_setting_t *gb = config_setting_get_elem(list, second);
	const config_setting_t *aa, *ab;
	char ta[INET6_ADDRSTRLEN + 8], tb[INET6_ADDRSTRLEN + 8];
	size_t i, j;

	if (strcmp(a->name, b->name) == 0)
		load_error(ld, member_or_self(gb, "name"), "duplicate device "
		    "name '%s', first defined at line %d", b->name, a->line);
	aa = config_setting_get_member(ga, "addresses");
	ab = config_setting_get_member(gb, "addresses");
	for (i = 0; i < b->naddrs; i++) {
		for (j = 0; j < a->naddrs; j++) {
			if (!cidr_overlap(&a->addrs[j], &b->addrs[i]))
				continue;
			cidr_format(&a->addrs[j], ta, sizeof(ta));
			cidr_format(&b->addrs[i], tb, sizeof(tb));
			load_error(ld, config_setting_get_elem(ab, i),
			    "address %s of device '%s' overlaps address %s of "
			    "device '%s' at line %u", tb, b->name, ta, a->name,
			    config_setting_source_line(
			    config_setting_get_elem(aa, j)));
		}
	}
}

/* Check each listener alone and against every earlier one. */
static void
listeners_crosscheck(struct load *ld, const config_setting_t *list)
{
	size_t i, j;

	for (i = 0; i < ld->cfg->nlisteners; i++) {
		if (!ld->listener_ok[i])
			continue;
		listener_single_check(ld, config_setting_get_elem(list, i),
		    &ld->cfg->listeners[i]);
		for (j = 0; j < i; j++)
			if (ld->listener_ok[j])
				listener_pair_check(ld, list, j, i);
	}
}

/* A listener needs an upstream for its protocol (SMTP: the connector will
 * do), and implicit TLS needs a LAN certificate. */
static void
listener_single_check(struct load *ld, const config_setting_t *elem,
    const struct listener_conf *l)
{
	if (!ld->cfg->upstreams[l->proto].configured && (l->proto !=
	    PROTO_SMTP || !ld->cfg->upstreams[ROUTE_CONNECTOR].configured))
		load_error(ld, member_or_self(elem, "protocol"),
		    "listener '%s' is for %s but no upstream for %s is "
		    "configured (upstreams.%s)", l->name, proto_name(l->proto),
		    proto_name(l->proto), proto_name(l->proto));
	if (l->tls == LAN_TLS_IMPLICIT && ld->cfg->lan_tls.certificate == NULL)
		load_error(ld, member_or_self(elem, "tls"),
		    "listener '%s' uses implicit TLS but lan_tls has no "
		    "certificate", l->name);
}

/* Report a name or a socket the second listener shares with the first. */
static void
listener_pair_check(struct load *ld, const config_setting_t *list,
    size_t first, size_t second)
{
	const struct listener_conf *a = &ld->cfg->listeners[first];
	const struct listener_conf *b = &ld->cfg->listeners[second];
	const config_setting_t *gb = config_setting_get_elem(list, second);

	if (strcmp(a->name, b->name) == 0)
		load_error(ld, member_or_self(gb, "name"), "duplicate listener "
		    "name '%s', first defined at line %d", b->name, a->line);
	if (listener_same_socket(a, b))
		load_error(ld, member_or_self(gb, "port"), "listener '%s' uses "
		    "address %s port %u, as does listener '%s' at line %d",
		    b->name, b->address, b->port, a->name, a->line);
}

/* Do two listeners bind the same address and port? */
static bool
listener_same_socket(const struct listener_conf *a,
    const struct listener_conf *b)
{
	struct cidr na, nb;

	return a->port == b->port && cidr_parse(a->address, &na) &&
	    cidr_parse(b->address, &nb) && na.family == nb.family &&
	    memcmp(na.addr, nb.addr, sizeof(na.addr)) == 0;
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
