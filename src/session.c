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
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include "date.h"
#include "log.h"
#include "mailboxes.h"
#include "metrics.h"
#include "msgid.h"
#include "oauth.h"
#include "session_env.h"
#include "session.h"
#include "tls.h"
#include "upstream.h"
#include "util.h"
#include "verifier.h"

#define SESSION_FLUSH_TIMEOUT	10	/* seconds to deliver a final reply */

extern const struct proto_ops smtp_ops;
extern const struct proto_ops imap_ops;
extern const struct proto_ops pop3_ops;

static const struct proto_ops *const proto_table[PROTO_COUNT] = {
	[PROTO_SMTP] = &smtp_ops,
	[PROTO_IMAP] = &imap_ops,
	[PROTO_POP3] = &pop3_ops,
};

/*
 * Every session reads its lines into this one buffer: the event loop runs
 * one callback at a time and each line is handled before its callback
 * returns, so an idle session holds no line buffer of its own.
 */
static char session_line[LINE_LENGTH_MAX + 1];

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
	[RESULT_NO_MEMORY] = "no_memory",
};

static void	session_make_id(char *id, size_t len);
static void	session_format_client(struct session *s);
static void	session_log_end(struct session *s);
static const char *session_end_msgid(enum session_result r);
static bool	session_accept_alloc(struct session *s,
		    const struct listener_conf *lc);
static void	session_env_add(struct session_env *env, struct session *s);
static void	session_env_remove(struct session_env *env, struct session *s);
static void	session_log_no_memory(struct session *s, const char *what);
static void	session_lan_tls_failed(struct session *s);
static void	session_lan_event(struct side *side, enum side_event ev,
		    void *arg);
static void	session_lan_flushed(struct session *s);
static void	session_lan_closed(struct session *s);
static void	session_lan_pause(struct session *s, bool paused);
static void	session_lan_send_delayed(struct session *s);
static void	session_timercb(evutil_socket_t fd, short what, void *arg);
static bool	session_line_has_bare_cr(const struct session *s,
		    const char *buf, size_t len);

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
session_accept(struct session_env *env, struct config *cfg,
    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
    socklen_t salen, const char *proxy)
{
	struct session *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		log_warn("no memory for a session on listener %s", lc->name);
		metrics_count_refusal(lc->proto, "no_memory");
		close(fd);
		return;
	}
	session_make_id(s->id, sizeof(s->id));
	s->env = env;
	s->cfg = config_ref(cfg);
	s->ops = proto_table[lc->proto];
	s->lan_mode = lc->tls;
	memcpy(&s->peer, sa, salen);
	session_format_client(s);
	s->proxy = proxy != NULL ? xstrdup(proxy) : NULL;
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	side_init(&s->lan, env->base, &s->up,
	    4 * (size_t)cfg->limits.line_length, session_lan_event, s);
	side_init(&s->up, env->base, &s->lan,
	    4 * (size_t)cfg->limits.line_length, NULL, s);
	s->lan.fd = fd;
	s->up_tls_version = s->up_tls_cipher = "none";
	session_env_add(env, s);
	if (session_accept_alloc(s, lc))
		session_admit(s);
}

/* Out of descriptors: a plain listener's client hears that the relay is
 * busy (best effort, never blocking); an implicit-TLS one is just closed. */
void
session_busy_close(const struct config *cfg, const struct listener_conf *lc,
    int fd)
{
	char line[320];
	int n;

	if (lc->tls != LAN_TLS_IMPLICIT) {
		n = snprintf(line, sizeof(line), "%s%s out of resources, try "
		    "again later\r\n", proto_table[lc->proto]->refusal[1],
		    cfg->server_name);
		if (n > 0 && send(fd, line, (size_t)n < sizeof(line) ?
		    (size_t)n : sizeof(line) - 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_debug("busy reply on listener %s: %s", lc->name,
			    strerror(errno));
	}
	close(fd);
}

/* Register a new session with the daemon. */
static void
session_env_add(struct session_env *env, struct session *s)
{
	TAILQ_INSERT_TAIL(&env->sessions, s, entry);
	env->nsessions++;
	metrics_count_session_start(s->ops->proto);
}

/* Unregister a session (its descriptors are free: paused listeners
 * resume); the last one ends a drain. */
static void
session_env_remove(struct session_env *env, struct session *s)
{
	TAILQ_REMOVE(&env->sessions, s, entry);
	env->nsessions--;
	if (env->descriptors_freed != NULL)
		env->descriptors_freed(env);
	if (env->draining && env->nsessions == 0)
		event_base_loopexit(env->base, NULL);
}

/* Allocate what a new session needs; on failure log it, end the session
 * and return false. */
static bool
session_accept_alloc(struct session *s, const struct listener_conf *lc)
{
	s->listener_name = strdup(lc->name);
	s->timer = evtimer_new(s->env->base, session_timercb, s);
	s->line_size = s->cfg->limits.line_length + 1;
	s->line = session_line;
	if (s->listener_name != NULL && s->timer != NULL &&
	    (lc->tls == LAN_TLS_IMPLICIT || side_attach(&s->lan, s->lan.fd)))
		return true;
	session_log_no_memory(s, "session set-up");
	session_close(s, RESULT_NO_MEMORY, "no memory for the session");
	return false;
}

/* Log that an allocation for the session failed. */
static void
session_log_no_memory(struct session *s, const char *what)
{
	struct log_field f[] = {
		{ "session", s->id }, { "event", "no_memory" },
		{ "client", s->client }, { "what", what },
	};

	log_fields(LOG_ERR, f, nitems(f));
}

/* An allocation for the session failed: log it and end only this
 * session, from the event loop (the caller may still use it). */
void
session_no_memory(struct session *s, const char *what)
{
	struct timeval now = { 0, 0 };

	session_log_no_memory(s, what);
	if (s->closing)
		return;
	s->closing = true;
	s->result = RESULT_NO_MEMORY;
	free(s->reason);
	s->reason = strdup(what);
	if (s->lan.bev != NULL)
		side_pause(&s->lan, true);
	evtimer_add(s->timer, &now);
}

/* Write the numeric client address, without the v4-mapped prefix. */
static void
session_format_client(struct session *s)
{
	sockaddr_format((struct sockaddr *)&s->peer, sizeof(s->peer),
	    s->client, sizeof(s->client));
}

/* Days left for the session's device; fills the sunset date text. */
int
session_days_left(const struct session *s, char *sunset, size_t len)
{
	date_format(s->dev->sunset, sunset, len);
	return (int)device_days_left(s->dev, time(NULL));
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
		{ "proxy", s->proxy },
		{ "protocol", proto_name(s->ops->proto) },
		{ "lan_tls", side_tls_version(&s->lan) },
		{ "lan_cipher", side_tls_cipher(&s->lan) },
		{ "upstream", upstream },
		{ "upstream_tls", s->up_tls_version },
		{ "upstream_cipher", s->up_tls_cipher },
		{ "user", s->user },
		{ "result", session_result_name(s->result) },
		{ "reason", s->reason },
		{ "bytes_in", in }, { "bytes_out", out },
		{ "messages", msgs }, { "duration", dur },
		{ "sunset", sunset }, { "days_left", days },
	};

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(upstream, sizeof(upstream), "%s:%u", up->host, up->port);
	snprintf(in, sizeof(in), "%llu",
	    (unsigned long long)s->lan.bytes_in);
	snprintf(out, sizeof(out), "%llu",
	    (unsigned long long)s->lan.bytes_out);
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

/* Replace the LAN bufferevent by a TLS one on the same socket. */
void
session_lan_swap_to_tls(struct session *s)
{
	if (!side_start_tls(&s->lan, tls_lan_new(s->cfg), true))
		session_no_memory(s, "LAN TLS set-up");
}

/* Start TLS on the LAN side once everything queued so far is flushed. */
void
session_lan_start_tls(struct session *s)
{
	side_pause(&s->lan, true);
	if (side_output_length(&s->lan) == 0)
		session_lan_swap_to_tls(s);
	else
		s->lan_tls_pending = true;
}

/* Stop or resume reading from the device (never again once closing). */
static void
session_lan_pause(struct session *s, bool paused)
{
	if (paused || !s->closing)
		side_pause(&s->lan, paused);
}

/* Log a failed LAN handshake with what the client offered, and end. */
static void
session_lan_tls_failed(struct session *s)
{
	const char *hello = tls_client_hello(s->lan.ssl);
	unsigned long code = bufferevent_get_openssl_error(s->lan.bev);
	char err[256], *reason = NULL;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "lan_tls_failed" },
		{ "client", s->client }, { "listener", s->listener_name },
		{ "protocol", proto_name(s->ops->proto) }, { "reason", NULL },
		{ "proxy", s->proxy },
	};

	if (code != 0)	/* libevent takes the error off OpenSSL's queue */
		ERR_error_string_n(code, err, sizeof(err));
	else
		tls_error_string(err, sizeof(err));
	if (asprintf(&reason, "%s; %s", err, hello != NULL ? hello :
	    "no ClientHello received") < 0)
		reason = NULL;		/* out of memory: the error alone */
	f[5].value = reason != NULL ? reason : err;
	metrics_count_lan_tls("failed");
	if (s->dev == NULL)
		log_event(LOG_WARNING, MSGID_LAN_TLS_FAILED, f, nitems(f));
	session_close(s, RESULT_LAN_TLS_FAILED, f[5].value);
	free(reason);
}

/* Events on the device's side: input, drained output, handshake, end. */
static void
session_lan_event(struct side *side, enum side_event ev, void *arg)
{
	struct session *s = arg;

	switch (ev) {
	case SIDE_INPUT:
		if (s->closing)
			side_drop_input(side);
		else
			session_lan_input(s);
		return;
	case SIDE_FLUSHED:
		session_lan_flushed(s);
		return;
	case SIDE_CONNECTED:
		metrics_count_lan_tls(side_tls_version(&s->lan));
		if (s->dev == NULL)
			session_identify(s);
		else
			s->ops->lan_tls_ready(s);
		return;
	case SIDE_EOF:
	case SIDE_ERROR:
		session_lan_closed(s);
		return;
	default:
		fatalx("session %s: unexpected LAN event %d", s->id, ev);
	}
}

/* LAN output drained: finish a close or a pending STARTTLS, or resume a
 * paused upstream. */
static void
session_lan_flushed(struct session *s)
{
	if (s->closing)
		session_close(s, s->result, s->reason);
	else if (s->lan_tls_pending) {
		s->lan_tls_pending = false;
		session_lan_swap_to_tls(s);
	} else
		side_drained(&s->lan);
}

/* The device closed, or its TLS handshake failed. */
static void
session_lan_closed(struct session *s)
{
	if (s->lan.ssl != NULL && !s->lan.tls_up) {
		session_lan_tls_failed(s);
		return;
	}
	s->lan.eof = true;
	if (s->closing)
		session_close(s, s->result, s->reason);
	else
		session_lan_input(s);
}

/* Process as much buffered device input as the state allows. */
void
session_lan_input(struct session *s)
{
	enum step step;

	while ((step = s->ops->lan_step(s)) == STEP_MORE)
		;
	if (step == STEP_WAIT && s->lan.eof)
		s->ops->lan_eof(s);
}

/* Read one device command line; a line over the limit ends the session,
 * a line with a bare CR is refused and the next one read. */
enum step
session_read_command(struct session *s, char *buf, size_t size, size_t *len,
    const char *too_long)
{
	for (;;) {
		switch (side_read_line(&s->lan, buf, size, len)) {
		case LINE_OK:
			if (!session_line_has_bare_cr(s, buf, *len))
				return STEP_MORE;
			if (s->ops->lan_bare_cr(s) == STEP_GONE)
				return STEP_GONE;
			continue;
		case LINE_NONE:
			return STEP_WAIT;
		case LINE_TOO_LONG:
			side_printf(&s->lan, "%s", too_long);
			session_close_after_flush(s, RESULT_LINE_TOO_LONG,
			    "device sent a line over the length limit");
			return STEP_GONE;
		default:
			fatalx("session %s: bad line status", s->id);
		}
	}
}

/*
 * Does a command line hold a CR? Its line end (LF or CRLF) is gone, so any
 * CR left is a bare one, which an upstream might take as a line end and so
 * see a command the relay never checked. SASL answers are exempt: they are
 * decoded, never forwarded, and base64 refuses a CR.
 */
static bool
session_line_has_bare_cr(const struct session *s, const char *buf,
    size_t len)
{
	if (s->sasl != SASL_WAIT_NONE || memchr(buf, '\r', len) == NULL)
		return false;
	log_debug("session=%s command line with a bare CR refused", s->id);
	return true;
}

/* Change the protocol's state in one place, with a debug trace. */
void
session_enter_state(struct session *s, int next)
{
	log_debug("session=%s %s %s -> %s", s->id, proto_name(s->ops->proto),
	    session_state_name(s, s->state), session_state_name(s, next));
	s->state = next;
}

/* Send a command upstream and wait for its answer in state next. */
void
session_up_send(struct session *s, int next, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	side_vprintf(&s->up, fmt, ap);
	va_end(ap);
	session_enter_state(s, next);
}

/* The name of one of the protocol's states; an unknown one is a bug. */
const char *
session_state_name(const struct session *s, int state)
{
	const struct proto_ops *ops = s->ops;

	if (state < 0 || (size_t)state >= ops->nstates ||
	    ops->state_names[state] == NULL)
		fatalx("%s: unknown state %d", proto_name(ops->proto), state);
	return ops->state_names[state];
}

/* STARTTLS accepted: refuse pipelined bytes (injection), then start TLS. */
enum step
session_lan_starttls(struct session *s, const char *verb, const char *reply)
{
	char why[128];

	if (side_input_length(&s->lan) > 0) {
		snprintf(why, sizeof(why), "device sent data after %s before "
		    "the TLS handshake", verb);
		session_close(s, RESULT_INJECTION, why);
		return STEP_GONE;
	}
	side_printf(&s->lan, "%s", reply);
	session_lan_start_tls(s);
	return STEP_WAIT;
}

/* Count a bad command; reply, or end the session after too many. */
enum step
session_lan_error(struct session *s, const char *reply, const char *bye)
{
	if (++s->errors >= SESSION_MAX_ERRORS) {
		side_printf(&s->lan, "%s", bye);
		session_close_after_flush(s, RESULT_PROTOCOL_ERROR,
		    "too many bad commands");
		return STEP_GONE;
	}
	if (reply != NULL)
		side_printf(&s->lan, "%s", reply);
	return STEP_MORE;
}

/* Abandon the dial in progress, if any. */
void
session_dial_cancel(struct session *s)
{
	if (s->dial != NULL)
		upstream_dial_cancel(s->dial);
	s->dial = NULL;
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
	if (n < 0) {
		s->delayed = NULL;
		session_no_memory(s, "delayed reply");
		return;
	}
	session_lan_pause(s, true);
	session_arm_timer(s, TIMER_DELAY, seconds);
}

/* The held-back line is due: send it and read the device again. */
static void
session_lan_send_delayed(struct session *s)
{
	side_printf(&s->lan, "%s", s->delayed);
	free(s->delayed);
	s->delayed = NULL;
	session_set_timer(s, TIMER_PRELOGIN);
	session_lan_pause(s, false);
	session_lan_input(s);
}

/* Record the authenticated user (escaped) for the log; held only once
 * known, not inline in every session (left out of the log if no memory). */
void
session_set_user(struct session *s, const char *user)
{
	char esc[SASL_FIELD_MAX * 4];

	log_escape(esc, sizeof(esc), user, strlen(user));
	free(s->user);
	s->user = strdup(esc);
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
	if (mailboxes_acquire(s->env->mailboxes, mailbox, max)) {
		if ((s->mailbox = strdup(mailbox)) != NULL)
			return true;
		mailboxes_release(s->env->mailboxes, mailbox);
		session_no_memory(s, "mailbox name");
		return false;
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
	mailboxes_release(s->env->mailboxes, s->mailbox);
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
		{ "user", s->user },
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
	s->login_reason = strdup(reason);	/* NULL if out of memory */
}

/* Forget the failed logins before a successful one. */
void
session_login_succeeded(struct session *s)
{
	s->login_result = RESULT_OK;
	free(s->login_reason);
	s->login_reason = NULL;
}

/* Say goodbye to a device that quit before logging in, and end. */
enum step
session_quit_before_login(struct session *s, const char *bye, const char *why)
{
	side_printf(&s->lan, "%s", bye);
	if (s->login_result != RESULT_OK)
		session_close_after_flush(s, s->login_result, s->login_reason);
	else
		session_close_after_flush(s, RESULT_OK, why);
	return STEP_GONE;
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

/* The device's credentials to fill in, allocated on first use. */
struct sasl_creds *
session_creds_fill(struct session *s)
{
	if (s->creds == NULL)
		s->creds = calloc(1, sizeof(*s->creds));
	return s->creds;
}

/* The credentials collected, or empty ones. */
const struct sasl_creds *
session_creds(const struct session *s)
{
	static const struct sasl_creds none;

	return s->creds != NULL ? s->creds : &none;
}

/* Wipe and free the device's credentials. */
void
session_creds_drop(struct session *s)
{
	if (s->creds == NULL)
		return;
	sasl_creds_clear(s->creds);
	free(s->creds);
	s->creds = NULL;
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
	s->reason = reason != NULL ? strdup(reason) : NULL;
	if (s->lan.eof || s->lan.bev == NULL ||
	    side_output_length(&s->lan) == 0) {
		session_close(s, r, s->reason);
		return;
	}
	side_pause(&s->lan, true);
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

/* The single teardown path: log the summary and free everything. */
void
session_close(struct session *s, enum session_result r, const char *reason)
{
	char *why = reason != NULL ? strdup(reason) : NULL;

	free(s->reason);
	s->reason = why;
	s->result = r;
	session_dial_cancel(s);
	session_admit_end(s);
	if (s->verify != NULL)
		verifier_cancel(s->env->verifier, s->verify);
	if (s->dev != NULL && r != RESULT_REFUSED)
		session_log_end(s);
	metrics_count_session(s->ops->proto, session_result_name(r),
	    s->lan.bytes_in, s->lan.bytes_out);
	if (s->env->session_ended != NULL)
		s->env->session_ended(s);
	side_close(&s->lan);
	side_close(&s->up);
	session_mailbox_release(s);
	if (s->timer != NULL)
		event_free(s->timer);
	session_token_clear(s);
	session_creds_drop(s);
	if (s->line != NULL)
		OPENSSL_cleanse(s->line, s->line_size);
	if (s->proto_state != NULL && s->ops->free != NULL)
		s->ops->free(s);
	free(s->proto_state);
	session_env_remove(s->env, s);
	config_unref(s->cfg);
	free(s->listener_name);
	free(s->proxy);
	free(s->reason);
	free(s->login_reason);
	free(s->delayed);
	free(s->user);
	free(s->challenge);
	free(s);
}
