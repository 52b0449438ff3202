/* SMTP: the LAN phase handled locally, the upstream login, then the relay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "explain.h"
#include "log.h"
#include "oauth.h"
#include "sasl.h"
#include "session.h"
#include "smtp_parse.h"
#include "upstream.h"
#include "util.h"

#define SMTP_MAX_ERRORS		10	/* bad commands before 421 */
#define SMTP_COMMAND_MAX	512	/* RFC 5321 command line, with CRLF */
#define SMTP_PROMPT_USER	"VXNlcm5hbWU6"	/* "Username:" */
#define SMTP_PROMPT_PASS	"UGFzc3dvcmQ6"	/* "Password:" */

/* The login states SMTP_UP_TOKEN..SMTP_UP_XOAUTH2_ERROR must stay
 * contiguous. */
enum smtp_state {
	SMTP_LAN_COMMAND,	/* device commands answered locally */
	SMTP_LAN_AUTH_PLAIN,	/* "334 " sent, waiting for PLAIN data */
	SMTP_LAN_AUTH_USER,	/* LOGIN user name prompt sent */
	SMTP_LAN_AUTH_PASS,	/* LOGIN password prompt sent */
	SMTP_LAN_STARTTLS,	/* "220" sent, LAN TLS handshake pending */
	SMTP_LAN_SECRET,	/* oauth2 device's secret being checked */
	SMTP_UP_TOKEN,		/* waiting for an XOAUTH2 token */
	SMTP_UP_CONNECT,	/* dialling the upstream */
	SMTP_UP_GREETING,	/* waiting for the upstream's 220 */
	SMTP_UP_EHLO,		/* EHLO sent before TLS */
	SMTP_UP_STARTTLS,	/* STARTTLS sent */
	SMTP_UP_TLS,		/* upstream TLS handshake */
	SMTP_UP_EHLO_TLS,	/* EHLO sent over TLS */
	SMTP_UP_AUTH_LOGIN,	/* "AUTH LOGIN" sent, user name next */
	SMTP_UP_AUTH_USER,	/* LOGIN user name sent, password next */
	SMTP_UP_AUTH,		/* credentials sent, waiting for 235 */
	SMTP_UP_XOAUTH2_CONT,	/* "AUTH XOAUTH2" sent, "334" expected */
	SMTP_UP_XOAUTH2,	/* token sent: 235 or an error challenge */
	SMTP_UP_XOAUTH2_ERROR,	/* challenge answered, the refusal follows */
	SMTP_RELAY_COMMAND,	/* waiting for the device's next command */
	SMTP_RELAY_REPLY,	/* command forwarded, reply pending */
	SMTP_RELAY_RSET_REPLY,	/* EHLO after login: our RSET's reply */
	SMTP_RELAY_DATA_REPLY,	/* DATA forwarded, 354 expected */
	SMTP_RELAY_BODY,	/* streaming the message body */
	SMTP_RELAY_BODY_DISCARD, /* bare CR/LF refused: upstream dropped,
				 * body read to its end and discarded */
	SMTP_RELAY_ABANDONED,	/* after that refusal: no upstream left */
	SMTP_RELAY_BODY_REPLY,	/* final dot sent, waiting for the verdict */
	SMTP_RELAY_QUIT_REPLY,	/* QUIT forwarded */
};

/* Result of one processing step over buffered input. */
enum smtp_step {
	STEP_MORE,		/* progress made, try again */
	STEP_WAIT,		/* need more input or an upstream reply */
	STEP_GONE,		/* the session is closing: touch nothing */
};

/* A complete upstream reply, or why there is none. */
enum smtp_reply {
	REPLY_DONE,
	REPLY_PARTIAL,
	REPLY_BAD,
};

struct smtp {
	enum smtp_state	 state;
	char		*line;		/* one command or reply line */
	size_t		 line_size;
	bool		 helo;		/* EHLO/HELO seen since the last TLS */
	bool		 auth_ignored;	/* AUTH taken and ignored (ignore_auth) */
	unsigned	 errors;
	struct sasl_creds creds;
	struct smtp_caps up;		/* upstream capabilities */
	char		*mail;		/* MAIL to send, its sender checked */
	char		 challenge[256]; /* XOAUTH2 error challenge, escaped */
	int		 reply_code;	/* of the reply being read */
	char		 reply_text[256]; /* its first line, escaped */
	const struct explanation *explained; /* a known Exchange refusal */
	struct smtp_body_state body;
	enum smtp_verb	 hello_verb;	/* EHLO or HELO waiting for RSET */
};

typedef enum smtp_step (*smtp_lan_handler)(struct session *, const char *);

static void	smtp_start(struct session *s);
static void	smtp_refuse(struct session *s, bool temporary, const char *why);
static void	smtp_lan_input(struct session *s);
static void	smtp_lan_tls_ready(struct session *s);
static void	smtp_upstream_ready(struct session *s);
static void	smtp_upstream_input(struct session *s);
static void	smtp_upstream_failed(struct session *s, enum session_result r,
		    const char *reason);
static void	smtp_timeout(struct session *s, enum session_timer t);
static void	smtp_shutdown(struct session *s);
static void	smtp_free(struct session *s);

static void	smtp_enter_state(struct session *s, enum smtp_state next);
static const char *smtp_strstate(enum smtp_state state);
static enum smtp_step smtp_lan_step(struct session *s);
static void	smtp_lan_eof(struct session *s);
static enum smtp_step smtp_read_command(struct session *s, const char **line);
static enum smtp_step smtp_error(struct session *s, const char *reply);
static enum smtp_step smtp_lan_command(struct session *s, const char *line);
static enum smtp_step smtp_cmd_helo(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_ehlo(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_starttls(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_auth(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_mail(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_need_auth(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_rset(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_help(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_vrfy(struct session *s, const char *arg);
static enum smtp_step smtp_cmd_quit(struct session *s, const char *arg);
static bool	smtp_auth_allowed(const struct session *s);
static bool	smtp_device_authenticates(const struct session *s);
static bool	smtp_auth_offered(const struct session *s);
static enum smtp_step smtp_auth_line(struct session *s, const char *line);
static enum smtp_step smtp_auth_collected(struct session *s);
static enum smtp_step smtp_device_refused(struct session *s,
		    const char *reason);
static bool	smtp_sender_check(struct session *s, const char *arg,
		    enum smtp_step *step);
static void	smtp_token_get(struct session *s);
static void	smtp_login_checked(struct session *s, const char *refusal);
static void	smtp_token_ready(struct session *s, const char *error);
static void	smtp_token_failed(struct session *s, const char *reason);
static void	smtp_up_login(struct session *s);
static void	smtp_send_ehlo_reply(struct session *s, bool logged_in);
static enum smtp_reply smtp_read_reply(struct session *s, bool forward);
static void	smtp_reply_first(struct session *s, int code, size_t len);
static void	smtp_note_capability(struct smtp *st, const char *text);
static void	smtp_up_step(struct session *s);
static void	smtp_up_login_reply(struct session *s, int code);
static void	smtp_up_send_auth(struct session *s);
static void	smtp_up_send_xoauth2(struct session *s);
static void	smtp_up_xoauth2_challenge(struct session *s);
static void	smtp_up_xoauth2_verdict(struct session *s, int code);
static void	smtp_logged_in(struct session *s);
static void	smtp_login_failed(struct session *s, enum session_result r,
		    const char *reply, const char *reason);
static void	smtp_relay_reply(struct session *s);
static void	smtp_log_message(struct session *s, int code);
static enum smtp_step smtp_relay_command(struct session *s, const char *line);
static enum smtp_step smtp_body_step(struct session *s);
static enum smtp_step smtp_body_refuse(struct session *s);
static void	smtp_body_end(struct session *s);
static enum smtp_step smtp_abandoned_command(struct session *s,
		    const char *line);
static bool	smtp_waiting_upstream(enum smtp_state state);
static bool	smtp_logging_in(enum smtp_state state);

const struct proto_ops smtp_ops = {
	.proto = PROTO_SMTP,
	.start = smtp_start,
	.refuse = smtp_refuse,
	.lan_input = smtp_lan_input,
	.lan_tls_ready = smtp_lan_tls_ready,
	.upstream_ready = smtp_upstream_ready,
	.upstream_input = smtp_upstream_input,
	.upstream_failed = smtp_upstream_failed,
	.login_checked = smtp_login_checked,
	.token_ready = smtp_token_ready,
	.timeout = smtp_timeout,
	.shutdown = smtp_shutdown,
	.free = smtp_free,
};

/* Commands of the LAN phase, answered by the relay itself. */
static const struct {
	enum smtp_verb		verb;
	smtp_lan_handler	handler;
} smtp_lan_commands[] = {
	{ SMTP_VERB_HELO, smtp_cmd_helo },
	{ SMTP_VERB_EHLO, smtp_cmd_ehlo },
	{ SMTP_VERB_STARTTLS, smtp_cmd_starttls },
	{ SMTP_VERB_AUTH, smtp_cmd_auth },
	{ SMTP_VERB_MAIL, smtp_cmd_mail },
	{ SMTP_VERB_RCPT, smtp_cmd_need_auth },
	{ SMTP_VERB_DATA, smtp_cmd_need_auth },
	{ SMTP_VERB_BDAT, smtp_cmd_need_auth },
	{ SMTP_VERB_RSET, smtp_cmd_rset },
	{ SMTP_VERB_NOOP, smtp_cmd_rset },
	{ SMTP_VERB_HELP, smtp_cmd_help },
	{ SMTP_VERB_VRFY, smtp_cmd_vrfy },
	{ SMTP_VERB_EXPN, smtp_cmd_vrfy },
	{ SMTP_VERB_QUIT, smtp_cmd_quit },
};

#define CASE(x) case x: return #x
/* The name of a state, for debug logs. */
static const char *
smtp_strstate(enum smtp_state state)
{
	switch (state) {
	CASE(SMTP_LAN_COMMAND);
	CASE(SMTP_LAN_AUTH_PLAIN);
	CASE(SMTP_LAN_AUTH_USER);
	CASE(SMTP_LAN_AUTH_PASS);
	CASE(SMTP_LAN_STARTTLS);
	CASE(SMTP_LAN_SECRET);
	CASE(SMTP_UP_TOKEN);
	CASE(SMTP_UP_CONNECT);
	CASE(SMTP_UP_GREETING);
	CASE(SMTP_UP_EHLO);
	CASE(SMTP_UP_STARTTLS);
	CASE(SMTP_UP_TLS);
	CASE(SMTP_UP_EHLO_TLS);
	CASE(SMTP_UP_AUTH_LOGIN);
	CASE(SMTP_UP_AUTH_USER);
	CASE(SMTP_UP_AUTH);
	CASE(SMTP_UP_XOAUTH2_CONT);
	CASE(SMTP_UP_XOAUTH2);
	CASE(SMTP_UP_XOAUTH2_ERROR);
	CASE(SMTP_RELAY_COMMAND);
	CASE(SMTP_RELAY_REPLY);
	CASE(SMTP_RELAY_RSET_REPLY);
	CASE(SMTP_RELAY_DATA_REPLY);
	CASE(SMTP_RELAY_BODY);
	CASE(SMTP_RELAY_BODY_DISCARD);
	CASE(SMTP_RELAY_ABANDONED);
	CASE(SMTP_RELAY_BODY_REPLY);
	CASE(SMTP_RELAY_QUIT_REPLY);
	default:
		fatalx("smtp: unknown state %d", state);
	}
}
#undef CASE

/* Change state in one place, with a debug trace. */
static void
smtp_enter_state(struct session *s, enum smtp_state next)
{
	struct smtp *st = s->proto_state;

	log_debug("session=%s smtp %s -> %s", s->id, smtp_strstate(st->state),
	    smtp_strstate(next));
	st->state = next;
}

/* Allocate the SMTP state and greet the device. */
static void
smtp_start(struct session *s)
{
	struct smtp *st = xcalloc(1, sizeof(*st));

	st->line_size = s->cfg->limits.line_length + 1;
	st->line = xcalloc(1, st->line_size);
	s->proto_state = st;
	session_lan_printf(s, "220 %s ESMTP ready", s->cfg->server_name);
}

/* Refuse the device with the SMTP greeting for it. */
static void
smtp_refuse(struct session *s, bool temporary, const char *why)
{
	if (temporary)
		session_lan_printf(s, "421 4.7.0 %s %s, try again later",
		    s->cfg->server_name, why);
	else
		session_lan_printf(s, "554 5.7.1 %s %s", s->cfg->server_name,
		    why);
}

/* Wipe the credentials and free the SMTP state (session_close wipes
 * the token). */
static void
smtp_free(struct session *s)
{
	struct smtp *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	free(st->mail);
	free(st->line);
	free(st);
	s->proto_state = NULL;
}

/* Process as much buffered device input as the state allows. */
static void
smtp_lan_input(struct session *s)
{
	struct smtp *st = s->proto_state;
	enum smtp_step step;

	if ((st->state == SMTP_RELAY_BODY ||
	    st->state == SMTP_RELAY_BODY_DISCARD) && !s->lan.eof)
		session_set_timer(s, TIMER_IDLE);	/* a live upload */

	while ((step = smtp_lan_step(s)) == STEP_MORE)
		;
	if (step == STEP_WAIT && s->lan.eof)
		smtp_lan_eof(s);
}

/* One step of device input processing in the current state. */
static enum smtp_step
smtp_lan_step(struct session *s)
{
	struct smtp *st = s->proto_state;
	const char *line;
	enum smtp_step step;

	switch (st->state) {
	case SMTP_LAN_COMMAND:
	case SMTP_LAN_AUTH_PLAIN:
	case SMTP_LAN_AUTH_USER:
	case SMTP_LAN_AUTH_PASS:
	case SMTP_RELAY_COMMAND:
	case SMTP_RELAY_ABANDONED:
		if ((step = smtp_read_command(s, &line)) != STEP_MORE)
			return step;
		if (st->state == SMTP_LAN_COMMAND)
			return smtp_lan_command(s, line);
		if (st->state == SMTP_RELAY_COMMAND)
			return smtp_relay_command(s, line);
		if (st->state == SMTP_RELAY_ABANDONED)
			return smtp_abandoned_command(s, line);
		return smtp_auth_line(s, line);
	case SMTP_RELAY_BODY:
	case SMTP_RELAY_BODY_DISCARD:
		return smtp_body_step(s);
	default:
		return STEP_WAIT;	/* the upstream's turn */
	}
}

/* The device closed its side: end now unless an upstream reply is due. */
static void
smtp_lan_eof(struct session *s)
{
	struct smtp *st = s->proto_state;

	if (smtp_waiting_upstream(st->state))
		return;
	if (st->state == SMTP_RELAY_BODY ||
	    st->state == SMTP_RELAY_BODY_DISCARD)
		session_close(s, RESULT_CLIENT_CLOSED,
		    "device closed the connection during DATA");
	else if (st->state == SMTP_RELAY_COMMAND)
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

/* Read one device line into st->line; end the session if it is too long. */
static enum smtp_step
smtp_read_command(struct session *s, const char **line)
{
	struct smtp *st = s->proto_state;
	size_t len;

	switch (session_read_line(&s->lan, st->line, st->line_size, &len)) {
	case LINE_OK:
		*line = st->line;
		return STEP_MORE;
	case LINE_NONE:
		return STEP_WAIT;
	case LINE_TOO_LONG:
		session_lan_printf(s, "500 5.5.2 Line too long");
		session_close_after_flush(s, RESULT_LINE_TOO_LONG,
		    "device sent a line over the length limit");
		return STEP_GONE;
	default:
		fatalx("smtp: bad line status");
	}
}

/* Count a bad command; reply, or end the session after too many. */
static enum smtp_step
smtp_error(struct session *s, const char *reply)
{
	struct smtp *st = s->proto_state;

	if (++st->errors >= SMTP_MAX_ERRORS) {
		session_lan_printf(s, "421 4.7.0 %s Too many errors",
		    s->cfg->server_name);
		session_close_after_flush(s, RESULT_PROTOCOL_ERROR,
		    "too many bad commands");
		return STEP_GONE;
	}
	session_lan_printf(s, "%s", reply);
	return STEP_MORE;
}

/* Dispatch one LAN-phase command through the command table. */
static enum smtp_step
smtp_lan_command(struct session *s, const char *line)
{
	const char *arg;
	enum smtp_verb verb = smtp_parse_verb(line, &arg);
	size_t i;

	for (i = 0; i < nitems(smtp_lan_commands); i++)
		if (smtp_lan_commands[i].verb == verb)
			return smtp_lan_commands[i].handler(s, arg);
	return smtp_error(s, "500 5.5.2 Command not recognized");
}

/* HELO: accept any name (or none); the relay uses its own upstream. */
static enum smtp_step
smtp_cmd_helo(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;

	(void)arg;
	st->helo = true;
	session_lan_printf(s, "250 %s", s->cfg->server_name);
	return STEP_MORE;
}

/* EHLO: the relay's own capabilities, never the upstream's. */
static enum smtp_step
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

	session_lan_printf(s, "250-%s", name);
	if (!logged_in && s->lan.ssl == NULL && s->cfg->lan_ctx != NULL)
		session_lan_printf(s, "250-STARTTLS");
	if (!logged_in && smtp_auth_offered(s))
		session_lan_printf(s, "250-AUTH PLAIN LOGIN");
	session_lan_printf(s, "250-SIZE");
	session_lan_printf(s, "250-8BITMIME");
	session_lan_printf(s, "250 ENHANCEDSTATUSCODES");
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
static enum smtp_step
smtp_cmd_starttls(struct session *s, const char *arg)
{
	if (s->cfg->lan_ctx == NULL || s->lan_mode == LAN_TLS_IMPLICIT)
		return smtp_error(s, "502 5.5.1 STARTTLS not available");
	if (s->lan.ssl != NULL)
		return smtp_error(s, "503 5.5.1 TLS already active");
	if (*arg != '\0')
		return smtp_error(s, "501 5.5.4 Syntax: STARTTLS");
	if (session_lan_has_pending(s)) {
		session_close(s, RESULT_INJECTION, "device sent data after "
		    "STARTTLS before the TLS handshake");
		return STEP_GONE;
	}
	session_lan_printf(s, "220 2.0.0 Ready to start TLS");
	smtp_enter_state(s, SMTP_LAN_STARTTLS);
	session_lan_start_tls(s);
	return STEP_WAIT;
}

/* The LAN handshake finished: forget everything said before it. */
static void
smtp_lan_tls_ready(struct session *s)
{
	struct smtp *st = s->proto_state;

	st->helo = false;
	smtp_enter_state(s, SMTP_LAN_COMMAND);
	smtp_lan_input(s);
}

/* AUTH PLAIN or LOGIN, with or without an initial response. */
static enum smtp_step
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
		if (ir == NULL) {
			session_lan_printf(s, "334 ");
			smtp_enter_state(s, SMTP_LAN_AUTH_PLAIN);
			return STEP_MORE;
		}
		smtp_enter_state(s, SMTP_LAN_AUTH_PLAIN);
		return smtp_auth_line(s, ir);
	}
	if (mechlen == 5 && strncasecmp(arg, "LOGIN", 5) == 0) {
		smtp_enter_state(s, SMTP_LAN_AUTH_USER);
		if (ir == NULL) {
			session_lan_printf(s, "334 " SMTP_PROMPT_USER);
			return STEP_MORE;
		}
		return smtp_auth_line(s, ir);
	}
	return smtp_error(s, "504 5.5.4 Unrecognized authentication type");
}

/* One SASL answer from the device in an AUTH exchange. */
static enum smtp_step
smtp_auth_line(struct session *s, const char *line)
{
	struct smtp *st = s->proto_state;
	size_t len = strlen(line);
	bool ok;

	if (strcmp(line, "*") == 0) {
		smtp_enter_state(s, SMTP_LAN_COMMAND);
		return smtp_error(s, "501 5.0.0 Authentication cancelled");
	}
	switch (st->state) {
	case SMTP_LAN_AUTH_PLAIN:
		ok = sasl_plain_decode(line, len, &st->creds);
		break;
	case SMTP_LAN_AUTH_USER:
		if ((ok = sasl_login_decode(line, len, st->creds.user))) {
			session_lan_printf(s, "334 " SMTP_PROMPT_PASS);
			smtp_enter_state(s, SMTP_LAN_AUTH_PASS);
			return STEP_MORE;
		}
		break;
	case SMTP_LAN_AUTH_PASS:
		ok = sasl_login_decode(line, len, st->creds.pass);
		break;
	default:
		fatalx("smtp: AUTH data in state %s", smtp_strstate(st->state));
	}
	if (!ok) {
		sasl_creds_clear(&st->creds);
		smtp_enter_state(s, SMTP_LAN_COMMAND);
		return smtp_error(s, "501 5.5.2 Malformed authentication data");
	}
	return smtp_auth_collected(s);
}

/*
 * Credentials are in. Pass-through: log in upstream with them. oauth2:
 * check them here, then log in upstream as the device's mailbox. relay
 * and connector with ignore_auth: forget them and say yes.
 */
static enum smtp_step
smtp_auth_collected(struct session *s)
{
	struct smtp *st = s->proto_state;
	char why[128];

	if (!smtp_device_authenticates(s)) {
		sasl_creds_clear(&st->creds);
		st->auth_ignored = true;
		smtp_enter_state(s, SMTP_LAN_COMMAND);
		session_lan_printf(s, "235 2.7.0 Authentication successful");
		return STEP_MORE;
	}
	if (s->dev->auth == AUTH_PASSTHROUGH) {
		session_set_user(s, st->creds.user);
		smtp_up_login(s);
		return STEP_WAIT;
	}
	session_set_user(s, s->dev->mailbox);
	if (!session_device_login(s, &st->creds, why, sizeof(why)))
		return smtp_device_refused(s, why);
	sasl_creds_clear(&st->creds);
	smtp_enter_state(s, SMTP_LAN_SECRET);
	return STEP_WAIT;
}

/* The oauth2 device's secret was checked: refuse the login, or get the
 * token to log in upstream. */
static void
smtp_login_checked(struct session *s, const char *refusal)
{
	if (refusal != NULL)
		smtp_device_refused(s, refusal);
	else
		smtp_token_get(s);
}

/* The relay itself refused the device's login: log it now, answer after
 * a delay, and touch nothing upstream. */
static enum smtp_step
smtp_device_refused(struct session *s, const char *reason)
{
	struct smtp *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	session_login_failed(s, RESULT_AUTH_FAILED, reason);
	smtp_enter_state(s, SMTP_LAN_COMMAND);
	session_lan_printf_delayed(s, SESSION_LOGIN_DELAY, "535 5.7.8 "
	    "Authentication credentials invalid");
	return STEP_WAIT;
}

/* MAIL before login: it starts the upstream login of a relay or
 * connector device; any other device must authenticate first. */
static enum smtp_step
smtp_cmd_mail(struct session *s, const char *arg)
{
	struct smtp *st = s->proto_state;
	enum smtp_step step;

	if (smtp_device_authenticates(s))
		return smtp_cmd_need_auth(s, arg);
	if (!st->helo)
		return smtp_error(s, "503 5.5.1 Send EHLO first");
	if (s->dev->mailbox != NULL)
		session_set_user(s, s->dev->mailbox);
	if (!smtp_sender_check(s, arg, &step))
		return step;
	if (s->dev->auth == AUTH_CONNECTOR)
		smtp_up_login(s);
	else
		smtp_token_get(s);
	return STEP_WAIT;
}

/*
 * Check the sender of a MAIL command from an oauth2, relay or connector
 * device (connector senders are all in the accepted domains): true
 * with the command to send upstream in st->mail, else the device has its
 * answer and *step says how to go on.
 */
static bool
smtp_sender_check(struct session *s, const char *arg, enum smtp_step *step)
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
		session_lan_printf(s, "550 5.7.1 Sender <%s> not allowed for "
		    "device %s", addr, dev->name);
		*step = STEP_MORE;
		return false;
	}
	free(st->mail);
	xasprintf(&st->mail, "MAIL FROM:<%s>%s%s", addr,
	    *params != '\0' ? " " : "", params);
	return true;
}

/* Ask for the token to log in upstream as the device's mailbox. */
static void
smtp_token_get(struct session *s)
{
	smtp_enter_state(s, SMTP_UP_TOKEN);
	session_token_get(s);
}

/* The token request ended: dial the upstream, or fail for now. */
static void
smtp_token_ready(struct session *s, const char *error)
{
	if (error != NULL)
		smtp_token_failed(s, error);
	else
		smtp_up_login(s);
}

/* No token: a temporary error for the device. */
static void
smtp_token_failed(struct session *s, const char *reason)
{
	smtp_login_failed(s, RESULT_UPSTREAM_ERROR, "454 4.7.0 Temporary "
	    "authentication failure, try again later", reason);
}

/* Dial the upstream to log in there. */
static void
smtp_up_login(struct session *s)
{
	struct smtp *st = s->proto_state;

	memset(&st->up, 0, sizeof(st->up));
	smtp_enter_state(s, SMTP_UP_CONNECT);
	upstream_dial(s);
}

/* Commands that need a login first (relay, connector: a MAIL first). */
static enum smtp_step
smtp_cmd_need_auth(struct session *s, const char *arg)
{
	(void)arg;
	if (!smtp_device_authenticates(s))
		return smtp_error(s, "503 5.5.1 Bad sequence of commands: send "
		    "MAIL first");
	return smtp_error(s, "530 5.7.0 Authentication required");
}

/* RSET and NOOP: nothing to reset before login. */
static enum smtp_step
smtp_cmd_rset(struct session *s, const char *arg)
{
	(void)arg;
	session_lan_printf(s, "250 2.0.0 OK");
	return STEP_MORE;
}

/* HELP: say what the relay expects. */
static enum smtp_step
smtp_cmd_help(struct session *s, const char *arg)
{
	(void)arg;
	if (!smtp_device_authenticates(s))
		session_lan_printf(s, "214 2.0.0 Send mail without AUTH");
	else
		session_lan_printf(s, "214 2.0.0 Authenticate with AUTH PLAIN "
		    "or AUTH LOGIN, then send mail");
	return STEP_MORE;
}

/* VRFY and EXPN: not offered. */
static enum smtp_step
smtp_cmd_vrfy(struct session *s, const char *arg)
{
	(void)arg;
	session_lan_printf(s, "252 2.5.0 Cannot verify, send some mail");
	return STEP_MORE;
}

/* QUIT before login. */
static enum smtp_step
smtp_cmd_quit(struct session *s, const char *arg)
{
	(void)arg;
	session_lan_printf(s, "221 2.0.0 Bye");
	session_quit_before_login(s, "quit before login");
	return STEP_GONE;
}

/* The upstream connection (or its TLS) is up. */
static void
smtp_upstream_ready(struct session *s)
{
	struct smtp *st = s->proto_state;

	if (st->state == SMTP_UP_TLS) {
		session_up_printf(s, "EHLO %s", s->cfg->server_name);
		smtp_enter_state(s, SMTP_UP_EHLO_TLS);
	} else
		smtp_enter_state(s, SMTP_UP_GREETING);
	session_set_timer(s, TIMER_UPSTREAM);
}

/* Read one upstream reply; forward its lines to the device if asked. */
static enum smtp_reply
smtp_read_reply(struct session *s, bool forward)
{
	struct smtp *st = s->proto_state;
	struct smtp_reply_line rl;
	size_t len;

	for (;;) {
		switch (session_read_line(&s->up, st->line, st->line_size,
		    &len)) {
		case LINE_NONE:
			return REPLY_PARTIAL;
		case LINE_TOO_LONG:
			return REPLY_BAD;
		case LINE_OK:
			break;
		}
		if (!smtp_parse_reply_next(st->reply_code, st->line, len, &rl))
			return REPLY_BAD;
		if (st->reply_code == 0)
			smtp_reply_first(s, rl.code, len);
		st->reply_code = rl.code;
		smtp_note_capability(st, rl.text);
		if (forward && st->explained == NULL)
			session_lan_printf(s, "%s", st->line);
		else if (forward && rl.last)
			session_lan_printf(s, "%s", st->explained->device);
		if (rl.last)
			return REPLY_DONE;
	}
}

/* The first line of a reply: keep it for the log, and explain a known
 * Exchange Online refusal (the device gets the table's reply instead);
 * log any other refusal after login as it came. */
static void
smtp_reply_first(struct session *s, int code, size_t len)
{
	struct smtp *st = s->proto_state;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "upstream_refusal" },
		{ "device", s->dev->name }, { "reply", st->reply_text },
	};

	log_escape(st->reply_text, sizeof(st->reply_text), st->line, len);
	st->explained = code >= 400 ? explain_lookup(EXPLAIN_SMTP, st->line,
	    s->dev->auth != AUTH_PASSTHROUGH) : NULL;
	if (st->explained != NULL)
		explain_log(s->id, s->dev->name, st->explained, st->line);
	else if (code >= 400 && !smtp_logging_in(st->state))
		log_fields(LOG_NOTICE, f, nitems(f));	/* passed on as is */
}

/* Remember STARTTLS and AUTH mechanisms from an EHLO reply line. */
static void
smtp_note_capability(struct smtp *st, const char *text)
{
	if (st->state == SMTP_UP_EHLO || st->state == SMTP_UP_EHLO_TLS)
		smtp_parse_capability(text, &st->up);
}

/* Upstream input: complete replies drive the login or the relay. */
static void
smtp_upstream_input(struct session *s)
{
	struct smtp *st = s->proto_state;

	if (st->state == SMTP_UP_TOKEN || st->state == SMTP_UP_CONNECT ||
	    st->state == SMTP_UP_TLS)
		return;		/* nothing is due yet */
	if (smtp_logging_in(st->state))
		smtp_up_step(s);
	else
		smtp_relay_reply(s);
}

/* States of the upstream login, from the token to the AUTH verdict. */
static bool
smtp_logging_in(enum smtp_state state)
{
	return state >= SMTP_UP_TOKEN && state <= SMTP_UP_XOAUTH2_ERROR;
}

/* Read a login-phase reply and act on it. */
static void
smtp_up_step(struct session *s)
{
	struct smtp *st = s->proto_state;
	int code;

	switch (smtp_read_reply(s, false)) {
	case REPLY_PARTIAL:
		return;
	case REPLY_BAD:
		smtp_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent an invalid reply");
		return;
	case REPLY_DONE:
		code = st->reply_code;
		st->reply_code = 0;
		smtp_up_login_reply(s, code);
		return;
	}
}

/* Act on a complete reply during the upstream login. */
static void
smtp_up_login_reply(struct session *s, int code)
{
	struct smtp *st = s->proto_state;
	char why[400];

	switch (st->state) {
	case SMTP_UP_GREETING:
		if (code != 220)
			break;
		session_up_printf(s, "EHLO %s", s->cfg->server_name);
		smtp_enter_state(s, s->up.tls_up ? SMTP_UP_EHLO_TLS :
		    SMTP_UP_EHLO);
		return;
	case SMTP_UP_EHLO:
		if (code != 250)
			break;
		if (!st->up.starttls) {
			smtp_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED,
			    "upstream does not offer STARTTLS");
			return;
		}
		st->up.plain = st->up.login = false;
		session_up_printf(s, "STARTTLS");
		smtp_enter_state(s, SMTP_UP_STARTTLS);
		return;
	case SMTP_UP_STARTTLS:
		if (code != 220)
			break;
		smtp_enter_state(s, SMTP_UP_TLS);
		upstream_start_tls(s);
		return;
	case SMTP_UP_EHLO_TLS:
		if (code != 250)
			break;
		if (s->dev->auth == AUTH_CONNECTOR)
			smtp_logged_in(s);	/* the certificate was the login */
		else
			smtp_up_send_auth(s);
		return;
	case SMTP_UP_AUTH_LOGIN:
	case SMTP_UP_AUTH_USER:
		if (code != 334)
			break;
		smtp_up_send_auth(s);
		return;
	case SMTP_UP_AUTH:
		if (code == 235) {
			smtp_logged_in(s);
			return;
		}
		snprintf(why, sizeof(why), "upstream refused the login: %s",
		    st->reply_text);
		if (code >= 500)
			smtp_login_failed(s, RESULT_AUTH_FAILED, "535 5.7.8 "
			    "Authentication credentials invalid", why);
		else
			smtp_login_failed(s, RESULT_UPSTREAM_ERROR, "454 4.7.0 "
			    "Temporary authentication failure", why);
		return;
	case SMTP_UP_XOAUTH2_CONT:
		if (code != 334)
			break;
		smtp_up_send_xoauth2(s);
		return;
	case SMTP_UP_XOAUTH2:
		if (code == 334) {
			smtp_up_xoauth2_challenge(s);
			return;
		}
		smtp_up_xoauth2_verdict(s, code);
		return;
	case SMTP_UP_XOAUTH2_ERROR:
		smtp_up_xoauth2_verdict(s, code);
		return;
	default:
		fatalx("smtp: login reply in state %s",
		    smtp_strstate(st->state));
	}
	snprintf(why, sizeof(why), "unexpected upstream reply in %s: %s",
	    smtp_strstate(st->state), st->reply_text);
	smtp_upstream_failed(s, RESULT_UPSTREAM_ERROR, why);
}

/* Send the next AUTH step upstream: PLAIN in one line, or LOGIN. */
static void
smtp_up_send_auth(struct session *s)
{
	struct smtp *st = s->proto_state;
	char b64[SASL_FIELD_MAX * 3];

	switch (st->state) {
	case SMTP_UP_EHLO_TLS:
		if (s->dev->auth != AUTH_PASSTHROUGH) {
			smtp_up_send_xoauth2(s);
			return;
		}
		if (st->up.plain) {
			sasl_plain_encode(&st->creds, b64, sizeof(b64));
			session_up_printf(s, "AUTH PLAIN %s", b64);
			smtp_enter_state(s, SMTP_UP_AUTH);
		} else if (st->up.login) {
			session_up_printf(s, "AUTH LOGIN");
			smtp_enter_state(s, SMTP_UP_AUTH_LOGIN);
		} else {
			smtp_upstream_failed(s, RESULT_UPSTREAM_ERROR,
			    "upstream offers neither AUTH PLAIN nor LOGIN");
			return;
		}
		break;
	case SMTP_UP_AUTH_LOGIN:
		sasl_b64_encode(st->creds.user, strlen(st->creds.user), b64,
		    sizeof(b64));
		session_up_printf(s, "%s", b64);
		smtp_enter_state(s, SMTP_UP_AUTH_USER);
		break;
	case SMTP_UP_AUTH_USER:
		sasl_b64_encode(st->creds.pass, strlen(st->creds.pass), b64,
		    sizeof(b64));
		session_up_printf(s, "%s", b64);
		smtp_enter_state(s, SMTP_UP_AUTH);
		break;
	default:
		fatalx("smtp: AUTH step in state %s", smtp_strstate(st->state));
	}
	OPENSSL_cleanse(b64, sizeof(b64));
}

/*
 * Log in upstream as the device's mailbox with the token: as an initial
 * response if the AUTH command fits the SMTP command line limit (RFC 4954
 * forbids it otherwise), else after the upstream's "334".
 */
static void
smtp_up_send_xoauth2(struct session *s)
{
	struct smtp *st = s->proto_state;
	enum smtp_state next = SMTP_UP_XOAUTH2;
	char *ir;

	if (st->state == SMTP_UP_EHLO_TLS && !st->up.xoauth2) {
		smtp_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream does not offer AUTH XOAUTH2");
		return;
	}
	if ((ir = sasl_xoauth2_encode(s->dev->mailbox, s->token)) == NULL)
		fatalx("smtp: cannot encode the XOAUTH2 response");
	if (st->state == SMTP_UP_XOAUTH2_CONT)
		session_up_printf(s, "%s", ir);
	else if (strlen("AUTH XOAUTH2 \r\n") + strlen(ir) <= SMTP_COMMAND_MAX)
		session_up_printf(s, "AUTH XOAUTH2 %s", ir);
	else {
		session_up_printf(s, "AUTH XOAUTH2");
		next = SMTP_UP_XOAUTH2_CONT;
	}
	OPENSSL_clear_free(ir, strlen(ir));
	st->challenge[0] = '\0';
	smtp_enter_state(s, next);
}

/* An XOAUTH2 error challenge: keep it for the log, answer it with an
 * empty line to get the refusal. */
static void
smtp_up_xoauth2_challenge(struct session *s)
{
	struct smtp *st = s->proto_state;
	struct smtp_reply_line rl;

	if (smtp_parse_reply_line(st->line, strlen(st->line), &rl))
		sasl_xoauth2_challenge(st->challenge,
		    sizeof(st->challenge), rl.text);
	session_up_printf(s, "%s", "");
	smtp_enter_state(s, SMTP_UP_XOAUTH2_ERROR);
}

/* The upstream's verdict on the token: a permanent refusal drops it from
 * the cache and points the admin at the mailbox permission. */
static void
smtp_up_xoauth2_verdict(struct session *s, int code)
{
	struct smtp *st = s->proto_state;
	char why[640];

	if (code == 235) {
		smtp_logged_in(s);
		return;
	}
	if (code < 500) {
		snprintf(why, sizeof(why), "upstream refused the login: %s",
		    st->reply_text);
		smtp_login_failed(s, RESULT_UPSTREAM_ERROR, "454 4.7.0 "
		    "Temporary authentication failure", why);
		return;
	}
	session_token_refused(s, s->token, st->reply_text, st->challenge,
	    why, sizeof(why));
	smtp_login_failed(s, RESULT_AUTH_FAILED, st->mail != NULL ?
	    "535 5.7.8 Upstream refused the relay's login for this device" :
	    "535 5.7.8 Authentication credentials invalid", why);
}

/* Logged in upstream: the device gets 235, or a relay device's MAIL goes
 * upstream and the device gets the answer to it. */
static void
smtp_logged_in(struct session *s)
{
	struct smtp *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	session_token_clear(s);
	if (st->mail != NULL) {
		session_up_printf(s, "%s", st->mail);
		free(st->mail);
		st->mail = NULL;
		smtp_enter_state(s, SMTP_RELAY_REPLY);
		session_set_timer(s, TIMER_UPSTREAM);
		return;
	}
	session_lan_printf(s, "235 2.7.0 Authentication successful");
	smtp_enter_state(s, SMTP_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	smtp_lan_input(s);
}


/* The upstream refused the login: tell the device, drop the upstream, and
 * let the device try again or quit. */
static void
smtp_login_failed(struct session *s, enum session_result r,
    const char *reply, const char *reason)
{
	struct smtp *st = s->proto_state;

	session_login_failed(s, r, reason);
	sasl_creds_clear(&st->creds);
	session_token_clear(s);
	free(st->mail);
	st->mail = NULL;
	if (s->dial != NULL)
		upstream_dial_cancel(s);
	side_close(&s->up);
	st->reply_code = 0;
	session_lan_printf(s, "%s", st->explained != NULL ?
	    st->explained->device : reply);
	st->explained = NULL;
	smtp_enter_state(s, SMTP_LAN_COMMAND);
	session_set_timer(s, TIMER_PRELOGIN);
	smtp_lan_input(s);
}

/* The upstream failed or vanished: a temporary error, never a success. */
static void
smtp_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	struct smtp *st = s->proto_state;

	if (smtp_logging_in(st->state)) {
		smtp_login_failed(s, r, "454 4.7.0 Upstream server unavailable,"
		    " try again later", reason);
		return;
	}
	if (st->state == SMTP_RELAY_QUIT_REPLY) {
		session_lan_printf(s, "221 2.0.0 Bye");
		session_close_after_flush(s, RESULT_OK, NULL);
		return;
	}
	session_lan_printf(s, "421 4.4.2 %s upstream connection lost%s",
	    s->cfg->server_name, st->state == SMTP_RELAY_BODY ||
	    st->state == SMTP_RELAY_BODY_REPLY ?
	    "; message not delivered" : "");
	session_close_after_flush(s, r, reason);
}

/* The timer fired: idle device, stalled login, or silent upstream. */
static void
smtp_timeout(struct session *s, enum session_timer t)
{
	struct smtp *st = s->proto_state;

	if (t == TIMER_UPSTREAM && st->state == SMTP_UP_TOKEN) {
		smtp_token_failed(s, "no token from the token endpoint in "
		    "time");
		return;
	}
	if (t == TIMER_UPSTREAM) {
		smtp_upstream_failed(s, st->state == SMTP_UP_CONNECT ?
		    RESULT_UPSTREAM_UNREACHABLE : RESULT_UPSTREAM_ERROR,
		    "upstream timed out");
		return;
	}
	session_lan_printf(s, "421 4.4.2 %s Timeout, closing connection",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_TIMEOUT, t == TIMER_IDLE ?
	    "device idle too long" : "device did not log in in time");
}

/* The relay is stopping: tell the device. */
static void
smtp_shutdown(struct session *s)
{
	session_lan_printf(s, "421 4.3.2 %s Service shutting down",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_SHUTDOWN, "relay shutting down");
}

/* A device command after login: answer locally or forward it. */
static enum smtp_step
smtp_relay_command(struct session *s, const char *line)
{
	struct smtp *st = s->proto_state;
	const char *arg;
	enum smtp_verb verb = smtp_parse_verb(line, &arg);
	enum smtp_state next = SMTP_RELAY_REPLY;
	enum smtp_step step;

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
		session_up_printf(s, "RSET");
		next = SMTP_RELAY_RSET_REPLY;
		break;
	case SMTP_VERB_DATA:
		next = SMTP_RELAY_DATA_REPLY;
		session_up_printf(s, "%s", line);
		break;
	case SMTP_VERB_QUIT:
		next = SMTP_RELAY_QUIT_REPLY;
		session_up_printf(s, "%s", line);
		break;
	case SMTP_VERB_MAIL:
		if (s->dev->auth == AUTH_PASSTHROUGH) {
			session_up_printf(s, "%s", line);
			break;
		}
		if (!smtp_sender_check(s, arg, &step))
			return step;
		session_up_printf(s, "%s", st->mail);
		free(st->mail);
		st->mail = NULL;
		break;
	default:
		session_up_printf(s, "%s", line);
		break;
	}
	smtp_enter_state(s, next);
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_WAIT;
}

/* A reply during the relay: forward it and move on. */
static void
smtp_relay_reply(struct session *s)
{
	struct smtp *st = s->proto_state;
	bool forward = st->state != SMTP_RELAY_RSET_REPLY;
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
	switch (st->state) {
	case SMTP_RELAY_REPLY:
		break;
	case SMTP_RELAY_RSET_REPLY:
		if (code != 250)
			session_lan_printf(s, "451 4.3.0 Upstream refused to "
			    "reset the session");
		else if (st->hello_verb == SMTP_VERB_EHLO)
			smtp_send_ehlo_reply(s, true);
		else
			session_lan_printf(s, "250 %s", s->cfg->server_name);
		break;
	case SMTP_RELAY_DATA_REPLY:
		if (code == 354) {
			smtp_body_start(&st->body);
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
	smtp_enter_state(s, next);
	session_set_timer(s, TIMER_IDLE);
	smtp_lan_input(s);
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
}

/*
 * Move body bytes to the upstream, line by line (smtp_body_scan). With
 * smtp_bare_line_endings "normalise" a bare CR or LF is sent as CRLF, with
 * "reject" it refuses the message; after that refusal the rest of the
 * body is read to its end and dropped.
 */
static enum smtp_step
smtp_body_step(struct session *s)
{
	struct smtp *st = s->proto_state;
	bool discard = st->state == SMTP_RELAY_BODY_DISCARD;

	switch (smtp_body_scan(bufferevent_get_input(s->lan.bev),
	    discard ? NULL : bufferevent_get_output(s->up.bev), &st->body,
	    !discard && s->cfg->smtp_bare_eol == BARE_EOL_REJECT)) {
	case SMTP_BODY_WAIT:
		return STEP_WAIT;
	case SMTP_BODY_BARE:
		return smtp_body_refuse(s);
	case SMTP_BODY_END:
		smtp_body_end(s);
		return STEP_WAIT;
	case SMTP_BODY_MORE:
		break;
	}
	return !discard && session_up_congested(s) ? STEP_WAIT : STEP_MORE;
}

/* The end marker: wait for the upstream's verdict, or give the device
 * the refusal of a message with bare line endings. */
static void
smtp_body_end(struct session *s)
{
	struct smtp *st = s->proto_state;

	if (st->state == SMTP_RELAY_BODY) {
		smtp_enter_state(s, SMTP_RELAY_BODY_REPLY);
		session_set_timer(s, TIMER_UPSTREAM);
		return;
	}
	session_lan_printf(s, "554 5.6.0 Message refused: bare CR or LF line "
	    "endings are not allowed (RFC 5321 2.3.8); nothing was sent");
	smtp_enter_state(s, SMTP_RELAY_ABANDONED);
	session_set_timer(s, TIMER_IDLE);
	smtp_lan_input(s);
}

/*
 * A bare CR or LF under smtp_bare_line_endings "reject": drop the
 * upstream connection without an end marker, so the upstream discards the
 * partial message, and read the rest of the body to its end.
 */
static enum smtp_step
smtp_body_refuse(struct session *s)
{
	struct smtp *st = s->proto_state;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "message" },
		{ "device", s->dev->name }, { "result", "rejected" },
		{ "reason", "bare CR or LF in the message body "
		    "(smtp_bare_line_endings reject)" },
	};

	log_fields(LOG_WARNING, f, nitems(f));
	side_close(&s->up);
	smtp_enter_state(s, SMTP_RELAY_BODY_DISCARD);
	st->body.line_start = false;
	return STEP_MORE;
}

/* After a refused message the upstream is gone: QUIT ends the session,
 * anything else is told to start a new one. */
static enum smtp_step
smtp_abandoned_command(struct session *s, const char *line)
{
	const char *arg;

	if (smtp_parse_verb(line, &arg) == SMTP_VERB_QUIT) {
		session_lan_printf(s, "221 2.0.0 Bye");
		session_close_after_flush(s, RESULT_OK, NULL);
	} else {
		session_lan_printf(s, "421 4.3.0 %s Message refused; "
		    "reconnect to send another", s->cfg->server_name);
		session_close_after_flush(s, RESULT_PROTOCOL_ERROR,
		    "command after a refused message");
	}
	return STEP_GONE;
}
