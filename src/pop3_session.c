/* POP3: the LAN phase handled locally, the upstream login, then the relay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "explain.h"
#include "log.h"
#include "oauth.h"
#include "pop3_parse.h"
#include "sasl.h"
#include "session.h"
#include "upstream.h"
#include "util.h"

#define POP3_MAX_ERRORS		10	/* bad commands before the session ends */
#define POP3_PROMPT_USER	"VXNlcm5hbWU6"	/* "Username:" */
#define POP3_PROMPT_PASS	"UGFzc3dvcmQ6"	/* "Password:" */

/* The login states POP3_UP_TOKEN..POP3_UP_XOAUTH2_ERROR must stay
 * contiguous. */
enum pop3_state {
	POP3_LAN_COMMAND,	/* device commands answered locally */
	POP3_LAN_AUTH_PLAIN,	/* "+ " sent, waiting for PLAIN data */
	POP3_LAN_AUTH_USER,	/* LOGIN user name prompt sent */
	POP3_LAN_AUTH_PASS,	/* LOGIN password prompt sent */
	POP3_LAN_STLS,		/* "+OK" sent, LAN TLS handshake pending */
	POP3_LAN_SECRET,	/* oauth2 device's secret being checked */
	POP3_UP_TOKEN,		/* waiting for an XOAUTH2 token */
	POP3_UP_CONNECT,	/* dialling the upstream */
	POP3_UP_GREETING,	/* waiting for the upstream's +OK */
	POP3_UP_CAPA,		/* CAPA sent before TLS */
	POP3_UP_STLS,		/* STLS sent */
	POP3_UP_TLS,		/* upstream TLS handshake */
	POP3_UP_CAPA_TLS,	/* CAPA sent over TLS */
	POP3_UP_USER,		/* USER sent, PASS next */
	POP3_UP_AUTH_PLAIN,	/* "AUTH PLAIN" sent, waiting for "+" */
	POP3_UP_AUTH,		/* password sent, waiting for the verdict */
	POP3_UP_XOAUTH2,	/* "AUTH XOAUTH2" sent, waiting for "+" */
	POP3_UP_XOAUTH2_TOKEN,	/* token sent: +OK, or an error challenge */
	POP3_UP_XOAUTH2_ERROR,	/* challenge answered, the refusal follows */
	POP3_RELAY_COMMAND,	/* waiting for the device's next command */
	POP3_RELAY_REPLY,	/* command forwarded, status line pending */
	POP3_RELAY_BODY,	/* streaming the lines of a multi-line answer */
	POP3_RELAY_QUIT_REPLY,	/* QUIT forwarded */
};

/* Result of one processing step. */
enum pop3_step {
	STEP_MORE,		/* progress made, try again */
	STEP_WAIT,		/* need more input or an upstream answer */
	STEP_GONE,		/* the session may be closed: touch nothing */
};

struct pop3 {
	enum pop3_state	 state;
	char		*line;		/* one command or response line */
	size_t		 line_size;
	unsigned	 errors;
	bool		 have_user;	/* USER accepted, PASS may follow */
	struct sasl_creds creds;
	struct pop3_caps up_caps;	/* the upstream's CAPA answer */
	char		 challenge[256]; /* XOAUTH2 error challenge, escaped */
	bool		 up_listing;	/* reading the lines of that answer */
	char		 reply_text[256]; /* last upstream status, escaped */
	enum pop3_verb	 relay_verb;	/* the command being relayed */
	bool		 relay_multiline; /* its +OK answer is multi-line */
	bool		 body_line_start; /* the body so far ends a line */
};

typedef enum pop3_step (*pop3_lan_handler)(struct session *,
    const struct pop3_cmd *);

static void	pop3_start(struct session *s);
static void	pop3_refuse(struct session *s, bool temporary, const char *why);
static void	pop3_lan_input(struct session *s);
static void	pop3_lan_tls_ready(struct session *s);
static void	pop3_upstream_ready(struct session *s);
static void	pop3_upstream_input(struct session *s);
static void	pop3_upstream_failed(struct session *s, enum session_result r,
		    const char *reason);
static void	pop3_timeout(struct session *s, enum session_timer t);
static void	pop3_shutdown(struct session *s);
static void	pop3_free(struct session *s);

static void	pop3_enter_state(struct session *s, enum pop3_state next);
static const char *pop3_strstate(enum pop3_state state);
static enum pop3_step pop3_lan_step(struct session *s);
static void	pop3_lan_eof(struct session *s);
static enum pop3_step pop3_read_command(struct session *s, size_t *len);
static enum pop3_step pop3_error(struct session *s, const char *reply);
static enum pop3_step pop3_bad_command(struct session *s,
		    enum pop3_cmd_status status, enum pop3_verb verb);
static void	pop3_policy(const struct session *s, struct pop3_policy *p);
static bool	pop3_auth_allowed(const struct session *s);
static enum pop3_step pop3_lan_command(struct session *s, size_t len);
static enum pop3_step pop3_cmd_capa(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_stls(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_user(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_pass(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_auth(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_apop(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_need_auth(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_cmd_quit(struct session *s,
		    const struct pop3_cmd *cmd);
static enum pop3_step pop3_auth_refused(struct session *s);
static enum pop3_step pop3_auth_line(struct session *s, const char *line);
static enum pop3_step pop3_auth_collected(struct session *s);
static enum pop3_step pop3_device_refused(struct session *s,
		    const char *reason);
static enum pop3_step pop3_mailbox_busy(struct session *s);
static void	pop3_token_get(struct session *s);
static void	pop3_login_checked(struct session *s, const char *refusal);
static void	pop3_token_ready(struct session *s, const char *error);
static void	pop3_token_failed(struct session *s, const char *reason);
static void	pop3_up_login(struct session *s);
static void	pop3_send_capa(struct session *s);
static void	pop3_up_step(struct session *s);
static enum pop3_step pop3_up_login_line(struct session *s, size_t len);
static enum pop3_step pop3_up_capa_line(struct session *s);
static enum pop3_step pop3_up_send_login(struct session *s);
static enum pop3_step pop3_up_send_plain(struct session *s);
static enum pop3_step pop3_up_send_xoauth2(struct session *s);
static enum pop3_step pop3_up_xoauth2_line(struct session *s,
		    enum pop3_status status, const char *text);
static enum pop3_step pop3_login_refused(struct session *s,
		    const char *text);
static void	pop3_login_failed(struct session *s, enum session_result r,
		    const char *reply, const char *reason);
static void	pop3_logged_in(struct session *s);
static enum pop3_step pop3_relay_command(struct session *s, size_t len);
static void	pop3_relay_input(struct session *s);
static void	pop3_relay_idle(struct session *s);
static enum pop3_step pop3_relay_status(struct session *s);
static enum pop3_step pop3_relay_body(struct session *s);
static enum pop3_step pop3_relay_done(struct session *s, bool body);
static bool	pop3_logging_in(enum pop3_state state);

const struct proto_ops pop3_ops = {
	.proto = PROTO_POP3,
	.start = pop3_start,
	.refuse = pop3_refuse,
	.lan_input = pop3_lan_input,
	.lan_tls_ready = pop3_lan_tls_ready,
	.upstream_ready = pop3_upstream_ready,
	.upstream_input = pop3_upstream_input,
	.upstream_failed = pop3_upstream_failed,
	.login_checked = pop3_login_checked,
	.token_ready = pop3_token_ready,
	.timeout = pop3_timeout,
	.shutdown = pop3_shutdown,
	.free = pop3_free,
};

/* Commands of the LAN phase, answered by the relay itself. */
static const struct {
	enum pop3_verb		verb;
	pop3_lan_handler	handler;
} pop3_lan_commands[] = {
	{ POP3_VERB_CAPA, pop3_cmd_capa },
	{ POP3_VERB_STLS, pop3_cmd_stls },
	{ POP3_VERB_USER, pop3_cmd_user },
	{ POP3_VERB_PASS, pop3_cmd_pass },
	{ POP3_VERB_AUTH, pop3_cmd_auth },
	{ POP3_VERB_APOP, pop3_cmd_apop },
	{ POP3_VERB_QUIT, pop3_cmd_quit },
	{ POP3_VERB_STAT, pop3_cmd_need_auth },
	{ POP3_VERB_LIST, pop3_cmd_need_auth },
	{ POP3_VERB_RETR, pop3_cmd_need_auth },
	{ POP3_VERB_DELE, pop3_cmd_need_auth },
	{ POP3_VERB_NOOP, pop3_cmd_need_auth },
	{ POP3_VERB_RSET, pop3_cmd_need_auth },
	{ POP3_VERB_TOP, pop3_cmd_need_auth },
	{ POP3_VERB_UIDL, pop3_cmd_need_auth },
};

/* Upstream login refusals that are not about the credentials: the
 * response code, the device's reply. Any other refusal is [AUTH]. */
static const struct {
	const char	*code;
	const char	*reply;
} pop3_login_codes[] = {
	{ "SYS/TEMP", "-ERR [SYS/TEMP] Temporary failure upstream, try again "
	    "later" },
	{ "SYS/PERM", "-ERR [SYS/PERM] Upstream system error" },
	{ "IN-USE", "-ERR [IN-USE] Mailbox in use upstream, try again later" },
	{ "LOGIN-DELAY", "-ERR [LOGIN-DELAY] Upstream asks to wait before "
	    "logging in again" },
};

#define CASE(x) case x: return #x
/* The name of a state, for debug logs. */
static const char *
pop3_strstate(enum pop3_state state)
{
	switch (state) {
	CASE(POP3_LAN_COMMAND);
	CASE(POP3_LAN_AUTH_PLAIN);
	CASE(POP3_LAN_AUTH_USER);
	CASE(POP3_LAN_AUTH_PASS);
	CASE(POP3_LAN_STLS);
	CASE(POP3_LAN_SECRET);
	CASE(POP3_UP_TOKEN);
	CASE(POP3_UP_CONNECT);
	CASE(POP3_UP_GREETING);
	CASE(POP3_UP_CAPA);
	CASE(POP3_UP_STLS);
	CASE(POP3_UP_TLS);
	CASE(POP3_UP_CAPA_TLS);
	CASE(POP3_UP_USER);
	CASE(POP3_UP_AUTH_PLAIN);
	CASE(POP3_UP_AUTH);
	CASE(POP3_UP_XOAUTH2);
	CASE(POP3_UP_XOAUTH2_TOKEN);
	CASE(POP3_UP_XOAUTH2_ERROR);
	CASE(POP3_RELAY_COMMAND);
	CASE(POP3_RELAY_REPLY);
	CASE(POP3_RELAY_BODY);
	CASE(POP3_RELAY_QUIT_REPLY);
	default:
		fatalx("pop3: unknown state %d", state);
	}
}
#undef CASE

/* Change state in one place, with a debug trace. */
static void
pop3_enter_state(struct session *s, enum pop3_state next)
{
	struct pop3 *st = s->proto_state;

	log_debug("session=%s pop3 %s -> %s", s->id, pop3_strstate(st->state),
	    pop3_strstate(next));
	st->state = next;
}

/* Allocate the POP3 state and greet the device. */
static void
pop3_start(struct session *s)
{
	struct pop3 *st = xcalloc(1, sizeof(*st));

	st->line_size = s->cfg->limits.line_length + 1;
	st->line = xcalloc(1, st->line_size);
	s->proto_state = st;
	session_lan_printf(s, "+OK %s POP3 ready", s->cfg->server_name);
}

/* Refuse the device with an -ERR greeting that says why. */
static void
pop3_refuse(struct session *s, bool temporary, const char *why)
{
	if (temporary)
		session_lan_printf(s, "-ERR [SYS/TEMP] %s %s, try again later",
		    s->cfg->server_name, why);
	else
		session_lan_printf(s, "-ERR %s %s", s->cfg->server_name, why);
}

/* Wipe the credentials and free the POP3 state (session_close wipes
 * the token). */
static void
pop3_free(struct session *s)
{
	struct pop3 *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	OPENSSL_cleanse(st->line, st->line_size);
	free(st->line);
	free(st);
	s->proto_state = NULL;
}

/* Process as much buffered device input as the state allows. */
static void
pop3_lan_input(struct session *s)
{
	enum pop3_step step;

	while ((step = pop3_lan_step(s)) == STEP_MORE)
		;
	if (step == STEP_WAIT && s->lan.eof)
		pop3_lan_eof(s);
}

/* One step of device input processing in the current state. */
static enum pop3_step
pop3_lan_step(struct session *s)
{
	struct pop3 *st = s->proto_state;
	enum pop3_step step;
	size_t len;

	switch (st->state) {
	case POP3_RELAY_COMMAND:
		/* Answers the device has not read yet hold its next command. */
		if (s->up_congested || session_lan_congested(s))
			return STEP_WAIT;
		/* FALLTHROUGH */
	case POP3_LAN_COMMAND:
	case POP3_LAN_AUTH_PLAIN:
	case POP3_LAN_AUTH_USER:
	case POP3_LAN_AUTH_PASS:
		if ((step = pop3_read_command(s, &len)) != STEP_MORE)
			return step;
		if (st->state == POP3_LAN_COMMAND)
			return pop3_lan_command(s, len);
		if (st->state == POP3_RELAY_COMMAND)
			return pop3_relay_command(s, len);
		return pop3_auth_line(s, st->line);
	default:
		return STEP_WAIT;	/* the upstream's turn */
	}
}

/* The device closed its side: end now unless an upstream answer is due. */
static void
pop3_lan_eof(struct session *s)
{
	struct pop3 *st = s->proto_state;

	switch (st->state) {
	case POP3_RELAY_REPLY:
	case POP3_RELAY_QUIT_REPLY:
		return;		/* the session ends after the answer */
	case POP3_RELAY_BODY:
		session_close(s, RESULT_CLIENT_CLOSED, "device closed the "
		    "connection during a multi-line answer");
		return;
	case POP3_RELAY_COMMAND:
		session_close(s, RESULT_OK, "device closed the connection "
		    "without QUIT");
		return;
	default:
		session_close_before_login(s, RESULT_CLIENT_CLOSED, "device "
		    "closed the connection without QUIT");
		return;
	}
}

/* Read one device line into st->line; end the session if it is too long. */
static enum pop3_step
pop3_read_command(struct session *s, size_t *len)
{
	struct pop3 *st = s->proto_state;

	switch (session_read_line(&s->lan, st->line, st->line_size, len)) {
	case LINE_OK:
		return STEP_MORE;
	case LINE_NONE:
		return STEP_WAIT;
	case LINE_TOO_LONG:
		session_lan_printf(s, "-ERR Line too long");
		session_close_after_flush(s, RESULT_LINE_TOO_LONG,
		    "device sent a line over the length limit");
		return STEP_GONE;
	default:
		fatalx("pop3: bad line status");
	}
}

/* Count a bad command; reply, or end the session after too many. */
static enum pop3_step
pop3_error(struct session *s, const char *reply)
{
	struct pop3 *st = s->proto_state;

	if (++st->errors >= POP3_MAX_ERRORS) {
		session_lan_printf(s, "-ERR Too many bad commands, closing "
		    "connection");
		session_close_after_flush(s, RESULT_PROTOCOL_ERROR,
		    "too many bad commands");
		return STEP_GONE;
	}
	session_lan_printf(s, "%s", reply);
	return STEP_MORE;
}

/* Answer a command the parser did not accept. */
static enum pop3_step
pop3_bad_command(struct session *s, enum pop3_cmd_status status,
    enum pop3_verb verb)
{
	char reply[128];

	switch (status) {
	case POP3_CMD_UNKNOWN:
		return pop3_error(s, "-ERR Unknown command");
	case POP3_CMD_TOO_LONG:
		return pop3_error(s, "-ERR Argument too long");
	case POP3_CMD_SYNTAX:
		snprintf(reply, sizeof(reply), "-ERR Syntax: %s",
		    pop3_cmd_usage(verb));
		return pop3_error(s, reply);
	default:
		fatalx("pop3: bad command status %d", status);
	}
}

/* The facts the relay's CAPA and AUTH answers depend on. */
static void
pop3_policy(const struct session *s, struct pop3_policy *p)
{
	const struct pop3 *st = s->proto_state;

	memset(p, 0, sizeof(*p));
	p->lan_cert = s->cfg->lan_ctx != NULL;
	p->lan_tls = s->lan.tls_up;
	p->plaintext_auth = s->dev->plaintext_auth;
	p->logged_in = st->state >= POP3_RELAY_COMMAND;
	p->up = st->up_caps;
}

/* May the device send credentials on this connection now? */
static bool
pop3_auth_allowed(const struct session *s)
{
	struct pop3_policy p;

	pop3_policy(s, &p);
	return pop3_policy_auth(&p);
}

/* Dispatch one LAN-phase command through the command table. */
static enum pop3_step
pop3_lan_command(struct session *s, size_t len)
{
	struct pop3 *st = s->proto_state;
	struct pop3_cmd cmd;
	enum pop3_cmd_status status;
	size_t i;

	status = pop3_parse_command(st->line, len, &cmd);
	if (status != POP3_CMD_OK)
		return pop3_bad_command(s, status, cmd.verb);
	for (i = 0; i < nitems(pop3_lan_commands); i++)
		if (pop3_lan_commands[i].verb == cmd.verb)
			return pop3_lan_commands[i].handler(s, &cmd);
	fatalx("pop3: no LAN handler for verb %d", cmd.verb);
}

/* CAPA: the relay's own list, never the upstream's. */
static enum pop3_step
pop3_cmd_capa(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	pop3_send_capa(s);
	return STEP_MORE;
}

/* Send the CAPA answer for the session's current circumstances. */
static void
pop3_send_capa(struct session *s)
{
	struct pop3_policy p;
	const char *caps[POP3_CAPA_MAX];
	size_t i, n;

	pop3_policy(s, &p);
	n = pop3_capa_list(&p, caps);
	session_lan_printf(s, "+OK Capability list follows");
	for (i = 0; i < n; i++)
		session_lan_printf(s, "%s", caps[i]);
	session_lan_printf(s, ".");
}

/* STLS: refuse pipelined bytes (injection), then start TLS. */
static enum pop3_step
pop3_cmd_stls(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3_policy p;

	(void)cmd;
	pop3_policy(s, &p);
	if (!pop3_policy_stls(&p))
		return pop3_error(s, s->lan.ssl != NULL ?
		    "-ERR TLS already active" : "-ERR STLS not available");
	if (session_lan_has_pending(s)) {
		session_close(s, RESULT_INJECTION, "device sent data after "
		    "STLS before the TLS handshake");
		return STEP_GONE;
	}
	session_lan_printf(s, "+OK Begin TLS negotiation");
	pop3_enter_state(s, POP3_LAN_STLS);
	session_lan_start_tls(s);
	return STEP_WAIT;
}

/* The LAN handshake finished: forget everything said before it. */
static void
pop3_lan_tls_ready(struct session *s)
{
	struct pop3 *st = s->proto_state;

	st->have_user = false;
	sasl_creds_clear(&st->creds);
	pop3_enter_state(s, POP3_LAN_COMMAND);
	pop3_lan_input(s);
}

/* Credentials are not welcome here: say what would make them so. */
static enum pop3_step
pop3_auth_refused(struct session *s)
{
	struct pop3_policy p;

	pop3_policy(s, &p);
	if (pop3_policy_stls(&p))
		return pop3_error(s, "-ERR [AUTH] Plaintext authentication is "
		    "not allowed without TLS: use STLS first");
	return pop3_error(s, "-ERR [AUTH] Plaintext authentication is not "
	    "allowed on this connection");
}

/* USER: remember the name; PASS completes the login. */
static enum pop3_step
pop3_cmd_user(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3 *st = s->proto_state;

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	snprintf(st->creds.user, sizeof(st->creds.user), "%s", cmd->arg);
	st->have_user = true;
	session_lan_printf(s, "+OK Send PASS");
	return STEP_MORE;
}

/* PASS: the credentials are complete; log in upstream with them. */
static enum pop3_step
pop3_cmd_pass(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3 *st = s->proto_state;

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	if (!st->have_user)
		return pop3_error(s, "-ERR Send USER first");
	snprintf(st->creds.pass, sizeof(st->creds.pass), "%s", cmd->arg);
	OPENSSL_cleanse(st->line, st->line_size);
	return pop3_auth_collected(s);
}

/* AUTH PLAIN or LOGIN, with or without an initial response; a bare AUTH
 * lists the mechanisms (RFC 1734 style). */
static enum pop3_step
pop3_cmd_auth(struct session *s, const struct pop3_cmd *cmd)
{
	const char *ir;
	enum pop3_mech mech = pop3_parse_auth(cmd->arg, &ir);

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	switch (mech) {
	case POP3_MECH_NONE:
		session_lan_printf(s, "+OK Mechanisms follow");
		session_lan_printf(s, "PLAIN");
		session_lan_printf(s, "LOGIN");
		session_lan_printf(s, ".");
		return STEP_MORE;
	case POP3_MECH_PLAIN:
		pop3_enter_state(s, POP3_LAN_AUTH_PLAIN);
		if (ir != NULL)
			return pop3_auth_line(s, ir);
		session_lan_printf(s, "+ ");
		return STEP_MORE;
	case POP3_MECH_LOGIN:
		pop3_enter_state(s, POP3_LAN_AUTH_USER);
		if (ir != NULL)
			return pop3_auth_line(s, ir);
		session_lan_printf(s, "+ " POP3_PROMPT_USER);
		return STEP_MORE;
	case POP3_MECH_UNKNOWN:
		return pop3_error(s, "-ERR Unsupported authentication "
		    "mechanism");
	default:
		fatalx("pop3: bad mechanism %d", mech);
	}
}

/* One SASL answer from the device in an AUTH exchange. */
static enum pop3_step
pop3_auth_line(struct session *s, const char *line)
{
	struct pop3 *st = s->proto_state;
	size_t len = strlen(line);
	bool ok;

	if (strcmp(line, "*") == 0) {
		pop3_enter_state(s, POP3_LAN_COMMAND);
		return pop3_error(s, "-ERR Authentication cancelled");
	}
	switch (st->state) {
	case POP3_LAN_AUTH_PLAIN:
		ok = sasl_plain_decode(line, len, &st->creds);
		break;
	case POP3_LAN_AUTH_USER:
		if ((ok = sasl_login_decode(line, len, st->creds.user))) {
			session_lan_printf(s, "+ " POP3_PROMPT_PASS);
			pop3_enter_state(s, POP3_LAN_AUTH_PASS);
			return STEP_MORE;
		}
		break;
	case POP3_LAN_AUTH_PASS:
		ok = sasl_login_decode(line, len, st->creds.pass);
		break;
	default:
		fatalx("pop3: AUTH data in state %s", pop3_strstate(st->state));
	}
	OPENSSL_cleanse(st->line, st->line_size);
	if (!ok) {
		sasl_creds_clear(&st->creds);
		pop3_enter_state(s, POP3_LAN_COMMAND);
		return pop3_error(s, "-ERR Malformed authentication data");
	}
	return pop3_auth_collected(s);
}

/*
 * Credentials are in. Pass-through: log in upstream with them. oauth2:
 * check them here, then log in upstream as the device's mailbox.
 */
static enum pop3_step
pop3_auth_collected(struct session *s)
{
	struct pop3 *st = s->proto_state;
	char why[128];

	st->have_user = false;
	if (s->dev->auth == AUTH_PASSTHROUGH) {
		session_set_user(s, st->creds.user);
		if (!session_mailbox_acquire(s, st->creds.user))
			return pop3_mailbox_busy(s);
		pop3_up_login(s);
		return STEP_WAIT;
	}
	session_set_user(s, s->dev->mailbox);
	if (!session_device_login(s, &st->creds, why, sizeof(why)))
		return pop3_device_refused(s, why);
	sasl_creds_clear(&st->creds);
	pop3_enter_state(s, POP3_LAN_SECRET);
	return STEP_WAIT;
}

/* The oauth2 device's secret was checked: refuse the login, or take a
 * place for its mailbox and get the token to log in upstream. */
static void
pop3_login_checked(struct session *s, const char *refusal)
{
	if (refusal != NULL)
		pop3_device_refused(s, refusal);
	else if (!session_mailbox_acquire(s, s->dev->mailbox)) {
		pop3_mailbox_busy(s);
		pop3_lan_input(s);
	} else
		pop3_token_get(s);
}

/* The relay itself refused the device's login: log it now, answer after
 * a delay, and touch nothing upstream. */
static enum pop3_step
pop3_device_refused(struct session *s, const char *reason)
{
	struct pop3 *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	session_login_failed(s, RESULT_AUTH_FAILED, reason);
	pop3_enter_state(s, POP3_LAN_COMMAND);
	session_lan_printf_delayed(s, SESSION_LOGIN_DELAY, "-ERR [AUTH] "
	    "Authentication failed");
	return STEP_WAIT;
}

/* The mailbox has all the upstream sessions it may: a temporary error
 * (RFC 2449 IN-USE), and the device may try again or quit; nothing was
 * sent upstream, and session_mailbox_acquire() logged it. */
static enum pop3_step
pop3_mailbox_busy(struct session *s)
{
	struct pop3 *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	pop3_enter_state(s, POP3_LAN_COMMAND);
	session_lan_printf(s, "-ERR [IN-USE] Too many sessions for this "
	    "mailbox, try again later");
	session_set_timer(s, TIMER_PRELOGIN);
	return STEP_MORE;
}

/* Ask for the token to log in upstream as the device's mailbox. */
static void
pop3_token_get(struct session *s)
{
	pop3_enter_state(s, POP3_UP_TOKEN);
	session_token_get(s);
}

/* The token request ended: dial the upstream, or fail for now. */
static void
pop3_token_ready(struct session *s, const char *error)
{
	if (error != NULL)
		pop3_token_failed(s, error);
	else
		pop3_up_login(s);
}

/* No token: a temporary error for the device. */
static void
pop3_token_failed(struct session *s, const char *reason)
{
	pop3_login_failed(s, RESULT_UPSTREAM_ERROR, "-ERR [SYS/TEMP] "
	    "Temporary authentication failure, try again later", reason);
}

/* Dial the upstream to log in there. */
static void
pop3_up_login(struct session *s)
{
	struct pop3 *st = s->proto_state;

	memset(&st->up_caps, 0, sizeof(st->up_caps));
	pop3_enter_state(s, POP3_UP_CONNECT);
	upstream_dial(s);
}

/* APOP needs the clear password on the relay's side: not offered. */
static enum pop3_step
pop3_cmd_apop(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	return pop3_error(s, "-ERR APOP is not supported: use USER/PASS or "
	    "AUTH");
}

/* Mailbox commands before login. */
static enum pop3_step
pop3_cmd_need_auth(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	return pop3_error(s, "-ERR Not logged in: authenticate with USER/PASS "
	    "or AUTH first");
}

/* QUIT before login. */
static enum pop3_step
pop3_cmd_quit(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	session_lan_printf(s, "+OK Bye");
	session_quit_before_login(s, "quit before login");
	return STEP_GONE;
}

/* The upstream connection (or its TLS) is up. */
static void
pop3_upstream_ready(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (st->state == POP3_UP_TLS) {
		session_up_printf(s, "CAPA");
		pop3_enter_state(s, POP3_UP_CAPA_TLS);
	} else
		pop3_enter_state(s, POP3_UP_GREETING);
	session_set_timer(s, TIMER_UPSTREAM);
}

/* Upstream input: lines drive the login, then the relay. */
static void
pop3_upstream_input(struct session *s)
{
	struct pop3 *st = s->proto_state;

	switch (st->state) {
	case POP3_LAN_COMMAND:
	case POP3_LAN_AUTH_PLAIN:
	case POP3_LAN_AUTH_USER:
	case POP3_LAN_AUTH_PASS:
	case POP3_LAN_STLS:
	case POP3_LAN_SECRET:
	case POP3_UP_TOKEN:
	case POP3_UP_CONNECT:
	case POP3_UP_TLS:
		return;		/* nothing is due yet */
	case POP3_UP_GREETING:
	case POP3_UP_CAPA:
	case POP3_UP_STLS:
	case POP3_UP_CAPA_TLS:
	case POP3_UP_USER:
	case POP3_UP_AUTH_PLAIN:
	case POP3_UP_AUTH:
	case POP3_UP_XOAUTH2:
	case POP3_UP_XOAUTH2_TOKEN:
	case POP3_UP_XOAUTH2_ERROR:
		pop3_up_step(s);
		return;
	case POP3_RELAY_COMMAND:
		pop3_relay_idle(s);
		return;
	case POP3_RELAY_REPLY:
	case POP3_RELAY_BODY:
	case POP3_RELAY_QUIT_REPLY:
		pop3_relay_input(s);
		return;
	default:
		fatalx("pop3: upstream input in state %d", st->state);
	}
}

/* States of the upstream login, from the token to the verdict. */
static bool
pop3_logging_in(enum pop3_state state)
{
	return state >= POP3_UP_TOKEN && state <= POP3_UP_XOAUTH2_ERROR;
}

/* Read login-phase lines and act on each. */
static void
pop3_up_step(struct session *s)
{
	struct pop3 *st = s->proto_state;
	size_t len;

	for (;;) {
		switch (session_read_line(&s->up, st->line, st->line_size,
		    &len)) {
		case LINE_NONE:
			return;
		case LINE_TOO_LONG:
			pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
			    "upstream sent a line over the length limit");
			return;
		case LINE_OK:
			break;
		}
		if (pop3_up_login_line(s, len) != STEP_MORE)
			return;
	}
}

/* Act on one upstream line during the login. */
static enum pop3_step
pop3_up_login_line(struct session *s, size_t len)
{
	struct pop3 *st = s->proto_state;
	const char *text;
	enum pop3_status status;
	char why[400];

	if (st->up_listing)
		return pop3_up_capa_line(s);
	status = pop3_parse_status(st->line, &text);
	log_escape(st->reply_text, sizeof(st->reply_text), st->line, len);
	switch (st->state) {
	case POP3_UP_GREETING:
	case POP3_UP_CAPA:
	case POP3_UP_CAPA_TLS:
		if (status != POP3_STATUS_OK)
			break;
		if (st->state == POP3_UP_GREETING) {
			session_up_printf(s, "CAPA");
			pop3_enter_state(s, s->up.tls_up ? POP3_UP_CAPA_TLS :
			    POP3_UP_CAPA);
		} else {
			memset(&st->up_caps, 0, sizeof(st->up_caps));
			st->up_listing = true;
		}
		return STEP_MORE;
	case POP3_UP_STLS:
		if (status != POP3_STATUS_OK) {
			snprintf(why, sizeof(why), "upstream refused STLS: %s",
			    st->reply_text);
			pop3_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED, why);
			return STEP_GONE;
		}
		pop3_enter_state(s, POP3_UP_TLS);
		upstream_start_tls(s);
		return STEP_WAIT;
	case POP3_UP_USER:
		if (status == POP3_STATUS_ERR)
			return pop3_login_refused(s, text);
		if (status != POP3_STATUS_OK)
			break;
		session_up_printf(s, "PASS %s", st->creds.pass);
		pop3_enter_state(s, POP3_UP_AUTH);
		return STEP_MORE;
	case POP3_UP_AUTH_PLAIN:
		if (status == POP3_STATUS_ERR)
			return pop3_login_refused(s, text);
		if (status != POP3_STATUS_CONT)
			break;
		return pop3_up_send_plain(s);
	case POP3_UP_AUTH:
		if (status == POP3_STATUS_ERR)
			return pop3_login_refused(s, text);
		if (status != POP3_STATUS_OK)
			break;
		pop3_logged_in(s);
		return STEP_GONE;
	case POP3_UP_XOAUTH2:
		if (status != POP3_STATUS_CONT)
			break;
		return pop3_up_send_xoauth2(s);
	case POP3_UP_XOAUTH2_TOKEN:
	case POP3_UP_XOAUTH2_ERROR:
		if (status == POP3_STATUS_BAD)
			break;
		return pop3_up_xoauth2_line(s, status, text);
	default:
		fatalx("pop3: login line in state %s",
		    pop3_strstate(st->state));
	}
	snprintf(why, sizeof(why), "unexpected upstream reply in %s: %s",
	    pop3_strstate(st->state), st->reply_text);
	pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR, why);
	return STEP_GONE;
}

/* One line of the upstream's CAPA list; at its end, go on with the login. */
static enum pop3_step
pop3_up_capa_line(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (strcmp(st->line, ".") != 0) {
		pop3_parse_capa_line(st->line, &st->up_caps);
		return STEP_MORE;
	}
	st->up_listing = false;
	if (st->state == POP3_UP_CAPA_TLS)
		return pop3_up_send_login(s);
	if (!st->up_caps.stls) {
		pop3_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED,
		    "upstream does not offer STLS");
		return STEP_GONE;
	}
	session_up_printf(s, "STLS");
	pop3_enter_state(s, POP3_UP_STLS);
	return STEP_MORE;
}

/* Start the upstream login: XOAUTH2 for the oauth2 mode; else SASL PLAIN
 * if offered, else USER/PASS. */
static enum pop3_step
pop3_up_send_login(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (s->dev->auth != AUTH_PASSTHROUGH && !st->up_caps.sasl_xoauth2) {
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream does not offer SASL XOAUTH2");
		return STEP_GONE;
	}
	if (s->dev->auth != AUTH_PASSTHROUGH) {
		session_up_printf(s, "AUTH XOAUTH2");
		st->challenge[0] = '\0';
		pop3_enter_state(s, POP3_UP_XOAUTH2);
	} else if (st->up_caps.sasl_plain) {
		session_up_printf(s, "AUTH PLAIN");
		pop3_enter_state(s, POP3_UP_AUTH_PLAIN);
	} else if (st->up_caps.user) {
		session_up_printf(s, "USER %s", st->creds.user);
		pop3_enter_state(s, POP3_UP_USER);
	} else {
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream offers neither SASL PLAIN nor USER");
		return STEP_GONE;
	}
	return STEP_MORE;
}

/* The upstream is ready for the PLAIN response: send it. */
static enum pop3_step
pop3_up_send_plain(struct session *s)
{
	struct pop3 *st = s->proto_state;
	char b64[SASL_FIELD_MAX * 3];

	sasl_plain_encode(&st->creds, b64, sizeof(b64));
	session_up_printf(s, "%s", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	pop3_enter_state(s, POP3_UP_AUTH);
	return STEP_MORE;
}

/* The upstream is ready for the XOAUTH2 response: mailbox and token. */
static enum pop3_step
pop3_up_send_xoauth2(struct session *s)
{
	char *ir;

	if ((ir = sasl_xoauth2_encode(s->dev->mailbox, s->token)) == NULL)
		fatalx("pop3: cannot encode the XOAUTH2 response");
	session_up_printf(s, "%s", ir);
	OPENSSL_clear_free(ir, strlen(ir));
	pop3_enter_state(s, POP3_UP_XOAUTH2_TOKEN);
	return STEP_MORE;
}

/* The upstream's answer to the token: +OK, -ERR, or first an error
 * challenge, kept for the log and answered with an empty line. */
static enum pop3_step
pop3_up_xoauth2_line(struct session *s, enum pop3_status status,
    const char *text)
{
	struct pop3 *st = s->proto_state;

	switch (status) {
	case POP3_STATUS_OK:
		pop3_logged_in(s);
		return STEP_GONE;
	case POP3_STATUS_ERR:
		return pop3_login_refused(s, text);
	case POP3_STATUS_CONT:
		if (st->state == POP3_UP_XOAUTH2_ERROR) {
			pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
			    "upstream sent a second XOAUTH2 challenge");
			return STEP_GONE;
		}
		sasl_xoauth2_challenge(st->challenge, sizeof(st->challenge),
		    text);
		session_up_printf(s, "%s", "");
		pop3_enter_state(s, POP3_UP_XOAUTH2_ERROR);
		return STEP_MORE;
	default:
		fatalx("pop3: bad XOAUTH2 answer status %d", status);
	}
}

/* The upstream said -ERR to the credentials or token: map its response
 * code, or explain a refusal Exchange Online is known for; a refused token
 * is dropped from the token cache. */
static enum pop3_step
pop3_login_refused(struct session *s, const char *text)
{
	struct pop3 *st = s->proto_state;
	const struct explanation *e;
	char code[32], why[640], reply[512];
	size_t i;

	snprintf(why, sizeof(why), "upstream refused the login: %s",
	    st->reply_text);
	pop3_resp_code(text, code, sizeof(code));
	for (i = 0; i < nitems(pop3_login_codes); i++) {
		if (strcmp(code, pop3_login_codes[i].code) == 0) {
			pop3_login_failed(s, RESULT_UPSTREAM_ERROR,
			    pop3_login_codes[i].reply, why);
			return STEP_GONE;
		}
	}
	if (s->token != NULL)
		session_token_refused(s, s->token, st->reply_text,
		    st->challenge, why, sizeof(why));
	if ((e = explain_lookup(EXPLAIN_POP3, st->line,
	    s->dev->auth != AUTH_PASSTHROUGH)) != NULL) {
		explain_log(s->id, s->dev->name, e, st->line);
		snprintf(reply, sizeof(reply), "-ERR %s", e->device);
	}
	pop3_login_failed(s, RESULT_AUTH_FAILED, e != NULL ? reply :
	    "-ERR [AUTH] Authentication failed", why);
	return STEP_GONE;
}


/* The login failed: tell the device, drop the upstream, and let the
 * device try again or quit. */
static void
pop3_login_failed(struct session *s, enum session_result r,
    const char *reply, const char *reason)
{
	struct pop3 *st = s->proto_state;

	session_login_failed(s, r, reason);
	sasl_creds_clear(&st->creds);
	session_token_clear(s);
	st->up_listing = false;
	if (s->dial != NULL)
		upstream_dial_cancel(s);
	side_close(&s->up);
	session_mailbox_release(s);
	session_lan_printf(s, "%s", reply);
	pop3_enter_state(s, POP3_LAN_COMMAND);
	session_set_timer(s, TIMER_PRELOGIN);
	pop3_lan_input(s);
}

/* The upstream took the credentials: relay from now on. */
static void
pop3_logged_in(struct session *s)
{
	struct pop3 *st = s->proto_state;

	sasl_creds_clear(&st->creds);
	session_token_clear(s);
	session_login_succeeded(s);
	session_lan_printf(s, "+OK Logged in");
	pop3_enter_state(s, POP3_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	pop3_lan_input(s);
}

/* The upstream failed or vanished: a temporary error, never a success. */
static void
pop3_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	struct pop3 *st = s->proto_state;

	if (pop3_logging_in(st->state)) {
		pop3_login_failed(s, r, "-ERR [SYS/TEMP] Upstream server "
		    "unavailable, try again later", reason);
		return;
	}
	switch (st->state) {
	case POP3_RELAY_BODY:
		/* No end marker: the device must not take a cut answer. */
		session_close(s, r, reason);
		return;
	case POP3_RELAY_QUIT_REPLY:
		session_lan_printf(s, "-ERR [SYS/TEMP] Upstream connection "
		    "lost; deletions may not have been applied");
		break;
	default:
		session_lan_printf(s, "-ERR [SYS/TEMP] Upstream connection "
		    "lost");
		break;
	}
	session_close_after_flush(s, r, reason);
}

/* The timer fired: idle device, stalled login, or silent upstream. */
static void
pop3_timeout(struct session *s, enum session_timer t)
{
	struct pop3 *st = s->proto_state;

	if (t == TIMER_UPSTREAM && st->state == POP3_UP_TOKEN) {
		pop3_token_failed(s, "no token from the token endpoint in "
		    "time");
		return;
	}
	if (t == TIMER_UPSTREAM) {
		pop3_upstream_failed(s, st->state == POP3_UP_CONNECT ?
		    RESULT_UPSTREAM_UNREACHABLE : RESULT_UPSTREAM_ERROR,
		    "upstream timed out");
		return;
	}
	if (st->state == POP3_RELAY_BODY) {
		session_close(s, RESULT_TIMEOUT, "device stopped reading");
		return;
	}
	session_lan_printf(s, "-ERR Disconnected for inactivity");
	session_close_after_flush(s, RESULT_TIMEOUT, t == TIMER_IDLE ?
	    "device idle too long" : "device did not log in in time");
}

/* The relay is stopping: tell the device, unless an answer is half sent. */
static void
pop3_shutdown(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (st->state == POP3_RELAY_BODY) {
		session_close(s, RESULT_SHUTDOWN, "relay shutting down");
		return;
	}
	session_lan_printf(s, "-ERR [SYS/TEMP] %s shutting down",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_SHUTDOWN, "relay shutting down");
}

/* A device command after login: answer locally or forward it. */
static enum pop3_step
pop3_relay_command(struct session *s, size_t len)
{
	struct pop3 *st = s->proto_state;
	struct pop3_cmd cmd;
	enum pop3_cmd_status status;
	char out[POP3_CMD_LINE];

	status = pop3_parse_command(st->line, len, &cmd);
	switch (cmd.verb) {
	case POP3_VERB_USER:
	case POP3_VERB_PASS:
	case POP3_VERB_APOP:
	case POP3_VERB_AUTH:
	case POP3_VERB_STLS:
		OPENSSL_cleanse(st->line, st->line_size);
		return pop3_error(s, "-ERR Already logged in");
	default:
		break;
	}
	if (status != POP3_CMD_OK)
		return pop3_bad_command(s, status, cmd.verb);
	if (cmd.verb == POP3_VERB_CAPA) {
		pop3_send_capa(s);
		return STEP_MORE;
	}
	pop3_cmd_format(&cmd, out, sizeof(out));
	session_up_printf(s, "%s", out);
	st->relay_verb = cmd.verb;
	st->relay_multiline = pop3_cmd_multiline(&cmd);
	pop3_enter_state(s, cmd.verb == POP3_VERB_QUIT ?
	    POP3_RELAY_QUIT_REPLY : POP3_RELAY_REPLY);
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_WAIT;
}

/* Upstream input while an answer is due: pass it on. */
static void
pop3_relay_input(struct session *s)
{
	struct pop3 *st = s->proto_state;
	enum pop3_step step;

	do {
		if (st->state == POP3_RELAY_BODY)
			step = pop3_relay_body(s);
		else
			step = pop3_relay_status(s);
	} while (step == STEP_MORE);
}

/* Upstream input while no command is pending: after the device's output
 * drained, take its next command; anything the upstream sent is wrong. */
static void
pop3_relay_idle(struct session *s)
{
	if (evbuffer_get_length(bufferevent_get_input(s->up.bev)) > 0) {
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent data with no command pending");
		return;
	}
	pop3_lan_input(s);
}

/* The status line of a relayed command's answer. */
static enum pop3_step
pop3_relay_status(struct session *s)
{
	struct pop3 *st = s->proto_state;
	enum pop3_status status;
	const char *text;
	char why[400];
	size_t len;

	switch (session_read_line(&s->up, st->line, st->line_size, &len)) {
	case LINE_NONE:
		return STEP_WAIT;
	case LINE_TOO_LONG:
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent a line over the length limit");
		return STEP_GONE;
	case LINE_OK:
		break;
	}
	status = pop3_parse_status(st->line, &text);
	log_escape(st->reply_text, sizeof(st->reply_text), st->line, len);
	if (status != POP3_STATUS_OK && status != POP3_STATUS_ERR) {
		snprintf(why, sizeof(why), "upstream sent an invalid reply: %s",
		    st->reply_text);
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR, why);
		return STEP_GONE;
	}
	session_lan_printf(s, "%s", st->line);
	if (st->state == POP3_RELAY_QUIT_REPLY) {
		snprintf(why, sizeof(why), "upstream refused QUIT: %s",
		    st->reply_text);
		session_close_after_flush(s, status == POP3_STATUS_OK ?
		    RESULT_OK : RESULT_UPSTREAM_ERROR,
		    status == POP3_STATUS_OK ? NULL : why);
		return STEP_GONE;
	}
	if (status == POP3_STATUS_OK && st->relay_multiline) {
		st->body_line_start = true;
		pop3_enter_state(s, POP3_RELAY_BODY);
		return STEP_MORE;
	}
	return pop3_relay_done(s, false);
}

/* Pass the lines of a multi-line answer on, up to and with its end. */
static enum pop3_step
pop3_relay_body(struct session *s)
{
	struct pop3 *st = s->proto_state;
	struct evbuffer *in = bufferevent_get_input(s->up.bev);
	struct evbuffer *out = bufferevent_get_output(s->lan.bev);
	size_t n;

	switch (pop3_body_scan(in, &st->body_line_start, &n)) {
	case POP3_BODY_WAIT:
		return STEP_WAIT;
	case POP3_BODY_END:
		evbuffer_remove_buffer(in, out, n);
		return pop3_relay_done(s, true);
	case POP3_BODY_MORE:
		break;
	}
	evbuffer_remove_buffer(in, out, n);
	if (session_lan_congested(s)) {
		session_set_timer(s, TIMER_IDLE);	/* the device is slow */
		return STEP_WAIT;
	}
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_MORE;
}

/* An answer went through: count a retrieved message, take the next
 * command. */
static enum pop3_step
pop3_relay_done(struct session *s, bool body)
{
	struct pop3 *st = s->proto_state;

	if (body && st->relay_verb == POP3_VERB_RETR)
		s->messages++;
	pop3_enter_state(s, POP3_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	pop3_lan_input(s);
	return STEP_GONE;
}
