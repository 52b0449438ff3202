/* Credentials that expire: collected from a loaded config, logged at
 * start, reload and daily like device sunsets, printed by the check mode. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "credentials.h"
#include "date.h"
#include "log.h"
#include "msgid.h"
#include "tls.h"
#include "util.h"

/* Finds one credential of a config; false when the config has none. */
typedef bool	 credential_finder(const struct config *, struct credential *);

/* A kind of credential: its log name and where a config keeps it. */
struct credential_source {
	const char		*name;
	credential_finder	*find;
};

/* How a credential in a given state is logged. */
struct credential_event {
	int		 priority;
	const char	*event;
	const char	*msgid;		/* NULL: none */
};

static credential_finder credential_find_secret, credential_find_oauth2_cert,
		    credential_find_lan_cert, credential_find_connector_cert,
		    credential_find_lan_ecdsa_cert;
static bool	 credential_from_cert(struct credential *c, const X509 *cert);
static const X509 *credential_ctx_cert(const SSL_CTX *ctx);
static void	 credential_log(const struct credential *c,
		    enum credential_state state, time_t now);
static void	 credential_print(const struct credential *c, FILE *fp,
		    unsigned warn_days, time_t now);

static const struct credential_source sources[] = {
	{ "oauth2_secret", credential_find_secret },
	{ "oauth2_certificate", credential_find_oauth2_cert },
	{ "lan_certificate", credential_find_lan_cert },
	{ "connector_certificate", credential_find_connector_cert },
	{ "lan_ecdsa_certificate", credential_find_lan_ecdsa_cert },
};

_Static_assert(nitems(sources) <= CREDENTIALS_MAX, "CREDENTIALS_MAX");

static const struct credential_event state_logs[] = {
	[CREDENTIAL_VALID] = { LOG_INFO, "credential", NULL },
	[CREDENTIAL_EXPIRING] = { LOG_WARNING, "credential_expiring",
	    MSGID_CREDENTIAL_EXPIRING },
	[CREDENTIAL_EXPIRED] = { LOG_ERR, "credential_expired",
	    MSGID_CREDENTIAL_EXPIRED },
};

/* Collect every credential of cfg whose expiry day is known. */
void
credentials_collect(const struct config *cfg, struct credentials *out)
{
	struct credential *c;
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < nitems(sources); i++) {
		c = &out->list[out->n];
		c->name = sources[i].name;
		if (sources[i].find(cfg, c))
			out->n++;
	}
}

/* Log the credentials near or past their expiry, or all of them. */
void
credentials_report(const struct config *cfg, time_t now, bool all)
{
	struct credentials creds;
	enum credential_state state;
	size_t i;

	credentials_collect(cfg, &creds);
	for (i = 0; i < creds.n; i++) {
		state = credential_classify(&creds.list[i], cfg->warn_days, now);
		if (all || state != CREDENTIAL_VALID)
			credential_log(&creds.list[i], state, now);
	}
}

/* Print one check mode line per credential. */
void
credentials_print(const struct config *cfg, FILE *fp, time_t now)
{
	struct credentials creds;
	size_t i;

	credentials_collect(cfg, &creds);
	for (i = 0; i < creds.n; i++)
		credential_print(&creds.list[i], fp, cfg->warn_days, now);
}

/* The local civil day of a certificate's notAfter instant. */
bool
credential_cert_expiry(const X509 *cert, int32_t *day)
{
	struct tm tm;
	time_t when;

	memset(&tm, 0, sizeof(tm));
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    (when = timegm(&tm)) == (time_t)-1)
		return false;
	*day = date_today(when);
	return true;
}

/* Days from today to the expiry day: 0 on the day itself, then negative. */
long
credential_days_left(const struct credential *c, time_t now)
{
	return (long)c->expires - (long)date_today(now);
}

/* Expired after its day, expiring within warn_days, else valid. */
enum credential_state
credential_classify(const struct credential *c, unsigned warn_days,
    time_t now)
{
	long left = credential_days_left(c, now);

	if (left < 0)
		return CREDENTIAL_EXPIRED;
	return left <= (long)warn_days ? CREDENTIAL_EXPIRING : CREDENTIAL_VALID;
}

/* The client secret, when its expiry date is configured. */
static bool
credential_find_secret(const struct config *cfg, struct credential *c)
{
	c->file = cfg->oauth2.client_secret_file;
	c->expires = cfg->oauth2.secret_expires;
	return cfg->oauth2.secret_expires_set;
}

/* The certificate the oauth2 client assertions name. */
static bool
credential_find_oauth2_cert(const struct config *cfg, struct credential *c)
{
	c->file = cfg->oauth2.certificate;
	return credential_from_cert(c, cfg->oauth_cert);
}

/* The certificate the relay presents to devices. */
static bool
credential_find_lan_cert(const struct config *cfg, struct credential *c)
{
	c->file = cfg->lan_tls.certificate;
	return credential_from_cert(c, credential_ctx_cert(cfg->lan_ctx));
}

/* The LAN certificate for devices that take ECDSA, if there is one. */
static bool
credential_find_lan_ecdsa_cert(const struct config *cfg,
    struct credential *c)
{
	c->file = cfg->lan_tls.ecdsa_certificate;
	return credential_from_cert(c, tls_lan_ecdsa_certificate(cfg));
}

/* The client certificate of the SMTP connector route. */
static bool
credential_find_connector_cert(const struct config *cfg,
    struct credential *c)
{
	c->file = cfg->upstreams[ROUTE_CONNECTOR].client_cert;
	return credential_from_cert(c,
	    credential_ctx_cert(cfg->upstream_ctx[ROUTE_CONNECTOR]));
}

/* Take the expiry day from a certificate, if there is one. */
static bool
credential_from_cert(struct credential *c, const X509 *cert)
{
	return cert != NULL && credential_cert_expiry(cert, &c->expires);
}

/* The leaf certificate a context presents, or NULL. */
static const X509 *
credential_ctx_cert(const SSL_CTX *ctx)
{
	return ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;
}

/* One key=value line for a credential in its state. */
static void
credential_log(const struct credential *c, enum credential_state state,
    time_t now)
{
	const struct credential_event *how = &state_logs[state];
	char expires[16], days[24];
	struct log_field f[] = {
		{ "event", how->event }, { "credential", c->name },
		{ "file", c->file }, { "expires", expires },
		{ "days_left", days },
	};

	date_format(c->expires, expires, sizeof(expires));
	snprintf(days, sizeof(days), "%ld", credential_days_left(c, now));
	log_event(how->priority, how->msgid, f, nitems(f));
}

/* One check-mode line: the expiry, the days left, and a warning within
 * warn_days or EXPIRED past it. */
static void
credential_print(const struct credential *c, FILE *fp, unsigned warn_days,
    time_t now)
{
	char expires[16];
	long left = credential_days_left(c, now);

	date_format(c->expires, expires, sizeof(expires));
	fprintf(fp, "credential %s (%s): expires %s, %s%ld days left", c->name,
	    c->file, expires, left < 0 ? "EXPIRED, " : "", left < 0 ? 0 : left);
	if (credential_classify(c, warn_days, now) == CREDENTIAL_EXPIRING)
		fprintf(fp, " (warning: within warn_days %u, renew it)",
		    warn_days);
	fputc('\n', fp);
}
