/* OAuth2 client credentials: app-only tokens for SASL XOAUTH2 upstream,
 * cached per token URL, client and scope, with one request in flight. */
#ifndef TLSRELAY_OAUTH_H
#define TLSRELAY_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"

#define OAUTH_REFRESH_MARGIN	600	/* seconds before expiry to refresh */

struct server;
struct oauth_request;

/* Called from the event loop with a token, or NULL and a log-safe error
 * text (never a secret); the request handle is then invalid. */
typedef void (*oauth_cb)(void *arg, const char *token, const char *error);

/* Load the client secret (refusing a file readable by others) or the
 * assertion certificate and key, and build the token endpoint's TLS
 * context; false with errors. Does nothing without an oauth2 section. */
bool	oauth_config_load(struct config *cfg, struct config_errors *errs);

/*
 * Get a token for cfg's app registration: from the cache while it has more
 * than OAUTH_REFRESH_MARGIN seconds left, else from the token endpoint,
 * with a single request in flight however many sessions wait, and a
 * backoff after failures. cb never runs inside this call.
 */
struct oauth_request *oauth_token_get(struct server *srv,
	    const struct config *cfg, oauth_cb cb, void *arg);
/* Forget a waiting request (its session is closing); cb will not run. */
void	oauth_request_cancel(struct oauth_request *req);
/* The upstream refused this token: drop it from the cache. */
void	oauth_token_reject(struct server *srv, const struct config *cfg,
	    const char *token);
/* Free every cache (at exit). */
void	oauth_caches_free(struct server *srv);

/* A parsed token endpoint answer. */
struct oauth_token {
	char	*access_token;	/* heap; NULL on error */
	long	 expires_in;	/* seconds */
};

/*
 * Parse a token endpoint answer. On HTTP 200 with a Bearer access_token
 * and expires_in, fill tok and return true. Otherwise return false with a
 * log-safe error in err: the AADSTS code, error and trace_id when the
 * answer carries them ("AADSTS7000215 invalid_client trace_id=..."), or
 * what was wrong (malformed JSON, missing field).
 */
bool	oauth_parse_answer(int http_status, const char *body, size_t len,
	    struct oauth_token *tok, char *err, size_t errlen);
/* The form body of a token request (URL-encoded), with either the client
 * secret or a signed assertion. */
char	*oauth_form_body(const struct oauth_conf *oc, const char *secret,
	    const char *assertion);
/* A client assertion JWT (RS256, x5t#S256 header) for the token URL,
 * valid from now for a few minutes; NULL on failure. */
char	*oauth_jwt_assertion(EVP_PKEY *key, X509 *cert, const char *client_id,
	    const char *token_url, time_t now);
/* Is a cached token with this expiry (absolute, seconds) still usable? */
bool	oauth_token_fresh(time_t expires_at, time_t now);

#endif
