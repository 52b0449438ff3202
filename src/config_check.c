/* Semantic checks of a configuration: each section, then across them. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libconfig.h>
#include <openssl/ssl.h>

#include "config_int.h"
#include "cidr.h"
#include "util.h"

#define DEFAULT_TOKEN_URL	\
	"https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
#define DEFAULT_SCOPE		"https://outlook.office365.com/.default"
#define TENANT_PLACEHOLDER	"{tenant}"
#define METRICS_DEFAULT_PORT	9154

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

static void	 lan_tls_check_pair(struct load *ld,
		    const config_setting_t *group, const char *cert_name,
		    const char *cert, const char *key_name, const char *key);
static void	 oauth2_credentials_check(struct load *ld,
		    const config_setting_t *group);
static void	 oauth2_secret_expires_check(struct load *ld,
		    const config_setting_t *group);
static void	 oauth2_token_url_check(struct load *ld,
		    const config_setting_t *group, struct oauth_conf *oc);
static char	*string_substitute(const char *text, const char *from,
		    const char *to);
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
static void	 device_pair_check(struct load *ld,
		    const config_setting_t *list, size_t first, size_t second);
static void	 listener_single_check(struct load *ld,
		    const config_setting_t *elem, const struct listener_conf *l);
static void	 listener_pair_check(struct load *ld,
		    const config_setting_t *list, size_t first, size_t second);
static bool	 listener_same_socket(const struct listener_conf *a,
		    const struct listener_conf *b);

static const struct auth_rule auth_rules[] = {
	[AUTH_PASSTHROUGH] = { 0 },	/* none of those keys, any protocol */
	[AUTH_OAUTH2] = { .mailbox = true, .secret_hash = true,
	    .senders = true, .oauth2 = true },
	[AUTH_RELAY] = { .mailbox = true, .senders = true, .ignore_auth = true,
	    .smtp_only = true, .oauth2 = true },
	[AUTH_CONNECTOR] = { .senders = true, .senders_required = true,
	    .ignore_auth = true, .smtp_only = true },
};

/* Remember where a listener was defined. */
void
listener_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct listener_conf *l = obj;

	(void)ld;
	l->line = (int)config_setting_source_line(group);
}

/* Mark an upstream configured and hold it to TLS 1.2 or later. */
void
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

/* A LAN certificate needs its key and a key needs its certificate; the
 * ECDSA certificate is a second one, beside the first. */
void
lan_tls_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct lan_tls_conf *lt = obj;

	lt->line = (int)config_setting_source_line(group);
	lan_tls_check_pair(ld, group, "certificate", lt->certificate, "key",
	    lt->key);
	lan_tls_check_pair(ld, group, "ecdsa_certificate",
	    lt->ecdsa_certificate, "ecdsa_key", lt->ecdsa_key);
	if (lt->ecdsa_certificate != NULL && lt->certificate == NULL)
		load_error(ld, member_or_self(group, "ecdsa_certificate"),
		    "'lan_tls.ecdsa_certificate' is a second certificate, for "
		    "devices that take ECDSA: set 'lan_tls.certificate' (RSA) "
		    "too, or make this one 'certificate'");
}

/* One of a certificate and its key is set without the other. */
static void
lan_tls_check_pair(struct load *ld, const config_setting_t *group,
    const char *cert_name, const char *cert, const char *key_name,
    const char *key)
{
	if (cert != NULL && key == NULL)
		load_error(ld, member_or_self(group, cert_name),
		    "'lan_tls.%s' is set without 'lan_tls.%s'; they go "
		    "together", cert_name, key_name);
	if (key != NULL && cert == NULL)
		load_error(ld, member_or_self(group, key_name),
		    "'lan_tls.%s' is set without 'lan_tls.%s'; they go "
		    "together", key_name, cert_name);
}

/* The metrics listener: loopback port 9154 unless told otherwise; the
 * address must be numeric. */
void
metrics_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct metrics_conf *m = obj;
	struct cidr addr;

	m->configured = true;
	m->line = (int)config_setting_source_line(group);
	if (m->port == 0)
		m->port = METRICS_DEFAULT_PORT;
	if (m->address == NULL)
		m->address = xstrdup("127.0.0.1");
	else if (!cidr_parse(m->address, &addr) || addr.prefix !=
	    (addr.family == AF_INET ? 32 : 128))
		load_error(ld, member_or_self(group, "address"), "'metrics."
		    "address' must be a numeric IPv4 or IPv6 address, not "
		    "'%s'", m->address);
}

/* Mark oauth2 configured, check its credentials, settle token_url and
 * scope. */
void
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

/* Remember where a device was defined; hold it to its auth mode. */
void
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

/* Report devices that share a name or an address. */
void
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
void
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
 * do), implicit TLS a LAN certificate, and PROXY headers a trusted proxy. */
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
	if (l->proxy_protocol && ld->cfg->ntrusted_proxies == 0)
		load_error(ld, member_or_self(elem, "proxy_protocol"),
		    "listener '%s' takes PROXY headers but trusted_proxies "
		    "lists no proxy", l->name);
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
