/* The upstream side: resolve, connect, TLS 1.2+ (implicit or STARTTLS). */
#ifndef TLSRELAY_UPSTREAM_H
#define TLSRELAY_UPSTREAM_H

#include "session.h"

/*
 * Resolve and connect to the upstream configured for the session's
 * protocol, trying each address in turn, with TLS from the start for
 * implicit upstreams. Ends in ops->upstream_ready or ops->upstream_failed,
 * always from the event loop, never from within this call.
 */
void	upstream_dial(struct session *s);
/* Abandon a dial in progress (the session is closing). */
void	upstream_dial_cancel(struct session *s);
/* Discard anything the upstream sent after its STARTTLS go-ahead and start
 * the TLS handshake; ends in ops->upstream_ready (with up.tls_up set) or
 * ops->upstream_failed. */
void	upstream_start_tls(struct session *s);

#endif
