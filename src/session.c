/* The generic session: LAN side, timer, STARTTLS swap, logging, teardown. */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "log.h"
#include "mailboxes.h"
#include "msgid.h"
#include "oauth.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "upstream.h"
#include "util.h"
#include "verifier.h"

#define SESSION_FLUSH_TIMEOUT	10	/* seconds to deliver a final reply */
#define SESSION_HIGH_WATER	(256 * 1024) /* upstream output bytes */

extern const struct proto_ops smtp_ops;
extern const struct proto_ops imap_ops;
extern const struct proto_ops pop3_ops;

static const struct proto_ops *const proto_table[PROTO_COUNT] = {
	[PROTO_SMTP] = &smtp_ops,
	[PROTO_IMAP] = &imap_ops,
	[PROTO_POP3] = &pop3_ops,
};

static const char *const result_names[] = {
	[RESULT_OK] = "ok",
	[RESULT_AUTH_FAILED] = "auth_failed",
	[RESULT_UPSTREAM_UNREACHABLE] = "upstream_unreachable",
	[RESULT_UPSTREAM_TLS_FAILED] = "upstream_tls_failed",
	[RESULT_UPSTREAM_ERROR] = "upstream_error",
	[RESULT_LAN_TLS_FAILED] = "lan_tls_failed",
	[RESULT_TIMEOUT] = "timeout",
	[RESULT_CLIENT_CLOSED] = "client_closed",
	[RESULT_PROTOCOL_ERROR] = "protocol_error",
	[RESULT_INJECTION] = "injection",
	[RESULT_LINE_TOO_LONG] = "line_too_long",
	[RESULT_SHUTDOWN] = "shutdown",
	[RESULT_REFUSED] = "refused",
};

/* The MESSAGE_ID of each refusal by the allow-list. */
static const char *const refusal_msgids[] = {
	[DEVICE_UNKNOWN] = MSGID_REFUSED_UNKNOWN,
	[DEVICE_EXPIRED] = MSGID_REFUSED_EXPIRED,
	[DEVICE_PROTO_DENIED] = MSGID_REFUSED_PROTOCOL,
};

static void	session_make_id(char *id, size_t len);
static void	session_format_client(struct session *s);
static void	session_identify(struct session *s);
static void	session_refuse(struct session *s, enum device_verdict v);
static bool	session_over_limits(struct session *s);
static void	session_log_start(struct session *s);
static void	session_log_end(struct session *s);
static const char *session_end_msgid(enum session_result r);
static int	session_days_left(const struct session *s, char *sunset,
		    size_t len);
static void	session_lan_attach(struct session *s);
static void	session_lan_swap_to_tls(struct session *s);
static void	session_lan_tls_failed(struct session *s);
static void	session_secret_checked(void *arg, bool match);
static void	session_token_cb(void *arg, const char *token,
		    const char *error);
static void	session_lan_drained(struct session *s);
static void	session_lan_readcb(struct bufferevent *bev, void *arg);
static void	session_lan_writecb(struct bufferevent *bev, void *arg);
static void	session_lan_eventcb(struct bufferevent *bev, short what,
		    void *arg);
static void	session_count_in(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	session_count_out(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	session_lan_send_delayed(struct session *s);
static void	session_timercb(evutil_socket_t fd, short what, void *arg);

/* Is there a state machine for this protocol? */
bool
session_proto_supported(enum proto proto)
{
	return proto_table[proto] != NULL;
}

/* The route of the session's device for the session's protocol. */
enum route
session_route(const struct session *s)
{
	return route_of(s->dev, s->ops->proto);
}

/* The upstream settings of the session's route. */
const struct upstream_conf *
session_upstream(const struct session *s)
{
	return &s->cfg->upstreams[session_route(s)];
}

/* The log's name for a session result. */
const char *
session_result_name(enum session_result r)
{
	return result_names[r];
}

/* A random-prefixed, increasing session id of 16 hex digits. */
static void
session_make_id(char *id, size_t len)
{
	static uint64_t next;

	if (next == 0) {
		if (RAND_bytes((unsigned char *)&next, sizeof(next)) != 1)
			next = (uint64_t)time(NULL) << 20;
		next |= 1;
	}
	snprintf(id, len, "%016llx", (unsigned long long)next++);
}

/* Accept a LAN connection: identify the device and start the protocol. */
void
session_accept(struct server *srv, struct config *cfg,
    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session *s = xcalloc(1, sizeof(*s));

	session_make_id(s->id, sizeof(s->id));
	s->server = srv;
	s->cfg = config_ref(cfg);
	s->ops = proto_table[lc->proto];
	s->listener_name = xstrdup(lc->name);
	s->lan_mode = lc->tls;
	memcpy(&s->peer, sa, salen);
	session_format_client(s);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	s->lan.fd = fd;
	s->up.fd = -1;
	s->up_tls_version = s->up_tls_cipher = "none";
	s->timer = evtimer_new(srv->base, session_timercb, s);
	server_add_session(srv, s);
	if (lc->tls == LAN_TLS_IMPLICIT) {
		session_set_timer(s, TIMER_PRELOGIN);
		session_lan_swap_to_tls(s);
		return;
	}
	s->lan.bev = bufferevent_socket_new(srv->base, fd, 0);
	session_lan_attach(s);
	session_identify(s);
}

/* Write the numeric client address, without the v4-mapped prefix. */
static void
session_format_client(struct session *s)
{
	if (getnameinfo((struct sockaddr *)&s->peer, sizeof(s->peer),
	    s->client, sizeof(s->client), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(s->client, sizeof(s->client), "unknown");
	if (strncmp(s->client, "::ffff:", 7) == 0 &&
	    strchr(s->client + 7, '.') != NULL)
		memmove(s->client, s->client + 7, strlen(s->client + 7) + 1);
}

/* Check the allow-list and limits, then greet or refuse the device. */
static void
session_identify(struct session *s)
{
	enum device_verdict v;

	v = devices_check(s->cfg, (struct sockaddr *)&s->peer, s->ops->proto,
	    time(NULL), &s->dev);
	if (v != DEVICE_ALLOWED) {
		session_refuse(s, v);
		return;
	}
	if (session_over_limits(s))
		return;
	session_log_start(s);
	session_set_timer(s, TIMER_PRELOGIN);
	s->ops->start(s);
}

/* Refuse a device the allow-list does not admit now, and log why. */
static void
session_refuse(struct session *s, enum device_verdict v)
{
	char why[256], sunset[16], days[16];
	const char *name = s->dev != NULL ? s->dev->name : NULL;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "refused" },
		{ "reason", device_verdict_name(v) }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name }, { "device", name },
		{ "sunset", NULL }, { "days_left", NULL },
	};

	if (s->dev != NULL) {
		snprintf(days, sizeof(days), "%d",
		    session_days_left(s, sunset, sizeof(sunset)));
		f[7].value = sunset;
		f[8].value = days;
	}
	if (v == DEVICE_UNKNOWN)
		snprintf(why, sizeof(why), "%s is not an allowed device",
		    s->client);
	else if (v == DEVICE_EXPIRED)
		snprintf(why, sizeof(why), "access for device %s ended on %s "
		    "(sunset date)", name, sunset);
	else
		snprintf(why, sizeof(why), "device %s may not use %s", name,
		    proto_name(s->ops->proto));
	log_event(LOG_WARNING, refusal_msgids[v], f, nitems(f));
	s->ops->refuse(s, false, why);
	session_close_after_flush(s, RESULT_REFUSED, device_verdict_name(v));
}

/* Refuse with a temporary error when the session limits are reached. */
static bool
session_over_limits(struct session *s)
{
	const struct limits *lim = &s->cfg->limits;
	const char *why;
	char sunset[16], days[16];
	struct log_field f[] = {
		{ "session", s->id }, { "event", "refused" },
		{ "reason", "busy" }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name }, { "device", s->dev->name },
		{ "detail", NULL }, { "sunset", sunset }, { "days_left", days },
	};

	if (s->server->nsessions > lim->max_sessions)
		why = "too many sessions";
	else if (server_device_sessions(s->server, s->dev) >
	    lim->max_sessions_per_device)
		why = "too many sessions for this device";
	else
		return false;
	f[7].value = why;
	snprintf(days, sizeof(days), "%d",
	    session_days_left(s, sunset, sizeof(sunset)));
	log_event(LOG_WARNING, MSGID_REFUSED_BUSY, f, nitems(f));
	s->ops->refuse(s, true, why);
	session_close_after_flush(s, RESULT_REFUSED, "busy");
	return true;
}

/* Days left for the session's device; fills the sunset date text. */
static int
session_days_left(const struct session *s, char *sunset, size_t len)
{
	date_format(s->dev->sunset, sunset, len);
	return (int)device_days_left(s->dev, time(NULL));
}

/* Log the session start line with the device and its sunset. */
static void
session_log_start(struct session *s)
{
	char sunset[16], days[16];
	int left = session_days_left(s, sunset, sizeof(sunset));
	struct log_field f[] = {
		{ "session", s->id }, { "event", "start" },
		{ "device", s->dev->name }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name },
		{ "lan_tls", session_tls_version(&s->lan) },
		{ "sunset", sunset }, { "days_left", days },
	};

	snprintf(days, sizeof(days), "%d", left);
	log_fields(left <= (int)s->cfg->warn_days ? LOG_WARNING : LOG_INFO,
	    f, nitems(f));
}

/* Log the one summary line of a session that got past identification. */
static void
session_log_end(struct session *s)
{
	char sunset[16], days[16], in[24], out[24], msgs[16], dur[24];
	char upstream[300];
	const struct upstream_conf *up = session_upstream(s);
	struct timespec now;
	int left = session_days_left(s, sunset, sizeof(sunset));
	struct log_field f[] = {
		{ "session", s->id }, { "event", "end" },
		{ "device", s->dev->name }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "lan_tls", session_tls_version(&s->lan) },
		{ "lan_cipher", session_tls_cipher(&s->lan) },
		{ "upstream", upstream },
		{ "upstream_tls", s->up_tls_version },
		{ "upstream_cipher", s->up_tls_cipher },
		{ "user", s->user[0] != '\0' ? s->user : NULL },
		{ "result", session_result_name(s->result) },
		{ "reason", s->reason },
		{ "bytes_in", in }, { "bytes_out", out },
		{ "messages", msgs }, { "duration", dur },
		{ "sunset", sunset }, { "days_left", days },
	};

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(upstream, sizeof(upstream), "%s:%u", up->host, up->port);
	snprintf(in, sizeof(in), "%llu", (unsigned long long)s->bytes_in);
	snprintf(out, sizeof(out), "%llu", (unsigned long long)s->bytes_out);
	snprintf(msgs, sizeof(msgs), "%u", s->messages);
	snprintf(dur, sizeof(dur), "%.3f", (double)(now.tv_sec -
	    s->started.tv_sec) + (now.tv_nsec - s->started.tv_nsec) / 1e9);
	snprintf(days, sizeof(days), "%d", left);
	log_event(left <= (int)s->cfg->warn_days || s->result != RESULT_OK ?
	    LOG_WARNING : LOG_INFO, session_end_msgid(s->result), f,
	    nitems(f));
}

/* The MESSAGE_ID of a summary line: TLS failures have their own. */
static const char *
session_end_msgid(enum session_result r)
{
	switch (r) {
	case RESULT_UPSTREAM_TLS_FAILED:
		return MSGID_UPSTREAM_TLS_FAILED;
	case RESULT_LAN_TLS_FAILED:
		return MSGID_LAN_TLS_FAILED;
	default:
		return MSGID_SESSION_END;
	}
}

/* The negotiated TLS version of a side, or "none". */
const char *
session_tls_version(const struct side *side)
{
	if (side->ssl == NULL || !side->tls_up)
		return "none";
	return SSL_get_version(side->ssl);
}

/* The negotiated cipher of a side, or "none". */
const char *
session_tls_cipher(const struct side *side)
{
	if (side->ssl == NULL || !side->tls_up)
		return "none";
	return SSL_get_cipher_name(side->ssl);
}

/* Install callbacks and byte counters on the current LAN bufferevent. */
static void
session_lan_attach(struct session *s)
{
	struct bufferevent *bev = s->lan.bev;

	bufferevent_setcb(bev, session_lan_readcb, session_lan_writecb,
	    session_lan_eventcb, s);
	evbuffer_add_cb(bufferevent_get_input(bev), session_count_in, s);
	evbuffer_add_cb(bufferevent_get_output(bev), session_count_out, s);
	bufferevent_setwatermark(bev, EV_READ, 0,
	    4 * (size_t)s->cfg->limits.line_length);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* Count bytes arriving from the device. */
static void
session_count_in(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	(void)buf;
	s->bytes_in += info->n_added;
}

/* Count bytes sent to the device. */
static void
session_count_out(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct session *s = arg;

	(void)buf;
	s->bytes_out += info->n_added;
}

/* Replace the LAN bufferevent by a TLS one on the same socket. */
static void
session_lan_swap_to_tls(struct session *s)
{
	SSL *ssl = tls_lan_new(s->cfg);

	if (ssl == NULL)
		fatalx("session %s: cannot create LAN TLS object", s->id);
	if (s->lan.bev != NULL)
		bufferevent_free(s->lan.bev);
	s->lan.bev = bufferevent_openssl_socket_new(s->server->base, s->lan.fd,
	    ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (s->lan.bev == NULL)
		fatalx("session %s: cannot create LAN TLS bufferevent", s->id);
	s->lan.ssl = ssl;
	bufferevent_openssl_set_allow_dirty_shutdown(s->lan.bev, 1);
	session_lan_attach(s);
}

/* Start TLS on the LAN side once everything queued so far is flushed. */
void
session_lan_start_tls(struct session *s)
{
	bufferevent_disable(s->lan.bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->lan.bev)) == 0)
		session_lan_swap_to_tls(s);
	else
		s->lan_tls_pending = true;
}

/* Are there bytes after the command just read (a STARTTLS injection)? */
bool
session_lan_has_pending(struct session *s)
{
	return evbuffer_get_length(bufferevent_get_input(s->lan.bev)) > 0;
}

/* Stop or resume reading from the device. */
void
session_lan_pause(struct session *s, bool paused)
{
	if (paused)
		bufferevent_disable(s->lan.bev, EV_READ);
	else if (!s->closing)
		bufferevent_enable(s->lan.bev, EV_READ);
}

/* Pause the device while the upstream's output is over the high-water
 * mark; true if paused. */
bool
session_up_congested(struct session *s)
{
	struct bufferevent *up = s->up.bev;

	if (evbuffer_get_length(bufferevent_get_output(up)) < SESSION_HIGH_WATER)
		return false;
	s->lan_congested = true;
	bufferevent_setwatermark(up, EV_WRITE, SESSION_HIGH_WATER / 2, 0);
	session_lan_pause(s, true);
	return true;
}

/* The upstream's output drained: resume a paused device. */
void
session_up_drained(struct session *s)
{
	if (!s->lan_congested)
		return;
	s->lan_congested = false;
	bufferevent_setwatermark(s->up.bev, EV_WRITE, 0, 0);
	session_lan_pause(s, false);
	s->ops->lan_input(s);
}

/* Pause the upstream while the device's output is over the high-water
 * mark; true if paused. */
bool
session_lan_congested(struct session *s)
{
	struct bufferevent *lan = s->lan.bev;

	if (evbuffer_get_length(bufferevent_get_output(lan)) <
	    SESSION_HIGH_WATER)
		return false;
	s->up_congested = true;
	bufferevent_setwatermark(lan, EV_WRITE, SESSION_HIGH_WATER / 2, 0);
	bufferevent_disable(s->up.bev, EV_READ);
	return true;
}

/* The device's output drained: resume a paused upstream. */
static void
session_lan_drained(struct session *s)
{
	s->up_congested = false;
	bufferevent_setwatermark(s->lan.bev, EV_WRITE, 0, 0);
	bufferevent_enable(s->up.bev, EV_READ);
	s->ops->upstream_input(s);
}

/* Move everything buffered on one side to the other side's output. */
bool
session_pipe(struct session *s, enum pipe_dir dir)
{
	struct side *from = dir == PIPE_TO_UPSTREAM ? &s->lan : &s->up;
	struct side *to = dir == PIPE_TO_UPSTREAM ? &s->up : &s->lan;

	evbuffer_add_buffer(bufferevent_get_output(to->bev),
	    bufferevent_get_input(from->bev));
	if (dir == PIPE_TO_UPSTREAM)
		return !session_up_congested(s);
	return !session_lan_congested(s);
}

/* Log a failed LAN handshake with what the client offered, and end. */
static void
session_lan_tls_failed(struct session *s)
{
	const char *hello = tls_client_hello(s->lan.ssl);
	unsigned long code = bufferevent_get_openssl_error(s->lan.bev);
	char err[256], *reason;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "lan_tls_failed" },
		{ "client", s->client }, { "listener", s->listener_name },
		{ "protocol", proto_name(s->ops->proto) }, { "reason", NULL },
	};

	if (code != 0)	/* libevent takes the error off OpenSSL's queue */
		ERR_error_string_n(code, err, sizeof(err));
	else
		tls_error_string(err, sizeof(err));
	xasprintf(&reason, "%s; %s", err, hello != NULL ? hello :
	    "no ClientHello received");
	f[5].value = reason;
	if (s->dev == NULL)
		log_event(LOG_WARNING, MSGID_LAN_TLS_FAILED, f, nitems(f));
	session_close(s, RESULT_LAN_TLS_FAILED, reason);
	free(reason);
}

/* LAN data arrived: hand it to the protocol. */
static void
session_lan_readcb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	if (s->closing) {
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		return;
	}
	s->ops->lan_input(s);
}

/* LAN output drained: finish a close or a pending STARTTLS. */
static void
session_lan_writecb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (s->closing)
		session_close(s, s->result, s->reason);
	else if (s->lan_tls_pending) {
		s->lan_tls_pending = false;
		session_lan_swap_to_tls(s);
	} else if (s->up_congested)
		session_lan_drained(s);
}

/* LAN handshake done, EOF or error. */
static void
session_lan_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	switch (what & (BEV_EVENT_CONNECTED | BEV_EVENT_EOF |
	    BEV_EVENT_ERROR)) {
	case BEV_EVENT_CONNECTED:
		s->lan.tls_up = true;
		if (s->dev == NULL)
			session_identify(s);
		else
			s->ops->lan_tls_ready(s);
		return;
	case BEV_EVENT_EOF:
	case BEV_EVENT_ERROR:
		if (s->lan.ssl != NULL && !s->lan.tls_up) {
			session_lan_tls_failed(s);
			return;
		}
		s->lan.eof = true;
		if (s->closing)
			session_close(s, s->result, s->reason);
		else
			s->ops->lan_input(s);
		return;
	default:
		fatalx("session %s: unexpected LAN event 0x%x", s->id, what);
	}
}

/* Queue bytes to the device. */
void
session_lan_write(struct session *s, const void *data, size_t len)
{
	evbuffer_add(bufferevent_get_output(s->lan.bev), data, len);
}

/* Queue a formatted line (CRLF added) to the device. */
void
session_lan_printf(struct session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->lan.bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* Queue a formatted line (CRLF added) to the upstream. */
void
session_up_printf(struct session *s, const char *fmt, ...)
{
	struct evbuffer *out = bufferevent_get_output(s->up.bev);
	va_list ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* Read one line (LF or CRLF terminated) into buf of size bytes: the line,
 * its terminator included, may be at most size - 1 bytes long. */
enum line_status
session_read_line(struct side *side, char *buf, size_t size, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(side->bev);
	struct evbuffer_ptr eol;
	size_t n;

	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0)
		return evbuffer_get_length(in) >= size - 1 ? LINE_TOO_LONG :
		    LINE_NONE;
	if ((size_t)eol.pos >= size - 1)
		return LINE_TOO_LONG;
	n = (size_t)eol.pos;
	evbuffer_remove(in, buf, n);
	evbuffer_drain(in, 1);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return LINE_OK;
}

/* Arm the session's timer for kind with the configured number of seconds. */
void
session_set_timer(struct session *s, enum session_timer kind)
{
	const struct limits *lim = &s->cfg->limits;

	switch (kind) {
	case TIMER_PRELOGIN:
		session_arm_timer(s, kind, lim->prelogin_timeout);
		break;
	case TIMER_IDLE:
		session_arm_timer(s, kind, lim->idle_timeout);
		break;
	case TIMER_UPSTREAM:
		session_arm_timer(s, kind, lim->upstream_timeout);
		break;
	default:
		fatalx("session %s: bad timer kind %d", s->id, kind);
	}
}

/* Arm the session's timer for kind with an explicit number of seconds. */
void
session_arm_timer(struct session *s, enum session_timer kind,
    unsigned seconds)
{
	struct timeval tv = { (time_t)seconds, 0 };

	s->timer_kind = kind;
	evtimer_add(s->timer, &tv);
}

/* The timer fired: end a stuck close, or let the protocol answer. */
static void
session_timercb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd; (void)what;
	if (s->closing || s->dev == NULL)
		session_close(s, s->closing ? s->result : RESULT_TIMEOUT,
		    s->closing ? s->reason : "TLS handshake timed out");
	else if (s->timer_kind == TIMER_DELAY)
		session_lan_send_delayed(s);
	else
		s->ops->timeout(s, s->timer_kind);
}

/* Hold a line back for seconds with the device paused, then send it. */
void
session_lan_printf_delayed(struct session *s, unsigned seconds,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	free(s->delayed);
	va_start(ap, fmt);
	n = vasprintf(&s->delayed, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatal("vasprintf");
	session_lan_pause(s, true);
	session_arm_timer(s, TIMER_DELAY, seconds);
}

/* The held-back line is due: send it and read the device again. */
static void
session_lan_send_delayed(struct session *s)
{
	session_lan_printf(s, "%s", s->delayed);
	free(s->delayed);
	s->delayed = NULL;
	session_set_timer(s, TIMER_PRELOGIN);
	session_lan_pause(s, false);
	s->ops->lan_input(s);
}

/* Record the authenticated user (escaped) for the log. */
void
session_set_user(struct session *s, const char *user)
{
	log_escape(s->user, sizeof(s->user), user, strlen(user));
}

/* Count the session for mailbox, or log that the mailbox is busy and keep
 * that as the login's failure. */
bool
session_mailbox_acquire(struct session *s, const char *mailbox)
{
	unsigned max = s->cfg->limits.max_mailbox_sessions;
	char user[SASL_FIELD_MAX * 4], limit[16], sunset[16], days[16];
	char why[64];
	struct log_field f[] = {
		{ "session", s->id }, { "event", "mailbox_busy" },
		{ "device", s->dev->name }, { "user", user },
		{ "limit", limit }, { "sunset", sunset }, { "days_left", days },
	};

	session_mailbox_release(s);
	if (mailboxes_acquire(s->server->mailboxes, mailbox, max)) {
		s->mailbox = xstrdup(mailbox);
		return true;
	}
	log_escape(user, sizeof(user), mailbox, strlen(mailbox));
	snprintf(limit, sizeof(limit), "%u", max);
	snprintf(days, sizeof(days), "%d",
	    session_days_left(s, sunset, sizeof(sunset)));
	log_fields(LOG_WARNING, f, nitems(f));
	snprintf(why, sizeof(why), "too many sessions for this mailbox "
	    "(limit %u)", max);
	session_login_failure_keep(s, RESULT_UPSTREAM_ERROR, why);
	return false;
}

/* Stop counting the session for the mailbox it holds, if any. */
void
session_mailbox_release(struct session *s)
{
	if (s->mailbox == NULL)
		return;
	mailboxes_release(s->server->mailboxes, s->mailbox);
	free(s->mailbox);
	s->mailbox = NULL;
}

/* Log a failed login with the user and the reason, and keep them. */
void
session_login_failed(struct session *s, enum session_result r,
    const char *reason)
{
	struct log_field f[] = {
		{ "session", s->id }, { "event", "login_failed" },
		{ "device", s->dev->name },
		{ "user", s->user[0] != '\0' ? s->user : NULL },
		{ "result", session_result_name(r) }, { "reason", reason },
	};

	log_fields(LOG_WARNING, f, nitems(f));
	session_login_failure_keep(s, r, reason);
}

/* Keep a failed login's result and reason for the end line. */
void
session_login_failure_keep(struct session *s, enum session_result r,
    const char *reason)
{
	s->login_result = r;
	free(s->login_reason);
	s->login_reason = xstrdup(reason);
}

/* Forget the failed logins before a successful one. */
void
session_login_succeeded(struct session *s)
{
	s->login_result = RESULT_OK;
	free(s->login_reason);
	s->login_reason = NULL;
}

/* End after the goodbye of a device that quit before logging in. */
void
session_quit_before_login(struct session *s, const char *why)
{
	if (s->login_result != RESULT_OK)
		session_close_after_flush(s, s->login_result, s->login_reason);
	else
		session_close_after_flush(s, RESULT_OK, why);
}

/* End now: the device closed before logging in. */
void
session_close_before_login(struct session *s, enum session_result r,
    const char *reason)
{
	if (s->login_result != RESULT_OK)
		session_close(s, s->login_result, s->login_reason);
	else
		session_close(s, r, reason);
}

/* Check an oauth2 device's login: its mailbox now, its secret on the
 * verifier's thread. */
bool
session_device_login(struct session *s, const struct sasl_creds *creds,
    char *why, size_t len)
{
	const struct device *dev = s->dev;

	if (dev->mailbox == NULL ||
	    strcasecmp(creds->user, dev->mailbox) != 0) {
		snprintf(why, len, "user is not the device's mailbox");
		return false;
	}
	s->verify = verifier_submit(s->server->verifier, dev->secret_hash,
	    creds->pass, session_secret_checked, s);
	return true;
}

/* The verifier's verdict on the device's secret, for the protocol. */
static void
session_secret_checked(void *arg, bool match)
{
	struct session *s = arg;
	char why[128];

	s->verify = NULL;
	if (match) {
		s->ops->login_checked(s, NULL);
		return;
	}
	snprintf(why, sizeof(why), "wrong secret for device %s", s->dev->name);
	s->ops->login_checked(s, why);
}

/* Ask for an XOAUTH2 token (arming the upstream timer). */
void
session_token_get(struct session *s)
{
	session_set_timer(s, TIMER_UPSTREAM);
	s->token_req = oauth_token_get(s->server, s->cfg, session_token_cb, s);
}

/* The token endpoint answered: keep the token, or say why there is none. */
static void
session_token_cb(void *arg, const char *token, const char *error)
{
	struct session *s = arg;
	char why[400];

	s->token_req = NULL;
	if (token == NULL) {
		snprintf(why, sizeof(why), "no token from the token endpoint: "
		    "%s", error != NULL ? error : "unknown error");
		s->ops->token_ready(s, why);
		return;
	}
	s->token = xstrdup(token);
	s->ops->token_ready(s, NULL);
}

/* Abandon a token request in flight and wipe the token. */
void
session_token_clear(struct session *s)
{
	if (s->token_req != NULL) {
		oauth_request_cancel(s->token_req);
		s->token_req = NULL;
	}
	if (s->token != NULL) {
		OPENSSL_clear_free(s->token, strlen(s->token));
		s->token = NULL;
	}
}

/* The upstream refused the token: forget it and say what to check. */
void
session_token_refused(struct session *s, const char *token,
    const char *reply, const char *challenge, char *why, size_t len)
{
	oauth_token_reject(s->server, s->cfg, token);
	snprintf(why, len, "upstream refused the token for %s (check the "
	    "service principal's mailbox permission): %s%s%s", s->user, reply,
	    *challenge != '\0' ? "; " : "", challenge);
}

/* End the session once queued output has reached the device. */
void
session_close_after_flush(struct session *s, enum session_result r,
    const char *reason)
{
	struct timeval tv = { SESSION_FLUSH_TIMEOUT, 0 };

	s->closing = true;
	s->result = r;
	free(s->reason);
	s->reason = reason != NULL ? xstrdup(reason) : NULL;
	if (s->lan.eof || s->lan.bev == NULL ||
	    evbuffer_get_length(bufferevent_get_output(s->lan.bev)) == 0) {
		session_close(s, r, s->reason);
		return;
	}
	bufferevent_disable(s->lan.bev, EV_READ);
	evtimer_add(s->timer, &tv);
}

/* Ask the protocol to tell the device about a shutdown, then end. */
void
session_shutdown(struct session *s)
{
	if (s->closing || s->draining)
		return;
	s->draining = true;
	if (s->dev == NULL)
		session_close(s, RESULT_SHUTDOWN, "relay shutting down");
	else
		s->ops->shutdown(s);
}

/* Close one side (close_notify first if TLS is up) and reset it. */
void
side_close(struct side *side)
{
	if (side->ssl != NULL) {
		if (side->tls_up && !side->eof)
			SSL_shutdown(side->ssl);
		bufferevent_free(side->bev);	/* frees ssl and fd too */
	} else {
		if (side->bev != NULL)
			bufferevent_free(side->bev);
		if (side->fd != -1)
			close(side->fd);
	}
	*side = (struct side){ .fd = -1 };
}

/* The single teardown path: log the summary and free everything. */
void
session_close(struct session *s, enum session_result r, const char *reason)
{
	char *why = reason != NULL ? xstrdup(reason) : NULL;

	free(s->reason);
	s->reason = why;
	s->result = r;
	if (s->dial != NULL)
		upstream_dial_cancel(s);
	if (s->verify != NULL)
		verifier_cancel(s->server->verifier, s->verify);
	if (s->dev != NULL && r != RESULT_REFUSED)
		session_log_end(s);
	side_close(&s->lan);
	side_close(&s->up);
	session_mailbox_release(s);
	event_free(s->timer);
	session_token_clear(s);
	if (s->proto_state != NULL)
		s->ops->free(s);
	server_remove_session(s->server, s);
	config_unref(s->cfg);
	free(s->listener_name);
	free(s->reason);
	free(s->login_reason);
	free(s->delayed);
	free(s);
}
