/* Listening sockets: bind or take from systemd, accept, and when out of
 * descriptors answer "busy" with a reserve descriptor. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "proxy.h"
#include "session.h"
#include "session_env.h"
#include "util.h"

#define LISTEN_BACKLOG		511
#define ACCEPT_BACKOFF_SECONDS	1
#define SHED_LOG_INTERVAL	10	/* seconds between "answered busy" lines */

struct listener {
	struct listener		*next;
	struct session_env	*env;
	struct evconnlistener	*evl;
	struct event		*resume;	/* re-enable after EMFILE */
	struct listener_conf	 conf;		/* own copy of the settings */
	bool			 passed;	/* the socket came from systemd */
	bool			 keep;		/* still in the new config */
	bool			 paused;	/* disabled until descriptors free */
};

/*
 * A descriptor held in reserve (as nginx and relayd do): when accept()
 * fails for want of descriptors, it is closed to take one connection,
 * tell it the relay is busy and close it, then reopened. Clients get an
 * answer instead of waiting in the kernel's backlog.
 */
static int reserve_fd = -1;
static unsigned shed_count;	/* answered busy since the last line */
static time_t shed_logged;

/* Sockets passed by systemd, in LISTEN_FDS order. */
struct listen_fds {
	char			**names;	/* LISTEN_FDNAMES or "unknown" */
	int			 *fds;		/* -1 once taken or closed */
	size_t			  n;
};

static struct listener *listener_find(struct session_env *env,
		    const struct listener_conf *lc);
static struct listener *listener_open(struct session_env *env,
		    const struct listener_conf *lc, struct listen_fds *lf);
static int	listen_fds_claim(struct listen_fds *lf, const char *name);
static void	listener_log_open(const struct listener *l, int fd);
static int	listener_bind(const struct listener_conf *lc);
static void	listener_set_conf(struct listener *l,
		    const struct listener_conf *lc);
static void	listener_free(struct listener *l);
static void	listener_acceptcb(struct evconnlistener *evl, evutil_socket_t fd,
		    struct sockaddr *sa, int salen, void *arg);
static void	listener_errorcb(struct evconnlistener *evl, void *arg);
static void	listener_resumecb(evutil_socket_t fd, short what, void *arg);
static bool	listener_shed(struct listener *l);
static void	listener_log_shed(const struct listener *l);
static void	listener_reserve_open(void);

/* Take the sockets systemd passed; NULL when there are none. */
struct listen_fds *
listen_fds_take(void)
{
	struct listen_fds *lf;
	char **names = NULL;
	int n, i;

	if ((n = sd_listen_fds_with_names(1, &names)) < 0)
		log_warnx("socket activation: %s", strerror(-n));
	if (n <= 0)
		return NULL;
	lf = xcalloc(1, sizeof(*lf));
	lf->names = names;
	lf->n = (size_t)n;
	lf->fds = xcalloc(lf->n, sizeof(*lf->fds));
	for (i = 0; i < n; i++)
		lf->fds[i] = SD_LISTEN_FDS_START + i;
	return lf;
}

/* Close, with a warning, each passed socket no listener took; free lf. */
void
listen_fds_release(struct listen_fds *lf)
{
	size_t i;

	if (lf == NULL)
		return;
	for (i = 0; i < lf->n; i++) {
		if (lf->fds[i] != -1) {
			log_warnx("socket '%s' from systemd (fd %d) is not the "
			    "name of a listener; closed", lf->names[i],
			    lf->fds[i]);
			close(lf->fds[i]);
		}
		free(lf->names[i]);
	}
	free(lf->names);
	free(lf->fds);
	free(lf);
}

/* Take the passed socket named like a listener, if it is a listening TCP
 * socket; -1 if there is none. */
static int
listen_fds_claim(struct listen_fds *lf, const char *name)
{
	size_t i;
	int fd;

	for (i = 0; lf != NULL && i < lf->n; i++) {
		if (lf->fds[i] == -1 || strcmp(lf->names[i], name) != 0)
			continue;
		fd = lf->fds[i];
		lf->fds[i] = -1;
		if (sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0) > 0) {
			evutil_make_socket_nonblocking(fd);
			evutil_make_socket_closeonexec(fd);
			return fd;
		}
		log_warnx("listener %s: socket from systemd (fd %d) is not a "
		    "listening TCP socket; closed", name, fd);
		close(fd);
	}
	return -1;
}

/* Find the open listener for lc: the one from systemd with its name, or
 * the one bound to the same address and port. */
static struct listener *
listener_find(struct session_env *env, const struct listener_conf *lc)
{
	struct listener *l;

	for (l = env->listeners; l != NULL; l = l->next) {
		if (l->passed && strcmp(l->conf.name, lc->name) == 0)
			return l;
		if (!l->passed && l->conf.port == lc->port &&
		    strcmp(l->conf.address, lc->address) == 0)
			return l;
	}
	return NULL;
}

/* Make env's listeners match cfg. */
bool
listeners_apply(struct session_env *env, const struct config *cfg,
    struct listen_fds *lf)
{
	struct listener *l, *fresh = NULL, **lp;
	size_t i;

	listener_reserve_open();
	for (i = 0; i < cfg->nlisteners; i++) {
		if (listener_find(env, &cfg->listeners[i]) != NULL)
			continue;
		l = listener_open(env, &cfg->listeners[i], lf);
		if (l == NULL) {
			while ((l = fresh) != NULL) {
				fresh = l->next;
				listener_free(l);
			}
			return false;
		}
		l->next = fresh;
		fresh = l;
	}
	for (l = env->listeners; l != NULL; l = l->next)
		l->keep = false;
	for (i = 0; i < cfg->nlisteners; i++) {
		if ((l = listener_find(env, &cfg->listeners[i])) != NULL) {
			l->keep = true;
			listener_set_conf(l, &cfg->listeners[i]);
		}
	}
	for (lp = &env->listeners; (l = *lp) != NULL;) {
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
		l->next = env->listeners;
		env->listeners = l;
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

/* Take one listener's socket from systemd or bind it, and register it
 * with the event loop. */
static struct listener *
listener_open(struct session_env *env, const struct listener_conf *lc,
    struct listen_fds *lf)
{
	struct listener *l;
	bool passed;
	int fd;

	passed = (fd = listen_fds_claim(lf, lc->name)) != -1;
	if (!passed && (fd = listener_bind(lc)) == -1)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->env = env;
	l->passed = passed;
	l->evl = evconnlistener_new(env->base, listener_acceptcb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
	    passed ? 0 : LISTEN_BACKLOG, fd);
	if (l->evl == NULL)
		fatalx("cannot create listener for %s", lc->name);
	evconnlistener_set_error_cb(l->evl, listener_errorcb);
	l->resume = evtimer_new(env->base, listener_resumecb, l);
	listener_set_conf(l, lc);
	listener_log_open(l, fd);
	return l;
}

/* Log a new listener with the address its socket is really bound to. */
static void
listener_log_open(const struct listener *l, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(host, sizeof(host), "%s", l->conf.address);
		snprintf(port, sizeof(port), "%u", l->conf.port);
	}
	log_info("listener %s: %s on %s port %s (%s)%s", l->conf.name,
	    proto_name(l->conf.proto), host, port,
	    l->conf.tls == LAN_TLS_IMPLICIT ? "implicit TLS" : "plain",
	    l->passed ? ", socket from systemd" : "");
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
listeners_close(struct session_env *env)
{
	struct listener *l;

	while ((l = env->listeners) != NULL) {
		env->listeners = l->next;
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
	if (l->conf.proxy_protocol)
		proxy_accept(l->env, l->env->cfg, &l->conf, fd, sa, salen);
	else
		session_accept(l->env, l->env->cfg, &l->conf, fd, sa, salen,
		    NULL);
}

/* accept() failed: out of descriptors, answer the client "busy" with the
 * reserve; failing that, pause until a session ends (or a second passes). */
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
	if ((err == EMFILE || err == ENFILE) && listener_shed(l))
		return;
	log_warnx("listener %s: accept: %s; pausing until a session ends",
	    l->conf.name, evutil_socket_error_to_string(err));
	evconnlistener_disable(evl);
	l->paused = true;
	evtimer_add(l->resume, &tv);
}

/* Take one waiting connection with the reserve descriptor, answer it
 * "busy" and close it (true also when none was waiting: Linux reports
 * EMFILE before looking at the queue); false if that failed. */
static bool
listener_shed(struct listener *l)
{
	int fd, err;

	if (reserve_fd == -1)
		return false;
	close(reserve_fd);
	fd = accept4(evconnlistener_get_fd(l->evl), NULL, NULL, SOCK_CLOEXEC);
	err = errno;
	if (fd != -1)
		session_busy_close(l->env->cfg, &l->conf, fd);
	reserve_fd = -1;
	listener_reserve_open();
	if (fd == -1)	/* nobody waiting: accept() said EMFILE first */
		return err == EAGAIN || err == EWOULDBLOCK;
	shed_count++;
	metrics_count_refusal(l->conf.proto, "out_of_descriptors");
	listener_log_shed(l);
	return true;
}

/* Log the connections answered "busy", at most once per interval. */
static void
listener_log_shed(const struct listener *l)
{
	time_t now = time(NULL);

	if (now - shed_logged < SHED_LOG_INTERVAL)
		return;
	log_warnx("listener %s: out of descriptors; %u connection%s answered "
	    "busy and closed", l->conf.name, shed_count,
	    shed_count == 1 ? "" : "s");
	shed_logged = now;
	shed_count = 0;
}

/* Open the reserve descriptor if it is not held. */
static void
listener_reserve_open(void)
{
	if (reserve_fd == -1)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Resume accepting after a pause. */
static void
listener_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd; (void)what;
	listener_reserve_open();
	evconnlistener_enable(l->evl);
	l->paused = false;
}

/* A session ended, so a descriptor is free: resume paused listeners now. */
void
listeners_resume(struct session_env *env)
{
	struct listener *l;

	for (l = env->listeners; l != NULL; l = l->next) {
		if (!l->paused)
			continue;
		event_del(l->resume);
		listener_resumecb(-1, 0, l);
	}
}
