/* Listening sockets: bind, accept, back off when out of descriptors. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "listener.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define LISTEN_BACKLOG		511
#define ACCEPT_BACKOFF_SECONDS	1

struct listener {
	struct listener		*next;
	struct server		*srv;
	struct evconnlistener	*evl;
	struct event		*resume;	/* re-enable after EMFILE */
	struct listener_conf	 conf;		/* own copy of the settings */
	bool			 keep;		/* still in the new config */
};

static struct listener *listener_find(struct server *srv,
		    const struct listener_conf *lc);
static struct listener *listener_open(struct server *srv,
		    const struct listener_conf *lc);
static int	listener_bind(const struct listener_conf *lc);
static void	listener_set_conf(struct listener *l,
		    const struct listener_conf *lc);
static void	listener_free(struct listener *l);
static void	listener_acceptcb(struct evconnlistener *evl, evutil_socket_t fd,
		    struct sockaddr *sa, int salen, void *arg);
static void	listener_errorcb(struct evconnlistener *evl, void *arg);
static void	listener_resumecb(evutil_socket_t fd, short what, void *arg);

/* Find the open listener bound to the same address and port. */
static struct listener *
listener_find(struct server *srv, const struct listener_conf *lc)
{
	struct listener *l;

	for (l = srv->listeners; l != NULL; l = l->next)
		if (l->conf.port == lc->port &&
		    strcmp(l->conf.address, lc->address) == 0)
			return l;
	return NULL;
}

/* Make the server's listeners match cfg. */
bool
listeners_apply(struct server *srv, const struct config *cfg)
{
	struct listener *l, *fresh = NULL, **lp;
	size_t i;

	for (i = 0; i < cfg->nlisteners; i++) {
		if (listener_find(srv, &cfg->listeners[i]) != NULL)
			continue;
		if ((l = listener_open(srv, &cfg->listeners[i])) == NULL) {
			while ((l = fresh) != NULL) {
				fresh = l->next;
				listener_free(l);
			}
			return false;
		}
		l->next = fresh;
		fresh = l;
	}
	for (l = srv->listeners; l != NULL; l = l->next)
		l->keep = false;
	for (i = 0; i < cfg->nlisteners; i++) {
		if ((l = listener_find(srv, &cfg->listeners[i])) != NULL) {
			l->keep = true;
			listener_set_conf(l, &cfg->listeners[i]);
		}
	}
	for (lp = &srv->listeners; (l = *lp) != NULL;) {
		if (l->keep) {
			lp = &l->next;
			continue;
		}
		log_info("listener %s on %s port %u closed", l->conf.name,
		    l->conf.address, l->conf.port);
		*lp = l->next;
		listener_free(l);
	}
	while ((l = fresh) != NULL) {
		fresh = l->next;
		l->next = srv->listeners;
		srv->listeners = l;
	}
	return true;
}

/* Copy a listener's settings (name, protocol, TLS mode) from the config. */
static void
listener_set_conf(struct listener *l, const struct listener_conf *lc)
{
	free(l->conf.name);
	free(l->conf.address);
	l->conf = *lc;
	l->conf.name = xstrdup(lc->name);
	l->conf.address = xstrdup(lc->address);
}

/* Bind one listener and register it with the event loop. */
static struct listener *
listener_open(struct server *srv, const struct listener_conf *lc)
{
	struct listener *l;
	int fd;

	if ((fd = listener_bind(lc)) == -1)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->srv = srv;
	l->evl = evconnlistener_new(srv->base, listener_acceptcb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, LISTEN_BACKLOG, fd);
	if (l->evl == NULL)
		fatalx("cannot create listener for %s", lc->name);
	evconnlistener_set_error_cb(l->evl, listener_errorcb);
	l->resume = evtimer_new(srv->base, listener_resumecb, l);
	listener_set_conf(l, lc);
	log_info("listener %s: %s on %s port %u (%s)", lc->name,
	    proto_name(lc->proto), lc->address, lc->port,
	    lc->tls == LAN_TLS_IMPLICIT ? "implicit TLS" : "plain");
	return l;
}

/* Create, bind and return a non-blocking socket; -1 (logged) on error. */
static int
listener_bind(const struct listener_conf *lc)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, on = 1;

	if (inet_pton(AF_INET, lc->address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(lc->port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, lc->address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(lc->port);
		len = sizeof(*sin6);
	} else {
		log_warnx("listener %s: bad address %s", lc->name, lc->address);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		log_warn("listener %s: socket", lc->name);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1) {
		log_warn("listener %s: cannot bind %s port %u", lc->name,
		    lc->address, lc->port);
		close(fd);
		return -1;
	}
	return fd;
}

/* Close and free one listener. */
static void
listener_free(struct listener *l)
{
	evconnlistener_free(l->evl);
	event_free(l->resume);
	free(l->conf.name);
	free(l->conf.address);
	free(l);
}

/* Close every listener (at shutdown). */
void
listeners_close(struct server *srv)
{
	struct listener *l;

	while ((l = srv->listeners) != NULL) {
		srv->listeners = l->next;
		listener_free(l);
	}
}

/* A new connection: start a session under the current config. */
static void
listener_acceptcb(struct evconnlistener *evl, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;

	(void)evl;
	session_accept(l->srv, l->srv->cfg, &l->conf, fd, sa, salen);
}

/* accept() failed: pause this listener briefly when out of descriptors. */
static void
listener_errorcb(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { ACCEPT_BACKOFF_SECONDS, 0 };
	int err = EVUTIL_SOCKET_ERROR();

	if (err != EMFILE && err != ENFILE && err != ENOBUFS &&
	    err != ENOMEM) {
		log_warnx("listener %s: accept: %s", l->conf.name,
		    evutil_socket_error_to_string(err));
		return;
	}
	log_warnx("listener %s: accept: %s; pausing for %d s", l->conf.name,
	    evutil_socket_error_to_string(err), ACCEPT_BACKOFF_SECONDS);
	evconnlistener_disable(evl);
	evtimer_add(l->resume, &tv);
}

/* Resume accepting after a pause. */
static void
listener_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd; (void)what;
	evconnlistener_enable(l->evl);
}
