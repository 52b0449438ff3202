/* Reaching the upstream: resolve without blocking, connect to each address
 * in turn, TLS from the start for implicit-TLS upstreams. */
#ifndef TLSRELAY_UPSTREAM_H
#define TLSRELAY_UPSTREAM_H

#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"
#include "side.h"

/* Where to dial: the route's settings under a config snapshot. */
struct upstream_target {
	struct event_base	*base;
	struct evdns_base	*dns;
	const struct config	*cfg;
	enum route		 route;
};

/* How a dial ended. */
enum upstream_status {
	UPSTREAM_CONNECTED,	/* the side is connected (and TLS is up) */
	UPSTREAM_UNREACHABLE,	/* no address could be resolved or reached */
	UPSTREAM_TLS_FAILED,	/* an implicit-TLS handshake failed */
	UPSTREAM_NO_MEMORY,	/* a bufferevent or TLS object was refused */
};

struct upstream_dial;
/* The end of a dial: error says why it failed (NULL when connected). */
typedef void (*upstream_cb)(enum upstream_status status, const char *error,
	    void *arg);

/*
 * Resolve and connect the target's upstream on side, trying each address
 * in turn. The side's own callback is restored before cb runs, which is
 * always from the event loop, never from within this call. NULL if out of
 * memory.
 */
struct upstream_dial *upstream_dial(const struct upstream_target *t,
	    struct side *side, upstream_cb cb, void *arg);
/* Abandon a dial in progress: cb will not run. */
void	upstream_dial_cancel(struct upstream_dial *d);

#endif
