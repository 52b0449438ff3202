/* Reaching the upstream: resolve without blocking, connect to each address
 * in turn, TLS from the start for implicit-TLS upstreams. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/util.h>

#include "log.h"
#include "tls.h"
#include "upstream.h"

/* A dial in progress: DNS answer and the next address to try. */
struct upstream_dial {
	struct upstream_target		 t;
	const struct upstream_conf	*conf;
	struct side			*side;
	side_cb				 owner_cb;	/* the side's own */
	void				*owner_arg;
	upstream_cb			 cb;
	void				*arg;
	bool				 cancelled;
	struct evdns_getaddrinfo_request *req;	/* non-NULL while resolving */
	struct evutil_addrinfo		*addrs;
	struct evutil_addrinfo		*next;
	struct event			*done;	/* reports the end */
	enum upstream_status		 status;
	char				 error[256];
};

static void	upstream_resolved(int err, struct evutil_addrinfo *ai,
		    void *arg);
static void	upstream_try_next(struct upstream_dial *d);
static bool	upstream_connect(struct upstream_dial *d,
		    const struct evutil_addrinfo *ai);
static void	upstream_finish(struct upstream_dial *d,
		    enum upstream_status status);
static void	upstream_donecb(evutil_socket_t fd, short what, void *arg);
static void	upstream_report(struct upstream_dial *d);
static void	upstream_free(struct upstream_dial *d);
static void	upstream_side_event(struct side *side, enum side_event ev,
		    void *arg);
static void	upstream_connect_failed(struct upstream_dial *d, bool eof);
static bool	upstream_never_connected(struct upstream_dial *d);

/* Resolve and connect the target's upstream on side. */
struct upstream_dial *
upstream_dial(const struct upstream_target *t, struct side *side,
    upstream_cb cb, void *arg)
{
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
	struct upstream_dial *d = calloc(1, sizeof(*d));
	char port[8];

	if (d == NULL || (d->done = evtimer_new(t->base, upstream_donecb,
	    d)) == NULL) {
		free(d);
		return NULL;
	}
	d->t = *t;
	d->conf = &t->cfg->upstreams[t->route];
	d->side = side;
	d->owner_cb = side->cb;
	d->owner_arg = side->arg;
	d->cb = cb;
	d->arg = arg;
	snprintf(port, sizeof(port), "%u", d->conf->port);
	d->req = evdns_getaddrinfo(t->dns, d->conf->host, port, &hints,
	    upstream_resolved, d);
	return d;
}

/* Abandon a dial in progress. */
void
upstream_dial_cancel(struct upstream_dial *d)
{
	d->side->cb = d->owner_cb;
	d->side->arg = d->owner_arg;
	if (d->req != NULL) {
		d->cancelled = true;
		evdns_getaddrinfo_cancel(d->req);	/* frees d */
		return;
	}
	upstream_free(d);
}

/* Free a dial and its DNS answer. */
static void
upstream_free(struct upstream_dial *d)
{
	if (d->addrs != NULL)
		evutil_freeaddrinfo(d->addrs);
	event_free(d->done);
	free(d);
}

/* DNS answered: start connecting, or report the failure. */
static void
upstream_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct upstream_dial *d = arg;

	d->req = NULL;
	if (d->cancelled) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		upstream_free(d);
		return;
	}
	if (err != 0) {
		snprintf(d->error, sizeof(d->error), "cannot resolve %s: %s",
		    d->conf->host, evutil_gai_strerror(err));
		upstream_finish(d, UPSTREAM_UNREACHABLE);
		return;
	}
	d->addrs = d->next = ai;
	upstream_try_next(d);
}

/* Start connecting to the next address; when none is left, fail. */
static void
upstream_try_next(struct upstream_dial *d)
{
	const struct evutil_addrinfo *ai;

	while ((ai = d->next) != NULL) {
		d->next = ai->ai_next;
		if (upstream_connect(d, ai))
			return;
	}
	if (d->error[0] == '\0')
		snprintf(d->error, sizeof(d->error), "no address to connect "
		    "to");
	upstream_finish(d, UPSTREAM_UNREACHABLE);
}

/* Begin a non-blocking connect to one address; false if it failed (a dial
 * ended for want of memory counts as begun). */
static bool
upstream_connect(struct upstream_dial *d, const struct evutil_addrinfo *ai)
{
	SSL *ssl = NULL;
	char addr[64];
	int saved;

	if (d->conf->tls == UPSTREAM_TLS_IMPLICIT &&
	    (ssl = tls_upstream_new(d->t.cfg, d->t.route)) == NULL) {
		upstream_finish(d, UPSTREAM_NO_MEMORY);
		return true;
	}
	if (!side_open(d->side, ssl)) {
		upstream_finish(d, UPSTREAM_NO_MEMORY);
		return true;
	}
	d->side->cb = upstream_side_event;
	d->side->arg = d;
	if (side_connect(d->side, ai->ai_addr, ai->ai_addrlen))
		return true;
	saved = errno;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(addr, sizeof(addr), "%s", d->conf->host);
	snprintf(d->error, sizeof(d->error), "connect to %s port %u: %s",
	    addr, d->conf->port, strerror(saved));
	side_close(d->side);
	return false;
}

/* The dial is over: give the side back and report from the loop. */
static void
upstream_finish(struct upstream_dial *d, enum upstream_status status)
{
	d->status = status;
	event_active(d->done, EV_TIMEOUT, 0);
}

/* The loop runs the report of a dial's end. */
static void
upstream_donecb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	upstream_report(arg);
}

/* Give the side back, free the dial and tell its owner how it ended. */
static void
upstream_report(struct upstream_dial *d)
{
	enum upstream_status status = d->status;
	upstream_cb cb = d->cb;
	void *cbarg = d->arg;
	char error[sizeof(d->error)];

	d->side->cb = d->owner_cb;
	d->side->arg = d->owner_arg;
	snprintf(error, sizeof(error), "%s", d->error);
	upstream_free(d);
	cb(status, status == UPSTREAM_CONNECTED ? NULL : error, cbarg);
}

/* Events on the side while dialling: connected, or this address failed. */
static void
upstream_side_event(struct side *side, enum side_event ev, void *arg)
{
	struct upstream_dial *d = arg;

	switch (ev) {
	case SIDE_INPUT:
	case SIDE_FLUSHED:
		return;		/* nothing is due before the connection */
	case SIDE_CONNECTED:
		d->status = UPSTREAM_CONNECTED;
		upstream_report(d);
		return;
	case SIDE_EOF:
	case SIDE_ERROR:
		if (side->ssl == NULL || upstream_never_connected(d)) {
			upstream_connect_failed(d, ev == SIDE_EOF);
			return;
		}
		side_tls_error(side, "upstream", d->error, sizeof(d->error));
		d->status = UPSTREAM_TLS_FAILED;
		upstream_report(d);
		return;
	default:
		fatalx("upstream: unexpected side event %d", ev);
	}
}

/* A TCP connect failed: remember why and try the next address. */
static void
upstream_connect_failed(struct upstream_dial *d, bool eof)
{
	int err = EVUTIL_SOCKET_ERROR();

	snprintf(d->error, sizeof(d->error), "connect to %s port %u: %s",
	    d->conf->host, d->conf->port, eof ? "connection closed" :
	    evutil_socket_error_to_string(err));
	side_close(d->side);
	upstream_try_next(d);
}

/* Did the TCP connection never come up (refused, unreachable)? An
 * implicit-TLS dial reports that as a failed handshake. */
static bool
upstream_never_connected(struct upstream_dial *d)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int saved = EVUTIL_SOCKET_ERROR();	/* why the connect failed */
	bool never;

	never = getpeername(bufferevent_getfd(d->side->bev),
	    (struct sockaddr *)&ss, &len) == -1;
	EVUTIL_SET_SOCKET_ERROR(saved);
	return never;
}
