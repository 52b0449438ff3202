/* SMTP: the device dialogue, answered locally before login, then the relay
 * and its message bodies (the upstream login is in smtp_up.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "evidence_session.h"
#include "explain.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "sasl.h"
#include "session.h"
#include "smtp.h"
#include "smtp_parse.h"
#include "util.h"

/* The reply to a device line over the length limit. */
#define SMTP_TOO_LONG	"500 5.5.2 Line too long"

typedef enum step (*smtp_lan_handler)(struct session *, const char *);

static enum step smtp_abandoned_command(struct session *s,
		    const char *line);
static bool	smtp_auth_allowed(const struct session *s);
static bool	smtp_auth_offered(const struct session *s);
static void	smtp_body_add(struct session *s, const char *text);
static void	smtp_body_end(struct session *s);
static enum step smtp_body_hold(struct session *s, size_t chunk);
static void	smtp_body_move(struct session *s, size_t n);
static enum step smtp_body_next(struct session *s);
static enum step smtp_body_refuse(struct session *s, size_t len);
static void	smtp_body_start(struct session *s);
static enum step smtp_body_step(struct session *s);
static void	smtp_body_timer(struct session *s);
static void	smtp_data_expired(struct session *s);
static time_t	smtp_now(void);
static enum step smtp_cmd_auth(struct session *s, const char *arg);
static enum step smtp_cmd_ehlo(struct session *s, const char *arg);
static enum step smtp_cmd_helo(struct session *s, const char *arg);
static enum step smtp_cmd_help(struct session *s, const char *arg);
static enum step smtp_cmd_mail(struct session *s, const char *arg);
static enum step smtp_cmd_need_auth(struct session *s, const char *arg);
static enum step smtp_cmd_quit(struct session *s, const char *arg);
static enum step smtp_cmd_rset(struct session *s, const char *arg);
static enum step smtp_cmd_starttls(struct session *s, const char *arg);
static enum step smtp_cmd_vrfy(struct session *s, const char *arg);
static bool	smtp_device_authenticates(const struct session *s);
static enum step smtp_error(struct session *s, const char *reply);
static void	smtp_free(struct session *s);
static enum step smtp_lan_command(struct session *s, const char *line);
static void	smtp_log_message(struct session *s, int code);
static enum step smtp_relay_command(struct session *s, const char *line);
static void	smtp_relay_reply(struct session *s);
static void	smtp_send_ehlo_reply(struct session *s, bool logged_in);
static bool	smtp_sender_check(struct session *s, const char *arg,
		    enum step *step);
static bool	smtp_outcome_unknown(struct session *s);
static void	smtp_message_unconfirmed(struct session *s,
		    enum session_result r, const char *reason);
static bool	smtp_waiting_upstream(enum smtp_state state);

/* SMTP for the generic session and login.c: the names of its states, its
 * replies and its hooks. */
PROTO_OPS(smtp, PROTO_SMTP, SMTP_STATES,
    .refusal = { "554 5.7.1 ", "421 4.7.0 " },
    .counts_mailbox = false,
    .login_replies = LOGIN_REPLIES("454 4.7.0 ", "454 4.7.0 ",
	"535 5.7.8 Authentication credentials invalid", "454 4.7.0 "),
    .explain = EXPLAIN_SMTP,
    .explain_prefix = "",
    .sasl_prompt = "334 ",
    .sasl_replies = SASL_REPLIES("501 5.0.0 ", "501 5.5.2 "),
    .lan_error = smtp_error,
    .free = smtp_free);

/* Commands of the LAN phase, answered by the relay itself, by verb. */
static const smtp_lan_handler smtp_lan_commands[] = {
	[SMTP_VERB_HELO] = smtp_cmd_helo,
	[SMTP_VERB_EHLO] = smtp_cmd_ehlo,
	[SMTP_VERB_STARTTLS] = smtp_cmd_starttls,
	[SMTP_VERB_AUTH] = smtp_cmd_auth,
	[SMTP_VERB_MAIL] = smtp_cmd_mail,
	[SMTP_VERB_RCPT] = smtp_cmd_need_auth,
	[SMTP_VERB_DATA] = smtp_cmd_need_auth,
	[SMTP_VERB_BDAT] = smtp_cmd_need_auth,
	[SMTP_VERB_RSET] = smtp_cmd_rset,
	[SMTP_VERB_NOOP] = smtp_cmd_rset,
	[SMTP_VERB_HELP] = smtp_cmd_help,
	[SMTP_VERB_VRFY] = smtp_cmd_vrfy,
	[SMTP_VERB_EXPN] = smtp_cmd_vrfy,
	[SMTP_VERB_QUIT] = smtp_cmd_quit,
};

/* Greet the device. */
static bool
smtp_start(struct session *s)
{
	side_printf(&s->lan, "220 %s ESMTP ready", s->cfg->server_name);
	return true;
}

/* Free the MAIL command kept (session_close wipes the credentials and the
 * token, and frees the SMTP state). */
static void
smtp_free(struct session *s)
{
	struct smtp *st = s->proto_state;

	free(st->mail);
}

/* One step of device input processing in the current state. */
static enum step
smtp_lan_step(struct session *s)
{
	const char *line = s->line;
	enum step step;
	size_t len;

	switch (s->state) {
	case SMTP_LAN_AUTH:
		return login_sasl_read(s, SMTP_TOO_LONG);
	case SMTP_LAN_COMMAND:
	case SMTP_RELAY_COMMAND:
	case SMTP_RELAY_ABANDONED:
		if ((step = session_read_command(s, s->line, s->line_size,
		    &len, SMTP_TOO_LONG)) != STEP_MORE)
			return step;
		if (s->state == SMTP_LAN_COMMAND)
			return smtp_lan_command(s, line);
		if (s->state == SMTP_RELAY_COMMAND)
			return smtp_relay_command(s, line);
		return smtp_abandoned_command(s, line);
	case SMTP_RELAY_BODY:
	case SMTP_RELAY_BODY_DISCARD:
		if (!s->lan.eof)
			smtp_body_timer(s);	/* a live upload */
		return smtp_body_step(s);
	default:
		return STEP_WAIT;	/* the upstream's turn */
	}
}

/* The device closed its side: end now unless an upstream reply is due. */
static void
smtp_lan_eof(struct session *s)
{
	if (smtp_waiting_upstream(s->state))
		return;
	if (s->state == SMTP_RELAY_BODY ||
	    s->state == SMTP_RELAY_BODY_DISCARD)
		session_close(s, RESULT_CLIENT_CLOSED,
		    "device closed the connection during DATA");
	else if (s->state == SMTP_RELAY_COMMAND)
		session_close(s, RESULT_OK, "device closed the connection "
		    "without QUIT");
	else
		session_close_before_login(s, RESULT_CLIENT_CLOSED, "device "
		    "closed the connection without QUIT");
}

/* States in which the device waits for a reply that the upstream owes. */
static bool
smtp_waiting_upstream(enum smtp_state state)
{
	switch (state) {
	case SMTP_RELAY_REPLY:
	case SMTP_RELAY_RSET_REPLY:
	case SMTP_RELAY_DATA_REPLY:
	case SMTP_RELAY_BODY_REPLY:
	case SMTP_RELAY_QUIT_REPLY:
		return true;
	default:
		return false;
	}
}

/* Count a bad command; reply, or end the session after too many. */
static enum step
smtp_error(struct session *s, const char *reply)
{
	char bye[300];

	snprintf(bye, sizeof(bye), "421 4.7.0 %s Too many errors",
	    s->cfg->server_name);
	return session_lan_error(s, reply, bye);
}

/* Refuse a command line with a bare CR in it, counted as a bad command. */
static enum step
smtp_bare_cr(struct session *s)
{
	return smtp_error(s, "500 5.5.2 Bare CR in command line refused");
}

/* Dispatch one LAN-phase command through the command table. */
static enum step
smtp_lan_command(struct session *s, const char *line)
{
	const char *arg;
	enum smtp_verb verb = smtp_parse_verb(line, &arg);
	smtp_lan_handler handler = LAN_HANDLER(smtp_lan_commands, verb);

	if (handler == NULL)
		return smtp_error(s, "500 5.5.2 Command not recognized");
	return handler(s, arg);
}

/* HELO: accept any name (or none); the relay uses its own upstream. */
static enum step
smtp_cmd_helo(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;

	(void)arg;
	st->helo = true;
	side_printf(&s->lan, "250 %s", s->cfg->server_name);
	return STEP_MORE;
}

/* EHLO: the relay's own capabilities, never the upstream's. */
static enum step
smtp_cmd_ehlo(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;

	(void)arg;
	st->helo = true;
	smtp_send_ehlo_reply(s, false);
	return STEP_MORE;
}

/* Send the EHLO reply: AUTH and STARTTLS only where they can be used. */
static void
smtp_send_ehlo_reply(struct session *s, bool logged_in)
{
	const char *name = s->cfg->server_name;

	side_printf(&s->lan, "250-%s", name);
	if (!logged_in && s->lan.ssl == NULL && s->cfg->lan_ctx != NULL)
		side_printf(&s->lan, "250-STARTTLS");
	if (!logged_in && smtp_auth_offered(s))
		side_printf(&s->lan, "250-AUTH PLAIN LOGIN");
	side_printf(&s->lan, "250-SIZE");
	side_printf(&s->lan, "250-8BITMIME");
	side_printf(&s->lan, "250 ENHANCEDSTATUSCODES");
}

/* May the device authenticate on this connection? */
static bool
smtp_auth_allowed(const struct session *s)
{
	return s->lan.tls_up || s->dev->plaintext_auth;
}

/* Does the device log in (passthrough, oauth2), rather than send without
 * AUTH (relay, connector)? */
static bool
smtp_device_authenticates(const struct session *s)
{
	return s->dev->auth == AUTH_PASSTHROUGH || s->dev->auth == AUTH_OAUTH2;
}

/* Is AUTH offered to the device now: it logs in, or its AUTH is taken and
 * ignored, and not yet done; never without TLS unless allowed. */
static bool
smtp_auth_offered(const struct session *s)
{
	const struct smtp *st = s->proto_state;

	if (!smtp_device_authenticates(s) &&
	    (!s->dev->ignore_auth || st->auth_ignored))
		return false;
	return smtp_auth_allowed(s);
}

/* STARTTLS: refuse pipelined bytes (injection), then start TLS. */
static enum step
smtp_cmd_starttls(struct session *s, const char *arg)
{
	if (s->cfg->lan_ctx == NULL || s->lan_mode == LAN_TLS_IMPLICIT)
		return smtp_error(s, "502 5.5.1 STARTTLS not available");
	if (s->lan.ssl != NULL)
		return smtp_error(s, "503 5.5.1 TLS already active");
	if (*arg != '\0')
		return smtp_error(s, "501 5.5.4 Syntax: STARTTLS");
	session_enter_state(s, SMTP_LAN_STARTTLS);
	return session_lan_starttls(s, "STARTTLS",
	    "220 2.0.0 Ready to start TLS");
}

/* The LAN handshake finished: forget everything said before it. */
static void
smtp_lan_tls_ready(struct session *s)
{
	struct smtp *st = s->proto_state;

	st->helo = false;
	session_enter_state(s, SMTP_LAN_COMMAND);
	session_lan_input(s);
}

/* AUTH PLAIN or LOGIN, with or without an initial response. */
static enum step
smtp_cmd_auth(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;
	const char *ir = strchr(arg, ' ');
	size_t mechlen = ir != NULL ? (size_t)(ir - arg) : strlen(arg);

	if (st->auth_ignored)
		return smtp_error(s, "503 5.5.1 Already authenticated");
	if (!smtp_device_authenticates(s) && !s->dev->ignore_auth)
		return smtp_error(s, "503 5.7.0 This device sends mail without "
		    "AUTH");
	if (!st->helo)
		return smtp_error(s, "503 5.5.1 Send EHLO first");
	if (!smtp_auth_allowed(s))
		return smtp_error(s, "538 5.7.11 Encryption required for "
		    "requested authentication mechanism");
	ir = ir != NULL ? ir + 1 : NULL;
	if (mechlen == 5 && strncasecmp(arg, "PLAIN", 5) == 0) {
		session_enter_state(s, SMTP_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_PLAIN, ir);
	}
	if (mechlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		session_enter_state(s, SMTP_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_USER, ir);
	}
	return smtp_error(s, "504 5.5.4 Unrecognized authentication type");
}

/*
 * Credentials are in. Pass-through: log in upstream with them. oauth2:
 * check them here, then log in upstream as the device's mailbox. relay
 * and connector with ignore_auth: forget them and say yes.
 */
static enum step
smtp_auth_collected(struct session *s)
{
	struct smtp *st = s->proto_state;

	if (!smtp_device_authenticates(s)) {
		session_creds_drop(s);
		st->auth_ignored = true;
		session_enter_state(s, SMTP_LAN_COMMAND);
		side_printf(&s->lan, "235 2.7.0 Authentication successful");
		return STEP_MORE;
	}
	session_enter_state(s, SMTP_LOGIN);
	return login_begin(s);
}

/* MAIL before login: it starts the upstream login of a relay or
 * connector device; any other device must authenticate first. */
static enum step
smtp_cmd_mail(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;
	enum step step;

	if (smtp_device_authenticates(s))
		return smtp_cmd_need_auth(s, arg);
	if (!st->helo)
		return smtp_error(s, "503 5.5.1 Send EHLO first");
	if (s->dev->mailbox != NULL)
		session_set_user(s, s->dev->mailbox);
	if (!smtp_sender_check(s, arg, &step))
		return step;
	session_enter_state(s, SMTP_LOGIN);
	if (s->dev->auth == AUTH_CONNECTOR)
		login_dial(s);
	else
		login_with_token(s);
	return STEP_WAIT;
}

/*
 * Check the sender of a MAIL command from an oauth2, relay or connector
 * device (connector senders are all in the accepted domains): true
 * with the command to send upstream in st->mail, else the device has its
 * answer and *step says how to go on.
 */
static bool
smtp_sender_check(struct session *s, const char *arg, enum step *step)
{
	struct smtp *st = s->proto_state;
	const struct device *dev = s->dev;
	char addr[SMTP_ADDR_MAX], esc[SMTP_ADDR_MAX * 4];
	char why[sizeof(esc) + 128];
	const char *params;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "sender_refused" },
		{ "device", dev->name }, { "user", s->user },
		{ "sender", esc }, { "reason", why },
	};

	if (!smtp_parse_mail_from(arg, addr, sizeof(addr), &params)) {
		*step = smtp_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return false;
	}
	if (!smtp_sender_allowed(addr, dev->mailbox, dev->senders,
	    dev->nsenders)) {
		log_escape(esc, sizeof(esc), addr, strlen(addr));
		snprintf(why, sizeof(why), "sender <%s> not allowed for device "
		    "%s", esc, dev->name);
		log_fields(LOG_WARNING, f, nitems(f));
		side_printf(&s->lan, "550 5.7.1 Sender <%s> not allowed for "
		    "device %s", addr, dev->name);
		*step = STEP_MORE;
		return false;
	}
	free(st->mail);
	if (asprintf(&st->mail, "MAIL FROM:<%s>%s%s", addr,
	    *params != '\0' ? " " : "", params) < 0) {
		st->mail = NULL;
		session_no_memory(s, "MAIL command");
		*step = STEP_GONE;
		return false;
	}
	return true;
}

/* Commands that need a login first (relay, connector: a MAIL first). */
static enum step
smtp_cmd_need_auth(struct session *s, const char *arg)
{
	(void)arg;
	if (!smtp_device_authenticates(s))
		return smtp_error(s, "503 5.5.1 Bad sequence of commands: send "
		    "MAIL first");
	return smtp_error(s, "530 5.7.0 Authentication required");
}

/* RSET and NOOP: nothing to reset before login. */
static enum step
smtp_cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	side_printf(&s->lan, "250 2.0.0 OK");
	return STEP_MORE;
}

/* HELP: say what the relay expects. */
static enum step
smtp_cmd_help(struct session *s, const char *arg)
{
	(void)arg;
	if (!smtp_device_authenticates(s))
		side_printf(&s->lan, "214 2.0.0 Send mail without AUTH");
	else
		side_printf(&s->lan, "214 2.0.0 Authenticate with AUTH PLAIN "
		    "or AUTH LOGIN, then send mail");
	return STEP_MORE;
}

/* VRFY and EXPN: not offered. */
static enum step
smtp_cmd_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	side_printf(&s->lan, "252 2.5.0 Cannot verify, send some mail");
	return STEP_MORE;
}

/* QUIT before login. */
static enum step
smtp_cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	return session_quit_before_login(s, "221 2.0.0 Bye",
	    "quit before login");
}

/* Upstream input: complete replies drive the login or the relay. */
static void
smtp_upstream_input(struct session *s)
{
	if (s->state == SMTP_LOGIN || s->state == SMTP_UP_TLS)
		return;		/* nothing is due yet */
	if (login_active(s))
		smtp_up_step(s);
	else
		smtp_relay_reply(s);
}

/* Logged in upstream: the device gets 235, or a relay device's MAIL goes
 * upstream and the device gets the answer to it. */
void
smtp_logged_in(struct session *s)
{
	struct smtp *st = s->proto_state;

	login_done(s);
	if (st->mail != NULL) {
		evidence_smtp_command(s, st->mail);
		side_printf(&s->up, "%s", st->mail);
		free(st->mail);
		st->mail = NULL;
		session_enter_state(s, SMTP_RELAY_REPLY);
		session_set_timer(s, TIMER_UPSTREAM);
		return;
	}
	side_printf(&s->lan, "235 2.7.0 Authentication successful");
	session_enter_state(s, SMTP_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	session_lan_input(s);
}

/* A login ended without success: forget its MAIL and reply, and take
 * LAN commands again. */
static void
smtp_login_reset(struct session *s)
{
	struct smtp *st = s->proto_state;

	free(st->mail);
	st->mail = NULL;
	st->reply_code = 0;
	st->explained = NULL;
	session_enter_state(s, SMTP_LAN_COMMAND);
}

/* A login reply: the explanation of a known Exchange refusal if the last
 * reply was one, else text. */
static void
smtp_login_reply(struct session *s, char *dst, size_t len, const char *text)
{
	struct smtp *st = s->proto_state;

	snprintf(dst, len, "%s", st->explained != NULL ?
	    st->explained->device : text);
}

/* The upstream failed or vanished: a temporary error, never a success. */
static void
smtp_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	if (s->state == SMTP_RELAY_QUIT_REPLY) {
		side_printf(&s->lan, "221 2.0.0 Bye");
		session_close_after_flush(s, RESULT_OK, NULL);
		return;
	}
	if (smtp_outcome_unknown(s)) {
		smtp_message_unconfirmed(s, r, reason);
		return;
	}
	side_printf(&s->lan, "421 4.4.2 %s upstream connection lost%s",
	    s->cfg->server_name, s->state == SMTP_RELAY_BODY ||
	    s->state == SMTP_RELAY_BODY_REPLY ?
	    "; message not delivered" : "");
	session_close_after_flush(s, r, reason);
}

/* Did the upstream get the whole message, end marker included (all of it
 * left the relay), so that only its verdict is missing? */
static bool
smtp_outcome_unknown(struct session *s)
{
	return s->state == SMTP_RELAY_BODY_REPLY && (s->up.bev == NULL ||
	    side_output_length(&s->up) == 0);
}

/*
 * The upstream took the whole message but its verdict never came (timeout,
 * connection lost): it may have been delivered, and a retry by the device
 * may make a duplicate. Say so to the device and in the log.
 */
static void
smtp_message_unconfirmed(struct session *s, enum session_result r,
    const char *reason)
{
	char why[300];
	struct log_field f[] = {
		{ "session", s->id }, { "event", "message" },
		{ "device", s->dev->name }, { "result", "unknown" },
		{ "reason", why },
	};

	snprintf(why, sizeof(why), "%s after the end of data; outcome "
	    "unknown, the message may have been delivered", reason);
	log_fields(LOG_WARNING, f, nitems(f));
	side_printf(&s->lan, "451 4.4.0 %s upstream did not confirm the "
	    "message; it may have been delivered", s->cfg->server_name);
	session_close_after_flush(s, r, why);
}

/* The timer fired: idle device, stalled login, or silent upstream. */
static void
smtp_timeout(struct session *s, enum session_timer t)
{
	if (login_timeout(s, t))
		return;
	if (t == TIMER_DATA) {
		smtp_data_expired(s);
		return;
	}
	side_printf(&s->lan, "421 4.4.2 %s Timeout, closing connection",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_TIMEOUT, t == TIMER_IDLE ?
	    "device idle too long" : "device did not log in in time");
}

/* The relay is stopping: tell the device. */
static void
smtp_shutdown(struct session *s)
{
	side_printf(&s->lan, "421 4.3.2 %s Service shutting down",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_SHUTDOWN, "relay shutting down");
}

/* A device command after login: answer locally or forward it. */
static enum step
smtp_relay_command(struct session *s, const char *line)
{
	struct smtp *st = s->proto_state;
	const char *arg;
	enum smtp_verb verb = smtp_parse_verb(line, &arg);
	enum smtp_state next = SMTP_RELAY_REPLY;
	enum step step;

	switch (verb) {
	case SMTP_VERB_AUTH:
		if (!smtp_device_authenticates(s) && !st->auth_ignored)
			return smtp_error(s, "503 5.7.0 This device sends mail "
			    "without AUTH");
		/* FALLTHROUGH */
	case SMTP_VERB_STARTTLS:
		return smtp_error(s, "503 5.5.1 Already authenticated");
	case SMTP_VERB_BDAT:
		return smtp_error(s, "502 5.5.1 BDAT not supported");
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		st->hello_verb = verb;
		side_printf(&s->up, "RSET");
		next = SMTP_RELAY_RSET_REPLY;
		break;
	case SMTP_VERB_DATA:
		next = SMTP_RELAY_DATA_REPLY;
		side_printf(&s->up, "%s", line);
		break;
	case SMTP_VERB_QUIT:
		next = SMTP_RELAY_QUIT_REPLY;
		side_printf(&s->up, "%s", line);
		break;
	case SMTP_VERB_MAIL:
		if (s->dev->auth == AUTH_PASSTHROUGH) {
			side_printf(&s->up, "%s", line);
			break;
		}
		if (!smtp_sender_check(s, arg, &step))
			return step;
		side_printf(&s->up, "%s", st->mail);
		free(st->mail);
		st->mail = NULL;
		break;
	default:
		side_printf(&s->up, "%s", line);
		break;
	}
	evidence_smtp_command(s, line);
	session_enter_state(s, next);
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_WAIT;
}

/* A reply during the relay: forward it and move on. */
static void
smtp_relay_reply(struct session *s)
{
	struct smtp *st = s->proto_state;
	bool forward = s->state != SMTP_RELAY_RSET_REPLY;
	enum smtp_state next = SMTP_RELAY_COMMAND;
	int code;

	switch (smtp_read_reply(s, forward)) {
	case REPLY_PARTIAL:
		return;
	case REPLY_BAD:
		smtp_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent an invalid reply");
		return;
	case REPLY_DONE:
		break;
	}
	code = st->reply_code;
	st->reply_code = 0;
	evidence_smtp_reply(s, code, st->reply_text);
	switch (s->state) {
	case SMTP_RELAY_REPLY:
		break;
	case SMTP_RELAY_RSET_REPLY:
		if (code != 250)
			side_printf(&s->lan, "451 4.3.0 Upstream refused to "
			    "reset the session");
		else if (st->hello_verb == SMTP_VERB_EHLO)
			smtp_send_ehlo_reply(s, true);
		else
			side_printf(&s->lan, "250 %s", s->cfg->server_name);
		break;
	case SMTP_RELAY_DATA_REPLY:
		if (code == 354) {
			smtp_body_start(s);
			st->data_deadline = smtp_now() +
			    (time_t)s->cfg->limits.data_timeout;
			next = SMTP_RELAY_BODY;
		}
		break;
	case SMTP_RELAY_BODY_REPLY:
		smtp_log_message(s, code);
		break;
	case SMTP_RELAY_QUIT_REPLY:
		session_close_after_flush(s, RESULT_OK, NULL);
		return;
	default:
		session_close_after_flush(s, RESULT_UPSTREAM_ERROR,
		    st->reply_text);
		return;
	}
	session_enter_state(s, next);
	session_set_timer(s, TIMER_IDLE);
	session_lan_input(s);
}

/* Seconds on the monotonic clock. */
static time_t
smtp_now(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

/* Arm the timer of a live upload: the idle limit, or what is left of
 * limits.data_timeout when that comes first, since each byte re-arms it. */
static void
smtp_body_timer(struct session *s)
{
	const struct smtp *st = s->proto_state;
	time_t left = st->data_deadline - smtp_now();

	if (left >= (time_t)s->cfg->limits.idle_timeout)
		session_set_timer(s, TIMER_IDLE);
	else
		session_arm_timer(s, TIMER_DATA, left > 0 ? (unsigned)left : 0);
}

/*
 * The message's DATA outlasted limits.data_timeout (a trickled body):
 * drop the upstream connection without the end marker, so the upstream
 * discards the partial message, and tell the device it was not delivered.
 */
static void
smtp_data_expired(struct session *s)
{
	char why[96];
	struct log_field f[] = {
		{ "session", s->id }, { "event", "message" },
		{ "device", s->dev->name }, { "result", "rejected" },
		{ "reason", why },
	};

	snprintf(why, sizeof(why), "message data took longer than "
	    "limits.data_timeout (%u s); not delivered",
	    s->cfg->limits.data_timeout);
	log_fields(LOG_WARNING, f, nitems(f));
	side_close(&s->up);
	side_printf(&s->lan, "451 4.4.2 %s Message data took too long; "
	    "message not delivered", s->cfg->server_name);
	session_close_after_flush(s, RESULT_TIMEOUT, why);
}

/* Count a message the upstream accepted and log the upstream's reply. */
static void
smtp_log_message(struct session *s, int code)
{
	struct smtp *st = s->proto_state;
	bool accepted = code >= 200 && code < 300;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "message" },
		{ "device", s->dev->name },
		{ "result", accepted ? "accepted" : "rejected" },
		{ "reply", st->reply_text },
	};

	if (accepted)
		s->messages++;
	log_fields(LOG_INFO, f, nitems(f));
	metrics_count_message(accepted);
}

/*
 * Move body bytes to the upstream a chunk at a time (body_scan.c finds the
 * cuts). A line ends at CRLF, at a bare LF or at a bare CR; with
 * smtp_bare_line_endings "normalise" the last two are sent as CRLF, with
 * "reject" they refuse the message. Only CRLF "." CRLF ends the message,
 * and any other "." line is dot-stuffed, so the relay and the upstream
 * always agree on where the message ends (no SMTP smuggling, whatever the
 * upstream makes of bare line endings).
 */
static enum step
smtp_body_step(struct session *s)
{
	struct smtp *st = s->proto_state;
	struct evbuffer *in = bufferevent_get_input(s->lan.bev);
	struct evbuffer_iovec v;
	struct body_cut cut;

	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return STEP_WAIT;
	cut = body_scan_chunk(&st->body, v.iov_base, v.iov_len);
	if (cut.bare && s->state == SMTP_RELAY_BODY &&
	    s->cfg->smtp_bare_eol == BARE_EOL_REJECT)
		return smtp_body_refuse(s, cut.len);
	switch (cut.kind) {
	case BODY_HOLD:
		return smtp_body_hold(s, v.iov_len);
	case BODY_END:
		evbuffer_drain(in, cut.len);
		smtp_body_end(s);
		return STEP_WAIT;
	case BODY_COPY:
		smtp_body_move(s, cut.len);
		break;
	default:
		evbuffer_drain(in, cut.len);
		smtp_body_add(s, cut.kind == BODY_BARE ? "\r\n" : "..\r\n");
	}
	return smtp_body_next(s);
}

/* The front of the input needs bytes from the next chunk: make them
 * contiguous if they have arrived (a body_scan decision needs at most 3
 * bytes), else wait for them. */
static enum step
smtp_body_hold(struct session *s, size_t chunk)
{
	struct evbuffer *in = bufferevent_get_input(s->lan.bev);
	size_t avail = evbuffer_get_length(in);

	if (avail <= chunk)
		return STEP_WAIT;
	evbuffer_pullup(in, avail < 3 ? (ev_ssize_t)avail : 3);
	return STEP_MORE;
}

/* Move n bytes of body input to the upstream (or drop them once the
 * message is refused). */
static void
smtp_body_move(struct session *s, size_t n)
{
	struct evbuffer *in = bufferevent_get_input(s->lan.bev);

	evidence_smtp_data(s, in, n);
	if (s->state == SMTP_RELAY_BODY_DISCARD)
		evbuffer_drain(in, n);
	else
		side_move(&s->lan, n);
}

/* Add text of the relay's own to the body sent upstream. */
static void
smtp_body_add(struct session *s, const char *text)
{
	evidence_smtp_text(s, text);
	if (s->state != SMTP_RELAY_BODY_DISCARD)
		evbuffer_add(bufferevent_get_output(s->up.bev), text,
		    strlen(text));
}

/* Go on with the body unless the upstream's output is full. */
static enum step
smtp_body_next(struct session *s)
{
	if (s->state == SMTP_RELAY_BODY_DISCARD)
		return STEP_MORE;
	return side_congested(&s->up) ? STEP_WAIT : STEP_MORE;
}

/* The upstream said 354: read the body in large chunks. */
static void
smtp_body_start(struct session *s)
{
	struct smtp *st = s->proto_state;

	body_scan_start(&st->body);
	side_read_bulk(&s->lan, true);
}

/* The end marker: wait for the upstream's verdict, or give the device
 * the refusal of a message with bare line endings. */
static void
smtp_body_end(struct session *s)
{
	side_read_bulk(&s->lan, false);
	if (s->state == SMTP_RELAY_BODY) {
		smtp_body_add(s, ".\r\n");
		session_enter_state(s, SMTP_RELAY_BODY_REPLY);
		session_set_timer(s, TIMER_UPSTREAM);
		return;
	}
	side_printf(&s->lan, "554 5.6.0 Message refused: bare CR or LF line "
	    "endings are not allowed (RFC 5321 2.3.8); nothing was sent");
	session_enter_state(s, SMTP_RELAY_ABANDONED);
	session_set_timer(s, TIMER_IDLE);
	session_lan_input(s);
}

/*
 * A bare CR or LF under smtp_bare_line_endings "reject": drop the
 * upstream connection without an end marker, so the upstream discards the
 * partial message, and read the rest of the body (after the len bytes
 * of the cut that refused it) to its end.
 */
static enum step
smtp_body_refuse(struct session *s, size_t len)
{
	struct log_field f[] = {
		{ "session", s->id }, { "event", "message" },
		{ "device", s->dev->name }, { "result", "rejected" },
		{ "reason", "bare CR or LF in the message body "
		    "(smtp_bare_line_endings reject)" },
	};

	log_fields(LOG_WARNING, f, nitems(f));
	metrics_count_message(false);
	side_close(&s->up);
	session_enter_state(s, SMTP_RELAY_BODY_DISCARD);
	evbuffer_drain(bufferevent_get_input(s->lan.bev), len);
	return STEP_MORE;
}

/* After a refused message the upstream is gone: QUIT ends the session,
 * anything else is told to start a new one. */
static enum step
smtp_abandoned_command(struct session *s, const char *line)
{
	const char *arg;

	if (smtp_parse_verb(line, &arg) == SMTP_VERB_QUIT) {
		side_printf(&s->lan, "221 2.0.0 Bye");
		session_close_after_flush(s, RESULT_OK, NULL);
	} else {
		side_printf(&s->lan, "421 4.3.0 %s Message refused; "
		    "reconnect to send another", s->cfg->server_name);
		session_close_after_flush(s, RESULT_PROTOCOL_ERROR,
		    "command after a refused message");
	}
	return STEP_GONE;
}
