/* The upstream side: resolve, connect each address, TLS 1.2+ always. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "log.h"
#include "server.h"
#include "tls.h"
#include "upstream.h"
#include "util.h"

/* A dial in progress: DNS answer and the next address to try. */
struct upstream_dial {
	struct session			*s;	/* NULL once cancelled */
	struct evdns_getaddrinfo_request *req;	/* non-NULL while resolving */
	struct evutil_addrinfo		*addrs;
	struct evutil_addrinfo		*next;
	struct event			*fail;	/* reports failure from the loop */
	char				 error[256];
};

static void	upstream_resolved(int err, struct evutil_addrinfo *ai,
		    void *arg);
static void	upstream_try_next(struct upstream_dial *d);
static bool	upstream_connect(struct session *s,
		    const struct evutil_addrinfo *ai);
static void	upstream_failcb(evutil_socket_t fd, short what, void *arg);
static void	upstream_dial_free(struct upstream_dial *d);
static bool	upstream_bev_new(struct session *s, int fd);
static void	upstream_attach(struct session *s);
static void	upstream_readcb(struct bufferevent *bev, void *arg);
static void	upstream_writecb(struct bufferevent *bev, void *arg);
static void	upstream_eventcb(struct bufferevent *bev, short what,
		    void *arg);
static void	upstream_connect_failed(struct session *s, short what);
static void	upstream_tls_failed(struct session *s);
static bool	upstream_never_connected(struct session *s);

/* Resolve and connect to the session's upstream. */
void
upstream_dial(struct session *s)
{
	const struct upstream_conf *up = session_upstream(s);
	struct evutil_addrinfo hints = { .ai_family = AF_UNSPEC,
	    .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
	struct upstream_dial *d = xcalloc(1, sizeof(*d));
	char port[8];

	d->s = s;
	d->fail = evtimer_new(s->server->base, upstream_failcb, d);
	s->dial = d;
	session_set_timer(s, TIMER_UPSTREAM);
	snprintf(port, sizeof(port), "%u", up->port);
	d->req = evdns_getaddrinfo(s->server->dns, up->host, port, &hints,
	    upstream_resolved, d);
}

/* Abandon a dial in progress. */
void
upstream_dial_cancel(struct session *s)
{
	struct upstream_dial *d = s->dial;

	s->dial = NULL;
	if (d->req != NULL) {
		d->s = NULL;
		evdns_getaddrinfo_cancel(d->req);	/* frees d */
		return;
	}
	upstream_dial_free(d);
}

/* Free a dial and its DNS answer. */
static void
upstream_dial_free(struct upstream_dial *d)
{
	if (d->addrs != NULL)
		evutil_freeaddrinfo(d->addrs);
	event_free(d->fail);
	free(d);
}

/* DNS answered: start connecting, or report the failure. */
static void
upstream_resolved(int err, struct evutil_addrinfo *ai, void *arg)
{
	struct upstream_dial *d = arg;
	struct session *s = d->s;

	d->req = NULL;
	if (s == NULL) {
		if (ai != NULL)
			evutil_freeaddrinfo(ai);
		upstream_dial_free(d);
		return;
	}
	if (err != 0) {
		snprintf(d->error, sizeof(d->error), "cannot resolve %s: %s",
		    session_upstream(s)->host,
		    evutil_gai_strerror(err));
		event_active(d->fail, EV_TIMEOUT, 0);
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
		if (upstream_connect(d->s, ai))
			return;
	}
	event_active(d->fail, EV_TIMEOUT, 0);
}

/* Begin a non-blocking connect to one address; false if it failed (the
 * session's end for want of memory counts as begun). */
static bool
upstream_connect(struct session *s, const struct evutil_addrinfo *ai)
{
	const struct upstream_conf *up = session_upstream(s);
	char addr[64];
	int saved;

	if (!upstream_bev_new(s, -1))
		return true;
	if (bufferevent_socket_connect(s->up.bev, ai->ai_addr,
	    ai->ai_addrlen) == 0) {
		s->up.fd = bufferevent_getfd(s->up.bev);
		return true;
	}
	saved = errno;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL,
	    0, NI_NUMERICHOST) != 0)
		snprintf(addr, sizeof(addr), "%s", up->host);
	snprintf(s->dial->error, sizeof(s->dial->error), "connect to %s port "
	    "%u: %s", addr, up->port, strerror(saved));
	side_close(&s->up);
	return false;
}

/* Create the upstream bufferevent on fd (-1: a new socket), with TLS for
 * an implicit-TLS upstream or over an existing socket; false, and the
 * session ends for want of memory, if that failed. */
static bool
upstream_bev_new(struct session *s, int fd)
{
	struct event_base *base = s->server->base;
	SSL *ssl = NULL;

	if (fd != -1 || session_upstream(s)->tls == UPSTREAM_TLS_IMPLICIT) {
		if ((ssl = tls_upstream_new(s->cfg, session_route(s))) != NULL)
			s->up.bev = bufferevent_openssl_socket_new(base, fd,
			    ssl, BUFFEREVENT_SSL_CONNECTING,
			    BEV_OPT_CLOSE_ON_FREE);
	} else
		s->up.bev = bufferevent_socket_new(base, -1, 0);
	if (s->up.bev == NULL) {
		SSL_free(ssl);
		session_no_memory(s, "upstream connection set-up");
		return false;
	}
	s->up.ssl = ssl;
	upstream_attach(s);
	return true;
}

/* Every address failed: tell the protocol, from the event loop. */
static void
upstream_failcb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream_dial *d = arg;
	struct session *s = d->s;
	char reason[sizeof(d->error)];

	(void)fd; (void)what;
	snprintf(reason, sizeof(reason), "%s", d->error[0] != '\0' ?
	    d->error : "no address to connect to");
	s->dial = NULL;
	upstream_dial_free(d);
	s->ops->upstream_failed(s, RESULT_UPSTREAM_UNREACHABLE, reason);
}

/* Install the upstream callbacks on the current bufferevent. */
static void
upstream_attach(struct session *s)
{
	bufferevent_setcb(s->up.bev, upstream_readcb, upstream_writecb,
	    upstream_eventcb, s);
	if (s->up.ssl != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(s->up.bev, 1);
	bufferevent_setwatermark(s->up.bev, EV_READ, 0,
	    4 * (size_t)s->cfg->limits.line_length);
	bufferevent_enable(s->up.bev, EV_READ | EV_WRITE);
}

/* Discard what followed the STARTTLS go-ahead and start the handshake. */
void
upstream_start_tls(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->up.bev);

	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_free(s->up.bev);
	s->up.bev = NULL;
	upstream_bev_new(s, s->up.fd);
}

/* Upstream data arrived: hand it to the protocol. */
static void
upstream_readcb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (!s->closing)
		s->ops->upstream_input(s);
}

/* Upstream output drained below the mark: resume the device. */
static void
upstream_writecb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_up_drained(arg);
}

/* Upstream connected, TLS done, EOF or error. */
static void
upstream_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;
	struct upstream_dial *d = s->dial;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (d != NULL) {
			s->dial = NULL;
			upstream_dial_free(d);
		}
		s->up.tls_up = s->up.ssl != NULL;
		s->up_tls_version = session_tls_version(&s->up);
		s->up_tls_cipher = session_tls_cipher(&s->up);
		if (s->up.tls_up)
			log_debug("session=%s upstream TLS %s %s resumed=%s",
			    s->id, s->up_tls_version, s->up_tls_cipher,
			    SSL_session_reused(s->up.ssl) ? "yes" : "no");
		s->ops->upstream_ready(s);
	} else if (s->closing)
		return;
	else if (s->up.ssl != NULL && !s->up.tls_up)
		upstream_tls_failed(s);
	else if (d != NULL)
		upstream_connect_failed(s, what);
	else {
		s->up.eof = true;
		s->ops->upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    (what & BEV_EVENT_EOF) ? "upstream closed the connection" :
		    "upstream connection failed");
	}
}

/* A TCP connect failed: remember why and try the next address. */
static void
upstream_connect_failed(struct session *s, short what)
{
	struct upstream_dial *d = s->dial;
	int err = EVUTIL_SOCKET_ERROR();

	snprintf(d->error, sizeof(d->error), "connect to %s port %u: %s",
	    session_upstream(s)->host,
	    session_upstream(s)->port,
	    (what & BEV_EVENT_EOF) ? "connection closed" :
	    evutil_socket_error_to_string(err));
	side_close(&s->up);
	upstream_try_next(d);
}

/* Did a dial's TCP connection never come up (refused, unreachable)? An
 * implicit-TLS dial reports that as a failed handshake. */
static bool
upstream_never_connected(struct session *s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int saved = EVUTIL_SOCKET_ERROR();	/* why the connect failed */
	bool never;

	never = s->dial != NULL && getpeername(bufferevent_getfd(s->up.bev),
	    (struct sockaddr *)&ss, &len) == -1;
	EVUTIL_SET_SOCKET_ERROR(saved);
	return never;
}

/* The TLS handshake failed: say why (certificate, version, or closed). */
static void
upstream_tls_failed(struct session *s)
{
	unsigned long err = bufferevent_get_openssl_error(s->up.bev);
	const char *verify = tls_verify_error(s->up.ssl);
	char reason[300], text[256];

	if (upstream_never_connected(s)) {
		upstream_connect_failed(s, BEV_EVENT_ERROR);
		return;
	}
	if (verify != NULL)
		snprintf(reason, sizeof(reason),
		    "upstream certificate not trusted: %s", verify);
	else if (err != 0) {
		ERR_error_string_n(err, text, sizeof(text));
		snprintf(reason, sizeof(reason), "upstream TLS handshake "
		    "failed: %s", text);
	} else
		snprintf(reason, sizeof(reason), "upstream closed the "
		    "connection during the TLS handshake");
	ERR_clear_error();
	if (s->dial != NULL) {		/* implicit TLS: the dial ends here */
		upstream_dial_free(s->dial);
		s->dial = NULL;
	}
	s->ops->upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED, reason);
}
