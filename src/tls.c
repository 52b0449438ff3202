/* TLS contexts for both sides, ClientHello capture and upstream resumption. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "tls_hello_parse.h"
#include "util.h"

#define HELLO_MAX_CIPHERS	16	/* suites named in a ClientHello summary */

/* A certificate chain file and its key, with their settings' names for
 * errors ("lan_tls." "certificate"). */
struct tls_pair {
	const char	*group;		/* "lan_tls.", "upstreams.connector." */
	const char	*cert_name;
	const char	*cert;
	const char	*key_name;
	const char	*key;
	int		 line;		/* of the group in the main file */
};

static SSL_CTX	*tls_lan_ctx_new(const struct config *cfg,
		    struct config_errors *errs);
static bool	 tls_lan_certs_load(SSL_CTX *ctx, const struct config *cfg,
		    struct config_errors *errs);
static bool	 tls_lan_ecdsa_load(SSL_CTX *ctx, const struct config *cfg,
		    struct config_errors *errs);
static bool	 tls_pair_load(SSL_CTX *ctx, const struct config *cfg,
		    const struct tls_pair *pair, struct config_errors *errs);
static bool	 tls_cert_is_ecdsa(X509 *cert);
static SSL_CTX	*tls_upstream_ctx_new(const struct config *cfg,
		    const struct upstream_conf *up, struct config_errors *errs);
static bool	 tls_client_cert_load(SSL_CTX *ctx, const struct config *cfg,
		    const struct upstream_conf *up, struct config_errors *errs);
static void	 tls_client_cert_check(SSL_CTX *ctx, const struct config *cfg,
		    const struct upstream_conf *up, struct config_errors *errs);
static bool	 tls_cert_names_domain(X509 *cert,
		    const struct upstream_conf *up);
static int	 tls_hello_cb(SSL *ssl, int *alert, void *arg);
static int	 tls_hello_max_version(SSL *ssl);
static void	 tls_hello_append_ciphers(SSL *ssl, char *buf, size_t len);
static int	 tls_session_new_cb(SSL *ssl, SSL_SESSION *sess);
static void	 tls_session_offer(SSL *ssl, SSL_CTX *ctx);
static void	 tls_free_string(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
		    int idx, long argl, void *argp);
static void	 tls_free_session(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
		    int idx, long argl, void *argp);
static void	 tls_free_cert(void *parent, void *ptr, CRYPTO_EX_DATA *ad,
		    int idx, long argl, void *argp);
static void	 tls_init_indexes(void);
static void	 tls_ctx_set_io(SSL_CTX *ctx);

static int hello_index = -1;	/* SSL ex_data: ClientHello summary */
static int session_index = -1;	/* SSL_CTX ex_data: last upstream session */
static int ecdsa_index = -1;	/* SSL_CTX ex_data: LAN ECDSA leaf */

/* Allocate the ex_data indexes once per process. */
static void
tls_init_indexes(void)
{
	if (hello_index == -1)
		hello_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_free_string);
	if (session_index == -1)
		session_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_free_session);
	if (ecdsa_index == -1)
		ecdsa_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
		    tls_free_cert);
}

/* Free a ClientHello summary along with its SSL object. */
static void
tls_free_string(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	free(ptr);
}

/* Free the cached upstream session along with its context. */
static void
tls_free_session(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	SSL_SESSION_free(ptr);
}

/* Free the reference to the LAN ECDSA leaf along with its context. */
static void
tls_free_cert(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent; (void)ad; (void)idx; (void)argl; (void)argp;
	X509_free(ptr);
}

/* Take the first OpenSSL error as text and clear the queue. */
const char *
tls_error_string(char *buf, size_t len)
{
	unsigned long err = ERR_peek_last_error();

	if (err == 0)
		snprintf(buf, len, "connection closed during handshake");
	else
		ERR_error_string_n(err, buf, len);
	ERR_clear_error();
	return buf;
}

/* Build the LAN context and one context per configured upstream route. */
bool
tls_config_load(struct config *cfg, struct config_errors *errs)
{
	size_t before = errs->n;
	int r;

	tls_init_indexes();
	if (cfg->lan_tls.certificate != NULL)
		cfg->lan_ctx = tls_lan_ctx_new(cfg, errs);
	for (r = 0; r < ROUTE_COUNT; r++) {
		if (cfg->upstreams[r].configured)
			cfg->upstream_ctx[r] = tls_upstream_ctx_new(cfg,
			    &cfg->upstreams[r], errs);
	}
	return errs->n == before;
}

/* The LAN context: TLS 1.0 and up for old devices, renegotiation off;
 * OpenSSL offers each device the certificate its cipher suite needs. */
static SSL_CTX *
tls_lan_ctx_new(const struct config *cfg, struct config_errors *errs)
{
	const struct lan_tls_conf *lt = &cfg->lan_tls;
	char err[256];
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error_string(err, sizeof(err)));
	if (lt->min_version < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0);
	SSL_CTX_set_min_proto_version(ctx, lt->min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	tls_ctx_set_io(ctx);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"tlsrelayd",
	    9);
	SSL_CTX_set_client_hello_cb(ctx, tls_hello_cb, NULL);
	if (SSL_CTX_set_cipher_list(ctx, lt->ciphers) != 1)
		config_errors_add(errs, "%s:%d: lan_tls.ciphers \"%s\": %s",
		    cfg->file, lt->line, lt->ciphers,
		    tls_error_string(err, sizeof(err)));
	else if (tls_lan_certs_load(ctx, cfg, errs))
		return ctx;
	SSL_CTX_free(ctx);
	return NULL;
}

/* The LAN certificates: the ECDSA one first, if set, so that the main one
 * is the context's current certificate (the one its expiry is read from). */
static bool
tls_lan_certs_load(SSL_CTX *ctx, const struct config *cfg,
    struct config_errors *errs)
{
	const struct lan_tls_conf *lt = &cfg->lan_tls;
	const struct tls_pair pair = { "lan_tls.", "certificate",
	    lt->certificate, "key", lt->key, lt->line };

	if (lt->ecdsa_certificate != NULL && !tls_lan_ecdsa_load(ctx, cfg,
	    errs))
		return false;
	if (!tls_pair_load(ctx, cfg, &pair, errs))
		return false;
	if (lt->ecdsa_certificate != NULL &&
	    tls_cert_is_ecdsa(SSL_CTX_get0_certificate(ctx))) {
		config_errors_add(errs, "%s:%d: lan_tls.certificate %s has an "
		    "ECDSA key like ecdsa_certificate: it must be RSA, for the "
		    "devices that cannot take ECDSA", cfg->file, lt->line,
		    lt->certificate);
		return false;
	}
	return true;
}

/* The ECDSA certificate and its key; its leaf is kept for its expiry. */
static bool
tls_lan_ecdsa_load(SSL_CTX *ctx, const struct config *cfg,
    struct config_errors *errs)
{
	const struct lan_tls_conf *lt = &cfg->lan_tls;
	const struct tls_pair pair = { "lan_tls.", "ecdsa_certificate",
	    lt->ecdsa_certificate, "ecdsa_key", lt->ecdsa_key, lt->line };
	X509 *leaf;

	if (!tls_pair_load(ctx, cfg, &pair, errs))
		return false;
	leaf = SSL_CTX_get0_certificate(ctx);
	if (!tls_cert_is_ecdsa(leaf)) {
		config_errors_add(errs, "%s:%d: lan_tls.ecdsa_certificate %s "
		    "has no ECDSA key", cfg->file, lt->line,
		    lt->ecdsa_certificate);
		return false;
	}
	X509_up_ref(leaf);
	SSL_CTX_set_ex_data(ctx, ecdsa_index, leaf);
	return true;
}

/* Load a certificate chain and its key into ctx; false, with an error
 * naming the setting, if they cannot be used. */
static bool
tls_pair_load(SSL_CTX *ctx, const struct config *cfg,
    const struct tls_pair *pair, struct config_errors *errs)
{
	char err[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, pair->cert) != 1)
		config_errors_add(errs, "%s:%d: %s%s %s: %s", cfg->file,
		    pair->line, pair->group, pair->cert_name, pair->cert,
		    tls_error_string(err, sizeof(err)));
	else if (SSL_CTX_use_PrivateKey_file(ctx, pair->key,
	    SSL_FILETYPE_PEM) != 1)
		config_errors_add(errs, "%s:%d: %s%s %s: %s", cfg->file,
		    pair->line, pair->group, pair->key_name, pair->key,
		    tls_error_string(err, sizeof(err)));
	else if (SSL_CTX_check_private_key(ctx) != 1)
		config_errors_add(errs, "%s:%d: %s%s %s does not match %s %s",
		    cfg->file, pair->line, pair->group, pair->key_name,
		    pair->key, pair->cert_name, pair->cert);
	else
		return true;
	return false;
}

/* Does the certificate carry an ECDSA key? */
static bool
tls_cert_is_ecdsa(X509 *cert)
{
	return EVP_PKEY_get_base_id(X509_get0_pubkey(cert)) == EVP_PKEY_EC;
}

/* The LAN context's ECDSA leaf certificate, or NULL if it has none. */
const X509 *
tls_lan_ecdsa_certificate(const struct config *cfg)
{
	if (cfg->lan_ctx == NULL)
		return NULL;
	return SSL_CTX_get_ex_data(cfg->lan_ctx, ecdsa_index);
}

/*
 * Buffers of both contexts: released while a connection is idle, and
 * read ahead, so that one read() takes in several records rather than a
 * header and a body per record (side.c reads what is left in the buffer).
 */
static void
tls_ctx_set_io(SSL_CTX *ctx)
{
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_AHEAD);
}

/* An upstream context: TLS 1.2+, chain verified, client-side resumption. */
static SSL_CTX *
tls_upstream_ctx_new(const struct config *cfg, const struct upstream_conf *up,
    struct config_errors *errs)
{
	char err[256];
	SSL_CTX *ctx;
	int ok;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error_string(err, sizeof(err)));
	SSL_CTX_set_min_proto_version(ctx, up->min_version);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	tls_ctx_set_io(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
	    SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, tls_session_new_cb);
	if (up->client_cert != NULL && !tls_client_cert_load(ctx, cfg, up,
	    errs)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (up->ca_file != NULL || up->ca_path != NULL)
		ok = SSL_CTX_load_verify_locations(ctx, up->ca_file,
		    up->ca_path);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok == 1)
		return ctx;
	config_errors_add(errs, "%s:%d: upstream %s: cannot load CA %s: %s",
	    cfg->file, up->line, up->host, up->ca_file != NULL ? up->ca_file :
	    up->ca_path != NULL ? up->ca_path : "(system store)",
	    tls_error_string(err, sizeof(err)));
	SSL_CTX_free(ctx);
	return NULL;
}

/* Load the connector's client certificate and key into ctx and check
 * them; false (with errors added) if they cannot be used. */
static bool
tls_client_cert_load(SSL_CTX *ctx, const struct config *cfg,
    const struct upstream_conf *up, struct config_errors *errs)
{
	const struct tls_pair pair = { "upstreams.connector.", "certificate",
	    up->client_cert, "key", up->client_key, up->line };
	size_t before = errs->n;

	if (tls_pair_load(ctx, cfg, &pair, errs))
		tls_client_cert_check(ctx, cfg, up, errs);
	ERR_clear_error();
	return errs->n == before;
}

/* The connector certificate must be valid today and name an accepted
 * domain, or Exchange Online's connector cannot match it. */
static void
tls_client_cert_check(SSL_CTX *ctx, const struct config *cfg,
    const struct upstream_conf *up, struct config_errors *errs)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);

	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		config_errors_add(errs, "%s:%d: upstreams.connector."
		    "certificate %s has expired: renew it", cfg->file, up->line,
		    up->client_cert);
	else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		config_errors_add(errs, "%s:%d: upstreams.connector."
		    "certificate %s is not valid yet", cfg->file, up->line,
		    up->client_cert);
	if (!tls_cert_names_domain(cert, up))
		config_errors_add(errs, "%s:%d: upstreams.connector."
		    "certificate %s names none of the accepted_domains: its CN "
		    "or a SAN must be one of them", cfg->file, up->line,
		    up->client_cert);
}

/* Does the certificate name one of the connector's accepted domains? */
static bool
tls_cert_names_domain(X509 *cert, const struct upstream_conf *up)
{
	size_t i;

	for (i = 0; i < up->ndomains; i++)
		if (X509_check_host(cert, up->domains[i], 0,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1)
			return true;
	return false;
}

/* A new LAN-side SSL object, or NULL when no LAN certificate is set. */
SSL *
tls_lan_new(const struct config *cfg)
{
	if (cfg->lan_ctx == NULL)
		return NULL;
	return SSL_new(cfg->lan_ctx);
}

/* A new upstream SSL object: SNI, host name check, cached session. */
SSL *
tls_upstream_new(const struct config *cfg, enum route route)
{
	const struct upstream_conf *up = &cfg->upstreams[route];
	SSL_CTX *ctx = cfg->upstream_ctx[route];
	unsigned char ip[16];
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, up->host, ip) != 1 &&
	    inet_pton(AF_INET6, up->host, ip) != 1)
		SSL_set_tlsext_host_name(ssl, up->host);
	if (SSL_set1_host(ssl, up->host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	tls_session_offer(ssl, ctx);
	return ssl;
}

/* Offer the route's newest session to resume. A copy, as the connection
 * that uses a session marks it not resumable if it is freed before it sent
 * close_notify (the upstream closed first, as after QUIT). */
static void
tls_session_offer(SSL *ssl, SSL_CTX *ctx)
{
	SSL_SESSION *copy = SSL_CTX_get_ex_data(ctx, session_index);

	if (copy == NULL || (copy = SSL_SESSION_dup(copy)) == NULL)
		return;
	SSL_set_session(ssl, copy);
	SSL_SESSION_free(copy);
}

/* Keep a copy of the newest upstream session (sess stays the connection's,
 * which may mark it not resumable) so the next connection can resume. */
static int
tls_session_new_cb(SSL *ssl, SSL_SESSION *sess)
{
	SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
	SSL_SESSION *copy = SSL_SESSION_dup(sess);

	if (copy == NULL)
		return 0;
	SSL_SESSION_free(SSL_CTX_get_ex_data(ctx, session_index));
	SSL_CTX_set_ex_data(ctx, session_index, copy);
	return 0;
}

/* Describe why an upstream certificate failed verification, or NULL. */
const char *
tls_verify_error(SSL *ssl)
{
	long result = SSL_get_verify_result(ssl);

	if (result == X509_V_OK)
		return NULL;
	return X509_verify_cert_error_string(result);
}

/* Record what a LAN client offered, for the log if the handshake fails. */
static int
tls_hello_cb(SSL *ssl, int *alert, void *arg)
{
	char buf[512];
	int n;

	(void)alert; (void)arg;
	n = snprintf(buf, sizeof(buf), "offered_max=%s offered_ciphers=",
	    tls_version_name(tls_hello_max_version(ssl)));
	if (n > 0 && (size_t)n < sizeof(buf))
		tls_hello_append_ciphers(ssl, buf + n, sizeof(buf) - n);
	free(SSL_get_ex_data(ssl, hello_index));
	SSL_set_ex_data(ssl, hello_index, xstrdup(buf));
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* The highest version in a ClientHello, from supported_versions if sent. */
static int
tls_hello_max_version(SSL *ssl)
{
	const unsigned char *ext;
	size_t len;
	int legacy = SSL_client_hello_get0_legacy_version(ssl);

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions,
	    &ext, &len) != 1)
		return legacy;
	return tls_hello_versions_max(legacy, ext, len);
}

/* Append the offered suites as names (hex if unknown to this libssl). */
static void
tls_hello_append_ciphers(SSL *ssl, char *buf, size_t len)
{
	const unsigned char *suites;
	const SSL_CIPHER *c;
	size_t n, i, used = 0;
	int id, w;

	n = SSL_client_hello_get0_ciphers(ssl, &suites) / 2;
	for (i = 0; i < n && i < HELLO_MAX_CIPHERS && used < len; i++) {
		id = suites[2 * i] << 8 | suites[2 * i + 1];
		if (TLS_GREASE(id))
			continue;
		c = SSL_CIPHER_find(ssl, suites + 2 * i);
		if (c != NULL)
			w = snprintf(buf + used, len - used, "%s%s",
			    used ? "," : "", SSL_CIPHER_get_name(c));
		else
			w = snprintf(buf + used, len - used, "%s0x%04X",
			    used ? "," : "", id);
		if (w < 0)
			return;
		used += w;
	}
	if (n > HELLO_MAX_CIPHERS && used < len)
		snprintf(buf + used, len - used, ",+%zu", n - HELLO_MAX_CIPHERS);
}

/* The ClientHello summary recorded for ssl, or NULL. */
const char *
tls_client_hello(SSL *ssl)
{
	return SSL_get_ex_data(ssl, hello_index);
}
