/* The validated, immutable configuration snapshot: main file + devices file. */
#ifndef TLSRELAY_CONFIG_H
#define TLSRELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <openssl/ssl.h>

#include "cidr.h"
#include "log.h"

enum proto {
	PROTO_SMTP,
	PROTO_POP3,
	PROTO_IMAP,
	PROTO_COUNT
};

enum lan_tls_mode {
	LAN_TLS_PLAIN,		/* STARTTLS/STLS offered when a certificate is set */
	LAN_TLS_IMPLICIT,
};

/* The upstreams: one per protocol, then the SMTP connector route. */
enum route {
	ROUTE_SMTP = PROTO_SMTP,
	ROUTE_POP3 = PROTO_POP3,
	ROUTE_IMAP = PROTO_IMAP,
	ROUTE_CONNECTOR,	/* SMTP to the tenant's MX, client certificate */
	ROUTE_COUNT
};

/* What the relay does with a bare CR or LF in a message body. */
enum bare_eol_policy {
	BARE_EOL_NORMALISE,	/* end the line there, send CRLF */
	BARE_EOL_REJECT,	/* refuse the message with 554 5.6.0 */
};

enum upstream_tls_mode {
	UPSTREAM_TLS_IMPLICIT,
	UPSTREAM_TLS_STARTTLS,
};

/* How a device's session is authenticated upstream. */
enum auth_mode {
	AUTH_PASSTHROUGH,	/* the device's own credentials go upstream */
	AUTH_OAUTH2,		/* device secret checked here; XOAUTH2 upstream */
	AUTH_RELAY,		/* SMTP only: no device AUTH; XOAUTH2 upstream */
	AUTH_CONNECTOR,		/* SMTP only: no device AUTH; the connector
				 * route's client certificate upstream */
};

/* What is to become of a device when its exception ends (the register). */
enum remediation {
	REMEDIATION_UNDECIDED,
	REMEDIATION_RECONFIGURE,
	REMEDIATION_REPLACE,
	REMEDIATION_RETIRE,
};

struct device {
	char		*name;
	struct cidr	*addrs;
	size_t		 naddrs;
	unsigned	 protocols;	/* bit (1u << PROTO_x) per allowed protocol */
	int32_t		 sunset;	/* civil day number, see date_parse() */
	char		*owner;		/* may be NULL */
	char		*notes;		/* may be NULL */
	char		*function;	/* business function, may be NULL */
	enum remediation remediation;
	int32_t		 retest;	/* civil day number; 0: not set */
	enum auth_mode	 auth;
	bool		 plaintext_auth; /* AUTH allowed without LAN TLS */
	char		*mailbox;	/* oauth2/relay: upstream identity */
	char		*secret_hash;	/* oauth2: crypt(3) hash of the secret */
	char		**senders;	/* oauth2/relay/connector: MAIL FROM */
	size_t		 nsenders;	/* 0: the mailbox only */
	bool		 ignore_auth;	/* relay/connector: take any AUTH */
	int		 line;		/* line in the devices file */
};

/* The app registration used to obtain XOAUTH2 tokens (client credentials). */
struct oauth_conf {
	bool		 configured;
	char		*tenant;
	char		*client_id;
	char		*client_secret_file; /* or certificate + key */
	int32_t		 secret_expires; /* civil day number, see date_parse() */
	bool		 secret_expires_set;
	char		*certificate;	/* PEM: x5t#S256 of the assertion */
	char		*key;		/* signs the assertion (RS256) */
	char		*token_url;	/* with {tenant} substituted */
	char		*scope;
	char		*ca_file;	/* token endpoint CA; NULL: system */
	int		 line;		/* of the group in the main file */
};

struct listener_conf {
	char		*name;
	enum proto	 proto;
	char		*address;	/* numeric IPv4/IPv6 address */
	uint16_t	 port;
	enum lan_tls_mode tls;
	bool		 proxy_protocol; /* a PROXY header comes first */
	int		 line;
};

/* The HTTP listener for /metrics and /health. */
struct metrics_conf {
	bool		 configured;
	char		*address;	/* numeric IPv4/IPv6 address */
	uint16_t	 port;
	int		 line;
};

struct upstream_conf {
	bool		 configured;
	char		*host;		/* connected to, verified and sent as SNI */
	uint16_t	 port;
	enum upstream_tls_mode tls;
	int		 min_version;	/* TLS1_2_VERSION or TLS1_3_VERSION */
	char		*ca_file;	/* NULL: system store */
	char		*ca_path;	/* NULL: system store */
	int		 line;		/* of its group in the main file */
	char		*client_cert;	/* connector: PEM chain, leaf first */
	char		*client_key;	/* connector: its private key */
	char		**domains;	/* connector: the accepted domains */
	size_t		 ndomains;
};

/* How owner notices are sent: as a mailbox through the SMTP upstream with
 * XOAUTH2, or through the connector route to the tenant's MX. */
enum notice_route {
	NOTICE_ROUTE_SMTP,
	NOTICE_ROUTE_CONNECTOR,
};

#define NOTICE_DAYS_MAX		8	/* thresholds in notices.days */

/* Mail to each device's owner before (and the day after) its sunset. */
struct notices_conf {
	bool		 configured;
	char		*from;		/* envelope and header sender */
	char		*admin;		/* weekly digest to; NULL: none */
	enum notice_route route;
	char		*mailbox;	/* smtp route: the XOAUTH2 identity */
	unsigned	 days[NOTICE_DAYS_MAX];	/* descending */
	size_t		 ndays;
	int		 line;		/* of the group in the main file */
};

struct lan_tls_conf {
	char		*certificate;	/* NULL: no LAN TLS */
	char		*key;
	char		*ecdsa_certificate; /* a second one, or NULL */
	char		*ecdsa_key;
	int		 min_version;	/* TLS1_VERSION .. TLS1_3_VERSION */
	char		*ciphers;	/* OpenSSL cipher list for TLS <= 1.2 */
	int		 line;		/* of the group in the main file */
};

/* The longest line_length a configuration may set, bytes. */
#define LINE_LENGTH_MAX	65536

struct limits {
	unsigned	 max_sessions;
	unsigned	 max_sessions_per_device;
	unsigned	 max_mailbox_sessions;	/* upstream POP3/IMAP per mailbox */
	unsigned	 line_length;		/* bytes, including CRLF */
	unsigned	 prelogin_timeout;	/* seconds */
	unsigned	 idle_timeout;		/* seconds */
	unsigned	 imap_idle_timeout;	/* seconds, IMAP after login */
	unsigned	 upstream_timeout;	/* seconds: DNS, connect, each reply */
	unsigned	 data_timeout;		/* seconds, one SMTP message's DATA */
	unsigned	 drain_timeout;		/* seconds, at SIGTERM */
};

struct log_conf {
	enum log_target	 target;
	int		 facility;	/* LOG_MAIL, LOG_DAEMON, LOG_LOCAL0.. */
	int		 level;		/* LOG_ERR .. LOG_DEBUG */
};

struct config {
	int		 refcount;
	char		*file;		/* main file as given */
	char		*devices_file;	/* resolved against the main file's dir */
	char		*server_name;	/* greetings and upstream EHLO */
	char		*user;		/* switched to after binding; NULL */
	unsigned	 warn_days;
	unsigned	 max_sunset_days; /* 0: no limit */
	char		*state_dir;	/* the exit register's database */
	unsigned	 evidence_days;	/* per-session rows kept this long */
	struct log_conf	 log;
	struct limits	 limits;
	struct lan_tls_conf lan_tls;
	struct listener_conf *listeners;
	size_t		 nlisteners;
	enum bare_eol_policy smtp_bare_eol;
	struct upstream_conf upstreams[ROUTE_COUNT];
	struct device	*devices;
	size_t		 ndevices;
	struct cidr	*trusted_proxies; /* may send PROXY headers */
	size_t		 ntrusted_proxies;
	struct metrics_conf metrics;

	/* Built by tls_config_load() after parsing; freed with the config. */
	SSL_CTX		*lan_ctx;	/* NULL when no LAN certificate */
	SSL_CTX		*upstream_ctx[ROUTE_COUNT];

	struct oauth_conf oauth2;
	struct notices_conf notices;
	/* Loaded by oauth_config_load(); freed (secret wiped) with the config. */
	SSL_CTX		*oauth_ctx;	/* HTTPS to the token endpoint */
	char		*oauth_secret;	/* client secret read from its file */
	EVP_PKEY	*oauth_key;	/* or the assertion's key ... */
	X509		*oauth_cert;	/* ... and certificate */
};

/* Every problem found while loading, each "file:line: message". */
struct config_errors {
	char		**msgs;
	size_t		 n;
};

/*
 * Parse and validate the main file and the devices file it names. On
 * success returns a config with refcount 1 (TLS contexts not yet built);
 * on failure returns NULL and errs holds every error found.
 */
struct config	*config_load(const char *path, struct config_errors *errs);
/*
 * The same from texts in memory, for tests and fuzz targets: main_text is
 * read as the main file, named "(main)" in errors, and devices_text as the
 * devices file it names, "(devices)". Nothing is read from disk (a text
 * holding @include is refused), the user key is stored without looking the
 * user up, max_sunset_days counts from now, relative paths start at /.
 */
struct config	*config_load_string(const char *main_text,
		    const char *devices_text, time_t now,
		    struct config_errors *errs);
struct config	*config_ref(struct config *cfg);
void		 config_unref(struct config *cfg);

void		 config_errors_add(struct config_errors *errs, const char *fmt,
		    ...) __attribute__((format(printf, 2, 3)));
void		 config_errors_clear(struct config_errors *errs);

const char	*proto_name(enum proto proto);	/* "smtp", "pop3", "imap" */
const char	*auth_mode_name(enum auth_mode mode);
const char	*remediation_name(enum remediation r);	/* "retire" */
const char	*tls_version_name(int version);	/* "TLSv1.2" */
const char	*route_name(enum route route);	/* "smtp" .. "connector" */
/* The configuration name of a notice route ("smtp", "connector"). */
const char	*notice_route_name(enum notice_route route);
/* The upstream route of a device's session for proto. */
enum route	 route_of(const struct device *dev, enum proto proto);
/* Is the address's domain one of the connector's accepted domains? */
bool		 route_domain_accepted(const struct upstream_conf *up,
		    const char *address);

#endif
