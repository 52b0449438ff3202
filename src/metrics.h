/* Prometheus metrics: counters kept for the life of the process (a
 * reload keeps them), and the HTTP listener serving /metrics and
 * /health. */
#ifndef TLSRELAY_METRICS_H
#define TLSRELAY_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"

struct session_env;

/* Open, keep or close the HTTP listener as cfg->metrics says; false
 * (logged, the old listener kept) if a new one cannot be bound. */
bool	metrics_apply(struct session_env *env, const struct config *cfg);
/* Close the HTTP listener (at exit). */
void	metrics_close(void);

/* A session began: one more open (tlsrelayd_sessions_active). */
void	metrics_count_session_start(enum proto proto);
/* A session ended: its result (the log's result= name), the bytes the
 * device sent and was sent; an upstream failure by its result. */
void	metrics_count_session(enum proto proto, const char *result,
	    uint64_t bytes_in, uint64_t bytes_out);
/* A connection refused before its session began, with a short reason
 * from a fixed set ("unknown", "busy", "untrusted_proxy", ...). */
void	metrics_count_refusal(enum proto proto, const char *reason);
/* A LAN TLS handshake: the negotiated version, or "failed". */
void	metrics_count_lan_tls(const char *version);
/* A message's end of DATA: accepted or rejected upstream. */
void	metrics_count_message(bool accepted);
/* The upstream refused a login of a device in auth mode; reply is its
 * answer (the status word is kept: "535", "-ERR", "NO"; for IMAP the
 * word after the tag). */
void	metrics_count_upstream_auth_failure(enum proto proto,
	    enum auth_mode mode, const char *reply);
/* A token request ended, with a token or without. */
void	metrics_count_token_request(bool ok);
/* A reload ended, applied or refused. */
void	metrics_count_reload(bool ok);
/* A v2 LOCAL header (a balancer's health check) arrived. */
void	metrics_count_health_check(void);
/* A session's device was identified now. */
void	metrics_note_device_seen(const char *device, enum proto proto);

#endif
