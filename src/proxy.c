/* Connections on a proxy_protocol listener, from accept until the PROXY
 * header has been read: nothing is sent to the peer in the meantime. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "devices.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "proxy_parse.h"
#include "session.h"
#include "session_env.h"
#include "util.h"

#define PROXY_HEADER_TIMEOUT	5	/* seconds for the whole header */
#define STR(x)			STR2(x)
#define STR2(x)			#x

/* One connection waiting for its header. */
struct proxy_wait {
	TAILQ_ENTRY(proxy_wait)	 entry;
	struct session_env	*env;
	struct config		*cfg;	/* reference held while waiting */
	struct listener_conf	 lc;	/* own copy, name duplicated */
	int			 fd;
	struct event		*ev;	/* readable */
	struct event		*deadline;
	char			 proxy[64]; /* the proxy's address */
	uint8_t			 buf[PROXY_HEADER_MAX];
	size_t			 len;	/* header bytes consumed so far */
};

static TAILQ_HEAD(, proxy_wait) waits = TAILQ_HEAD_INITIALIZER(waits);

static bool	proxy_trusted(const struct config *cfg,
		    const struct sockaddr *sa);
static void	proxy_log_refusal(const char *proxy,
		    const struct listener_conf *lc, const char *why);
static void	proxy_refuse(struct proxy_wait *w, const char *why);
static bool	proxy_consume(struct proxy_wait *w, size_t n);
static void	proxy_done(struct proxy_wait *w, const struct proxy_header *h);
static void	proxy_free(struct proxy_wait *w, bool close_fd);
static void	proxy_readcb(evutil_socket_t fd, short what, void *arg);
static void	proxy_deadlinecb(evutil_socket_t fd, short what, void *arg);

/* Accept a connection on a proxy_protocol listener and wait for its
 * header. */
void
proxy_accept(struct session_env *env, struct config *cfg,
    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct timeval tv = { PROXY_HEADER_TIMEOUT, 0 };
	struct proxy_wait *w;
	char proxy[sizeof(w->proxy)];

	sockaddr_format(sa, salen, proxy, sizeof(proxy));
	if (!proxy_trusted(cfg, sa)) {
		proxy_log_refusal(proxy, lc, "not a trusted proxy");
		metrics_count_refusal(lc->proto, "untrusted_proxy");
		close(fd);
		return;
	}
	w = xcalloc(1, sizeof(*w));
	w->env = env;
	w->cfg = config_ref(cfg);
	w->lc = *lc;
	w->lc.name = xstrdup(lc->name);
	w->lc.address = NULL;
	w->fd = fd;
	snprintf(w->proxy, sizeof(w->proxy), "%s", proxy);
	w->ev = event_new(env->base, fd, EV_READ | EV_PERSIST, proxy_readcb,
	    w);
	w->deadline = evtimer_new(env->base, proxy_deadlinecb, w);
	event_add(w->ev, NULL);
	evtimer_add(w->deadline, &tv);
	TAILQ_INSERT_TAIL(&waits, w, entry);
}

/* Is the peer one of trusted_proxies? */
static bool
proxy_trusted(const struct config *cfg, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < cfg->ntrusted_proxies; i++)
		if (cidr_match(&cfg->trusted_proxies[i], sa))
			return true;
	return false;
}

/* The one line of a connection closed before its session started. */
static void
proxy_log_refusal(const char *proxy, const struct listener_conf *lc,
    const char *why)
{
	struct log_field f[] = {
		{ "event", "proxy_refused" }, { "proxy", proxy },
		{ "listener", lc->name }, { "protocol", proto_name(lc->proto) },
		{ "reason", why },
	};

	log_fields(LOG_WARNING, f, nitems(f));
}

/* Close a waiting connection unanswered, saying why. */
static void
proxy_refuse(struct proxy_wait *w, const char *why)
{
	proxy_log_refusal(w->proxy, &w->lc, why);
	metrics_count_refusal(w->lc.proto, "proxy_header");
	proxy_free(w, true);
}

/* Header bytes arrived: peek at them, and take off the socket only what
 * belongs to the header, so the client's first bytes stay for the
 * session. */
static void
proxy_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *w = arg;
	struct proxy_header h;
	ssize_t n;

	(void)what;
	n = recv(fd, w->buf + w->len, sizeof(w->buf) - w->len, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		proxy_refuse(w, n == -1 ? strerror(errno) : w->len == 0 ?
		    "closed without a PROXY header" :
		    "closed in the middle of the PROXY header");
		return;
	}
	switch (proxy_parse(w->buf, w->len + (size_t)n, &h)) {
	case PROXY_NEED_MORE:
		if (proxy_consume(w, (size_t)n))
			return;
		break;
	case PROXY_DONE:
		if (proxy_consume(w, h.consumed - w->len)) {
			proxy_done(w, &h);
			return;
		}
		break;
	case PROXY_ERROR:
		proxy_refuse(w, h.error);
		return;
	}
	proxy_refuse(w, "cannot read the PROXY header");
}

/* Read n bytes already peeked at; false if the socket gave fewer. */
static bool
proxy_consume(struct proxy_wait *w, size_t n)
{
	ssize_t got = recv(w->fd, w->buf + w->len, n, 0);

	if (got < 0 || (size_t)got != n)
		return false;
	w->len += n;
	return true;
}

/* A whole header: a health check ends here, a client's connection
 * becomes a session with the header's source as its address. */
static void
proxy_done(struct proxy_wait *w, const struct proxy_header *h)
{
	socklen_t salen = h->src.ss_family == AF_INET ?
	    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);

	if (h->command == PROXY_CMD_LOCAL) {
		log_debug("proxy %s: health check on listener %s", w->proxy,
		    w->lc.name);
		metrics_count_health_check();
		proxy_free(w, true);
		return;
	}
	if (w->env->draining) {
		proxy_refuse(w, "relay shutting down");
		return;
	}
	session_accept(w->env, w->cfg, &w->lc, w->fd,
	    (const struct sockaddr *)&h->src, salen, w->proxy);
	proxy_free(w, false);
}

/* The header did not arrive in time. */
static void
proxy_deadlinecb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_wait *w = arg;

	(void)fd; (void)what;
	proxy_refuse(w, w->len == 0 ? "no PROXY header within "
	    STR(PROXY_HEADER_TIMEOUT) " s" : "PROXY header incomplete after "
	    STR(PROXY_HEADER_TIMEOUT) " s");
}

/* Forget a waiting connection; close it unless a session took it. */
static void
proxy_free(struct proxy_wait *w, bool close_fd)
{
	TAILQ_REMOVE(&waits, w, entry);
	event_free(w->ev);
	event_free(w->deadline);
	if (close_fd)
		close(w->fd);
	config_unref(w->cfg);
	free(w->lc.name);
	free(w);
}

/* Close every connection still waiting for its header. */
void
proxy_waits_free(void)
{
	struct proxy_wait *w;

	while ((w = TAILQ_FIRST(&waits)) != NULL)
		proxy_free(w, true);
}
