/* Prometheus metrics: counters kept for the life of the process (a
 * reload keeps them), and the HTTP listener serving /metrics and
 * /health. */
#ifndef TLSRELAY_METRICS_H
#define TLSRELAY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct server;
struct session;

/* Open, keep or close the HTTP listener as cfg->metrics says; false
 * (logged, the old listener kept) if a new one cannot be bound. */
bool	metrics_apply(struct server *srv, const struct config *cfg);
/* Close the HTTP listener (at exit). */
void	metrics_close(void);

/* A session ended: its result, its bytes, an upstream failure. */
void	metrics_count_session(const struct session *s);
/* A connection refused before its session began, with a short reason
 * from a fixed set ("unknown", "busy", "untrusted_proxy", ...). */
void	metrics_count_refusal(enum proto proto, const char *reason);
/* A LAN TLS handshake: the negotiated version, or "failed". */
void	metrics_count_lan_tls(const char *version);
/* A message's end of DATA: accepted or rejected upstream. */
void	metrics_count_message(bool accepted);
/* The upstream refused the session's login; reply is its answer (the
 * status word is kept: "535", "-ERR", "NO"). */
void	metrics_count_upstream_auth_failure(const struct session *s,
	    const char *reply);
/* A token request ended, with a token or without. */
void	metrics_count_token_request(bool ok);
/* A reload ended, applied or refused. */
void	metrics_count_reload(bool ok);
/* A v2 LOCAL header (a balancer's health check) arrived. */
void	metrics_count_health_check(void);
/* The session's device was identified now. */
void	metrics_note_device_seen(const struct session *s);

#endif
