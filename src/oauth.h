/* OAuth2 client credentials: app-only tokens for SASL XOAUTH2 upstream,
 * cached per token URL, client and scope, with one request in flight. */
#ifndef TLSRELAY_OAUTH_H
#define TLSRELAY_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "oauth_wire.h"

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

/* Is a cached token with this expiry (absolute, seconds) still usable? */
bool	oauth_token_fresh(time_t expires_at, time_t now);

#endif
