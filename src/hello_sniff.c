/* Clients the allow-list refuses on implicit-TLS listeners (unknown,
 * expired, protocol not allowed): read at most one ClientHello record, for
 * the offered TLS version the census and register keep, within a short
 * time and outside limits.max_sessions, then let the session refuse them
 * without a handshake. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "config.h"
#include "hello_sniff.h"
#include "log.h"
#include "session_env.h"
#include "session.h"
#include "tls_hello_parse.h"

/* One refused client's wait for its first record. */
struct hello_sniff {
	struct event	*ev;
	void		(*done)(struct session *);
	size_t		 len;
	unsigned char	 buf[TLS_HELLO_MAX];
};

static unsigned	hello_sniff_count_address(const struct session *s);
static bool	hello_sniff_wait(struct session *s);
static void	hello_sniff_readcb(evutil_socket_t fd, short what, void *arg);
static bool	hello_sniff_read(struct session *s);
static void	hello_sniff_finish(struct session *s);

/* Count the sessions sniffed now from the session's address. */
static unsigned
hello_sniff_count_address(const struct session *s)
{
	const struct session *t;
	unsigned n = 0;

	TAILQ_FOREACH(t, &s->env->sessions, entry)
		if (t->sniff != NULL && strcmp(t->client, s->client) == 0)
			n++;
	return n;
}

/* Start sniffing the session's first bytes, within the caps. */
bool
hello_sniff_start(struct session *s, void (*done)(struct session *))
{
	struct hello_sniff *sn;

	if (s->env->nsniffing >= HELLO_SNIFF_MAX ||
	    hello_sniff_count_address(s) >= HELLO_SNIFF_PER_ADDRESS)
		return false;
	sn = calloc(1, sizeof(*sn));
	if (sn == NULL)
		return false;
	sn->ev = event_new(s->env->base, s->lan.fd, EV_READ,
	    hello_sniff_readcb, s);
	sn->done = done;
	s->sniff = sn;
	s->env->nsniffing++;
	if (sn->ev != NULL && hello_sniff_wait(s))
		return true;
	hello_sniff_end(s);
	return false;
}

/* Wait for more bytes until the time since accept runs out; false when
 * it has or the wait could not be set. */
static bool
hello_sniff_wait(struct session *s)
{
	struct timespec now;
	struct timeval tv;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = HELLO_SNIFF_TIMEOUT * 1000L -
	    (now.tv_sec - s->started.tv_sec) * 1000L -
	    (now.tv_nsec - s->started.tv_nsec) / 1000000L;
	if (ms <= 0)
		return false;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return event_add(s->sniff->ev, &tv) == 0;
}

/* Bytes came, or the time ran out. */
static void
hello_sniff_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	if ((what & EV_READ) && !hello_sniff_read(s) && hello_sniff_wait(s))
		return;
	hello_sniff_finish(s);
}

/* Read what came and parse it: true once the sniff is over (a hello
 * parsed, a non-hello, end of stream or an error). */
static bool
hello_sniff_read(struct session *s)
{
	struct hello_sniff *sn = s->sniff;
	enum tls_hello_status st;
	ssize_t n;
	int v = 0;

	n = recv(s->lan.fd, sn->buf + sn->len, sizeof(sn->buf) - sn->len,
	    MSG_DONTWAIT);
	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR;
	if (n == 0)
		return true;
	sn->len += (size_t)n;
	st = tls_hello_parse(sn->buf, sn->len, &v);
	if (st == TLS_HELLO_DONE)
		snprintf(s->sniffed_hello, sizeof(s->sniffed_hello),
		    "offered_max=%s", tls_version_name(v));
	return st != TLS_HELLO_NEED_MORE;
}

/* The sniff is over: free it and let the session refuse the client. */
static void
hello_sniff_finish(struct session *s)
{
	void (*done)(struct session *) = s->sniff->done;

	log_debug("session %s: ClientHello sniffed: %s", s->id,
	    s->sniffed_hello[0] != '\0' ? s->sniffed_hello : "none");
	hello_sniff_end(s);
	done(s);
}

/* Stop waiting and free the sniff. */
void
hello_sniff_end(struct session *s)
{
	if (s->sniff == NULL)
		return;
	if (s->sniff->ev != NULL)
		event_free(s->sniff->ev);
	free(s->sniff);
	s->sniff = NULL;
	s->env->nsniffing--;
}
