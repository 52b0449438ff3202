/* IMAP: the LAN phase handled locally, the upstream login, then the relay. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "evidence_session.h"
#include "imap_parse.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "sasl.h"
#include "session.h"
#include "util.h"

#define IMAP_TAIL		256	/* upstream bytes kept to spot a BYE */

/* The states of the dialogue, listed once for the enum and the names in
 * the debug log; login.c's own state says which of them are part of a
 * login. */
#define IMAP_STATES(S)							\
	S(IMAP_LAN_COMMAND)	/* device commands answered locally */	\
	S(IMAP_LAN_LITERAL)	/* reading the bytes of a literal */	\
	S(IMAP_LAN_AUTH)	/* login.c collects the AUTHENTICATE answers */ \
	S(IMAP_LAN_STARTTLS)	/* OK sent, LAN TLS handshake pending */ \
	S(IMAP_LOGIN)		/* login.c: secret, token or dial */	\
	S(IMAP_UP_GREETING)	/* waiting for the upstream's greeting */ \
	S(IMAP_UP_CAPABILITY)	/* CAPABILITY sent */			\
	S(IMAP_UP_STARTTLS)	/* STARTTLS sent */			\
	S(IMAP_UP_TLS)		/* upstream TLS handshake */		\
	S(IMAP_UP_AUTH_CONT)	/* AUTHENTICATE PLAIN sent, "+" expected */ \
	S(IMAP_UP_LOGIN_CONT)	/* LOGIN literal announced, "+" expected */ \
	S(IMAP_UP_AUTH)		/* credentials sent, tagged reply expected */ \
	S(IMAP_UP_XOAUTH2_CONT)	/* AUTHENTICATE XOAUTH2 sent, "+" expected */ \
	S(IMAP_UP_XOAUTH2)	/* token sent: tagged reply or error challenge */ \
	S(IMAP_UP_XOAUTH2_ERROR) /* challenge answered, the refusal follows */ \
	S(IMAP_RELAY)		/* logged in: bytes both ways */

enum imap_state {
	IMAP_STATES(STATE_ENUM)
};

struct imap {
	struct imap_assembly cmd;	/* the device command being assembled */
	char		*arena;		/* its parsed arguments */
	char		 tag[IMAP_TAG_MAX]; /* the device's login command */
	unsigned	 up_caps;	/* IMAP_CAP_* of the upstream */
	bool		 up_caps_known;
	unsigned	 up_seq;	/* numbers the relay's own tags */
	char		 up_tag[16];	/* the relay's command in progress */
	int		 login_field;	/* LOGIN: 0 user, 1 password */
	char		 tail[IMAP_TAIL]; /* last upstream bytes relayed */
	size_t		 tail_len;
};

typedef enum step (*imap_lan_handler)(struct session *,
		    const struct imap_command *);

static bool	imap_at_line_start(const struct imap *st);
static void	imap_bye(struct session *s, const char *text);
static void	imap_capability_list(const struct session *s, char *dst,
		    size_t len);
static enum step imap_cmd_authenticate(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_capability(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_id(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_login(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_logout(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_noop(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_cmd_starttls(struct session *s,
		    const struct imap_command *cmd);
static enum step imap_dispatch(struct session *s,
		    const struct imap_command *cmd);
static void	imap_drop_commands(struct imap *st);
static enum step imap_error(struct session *s, const char *tag,
		    const char *text);
static void	imap_free(struct session *s);
static void	imap_keep_tail(struct imap *st, struct evbuffer *in);
static enum step imap_lan_command(struct session *s);
static enum step imap_literal_refused(struct session *s, bool nonsync,
		    const char *why);
static void	imap_logged_in(struct session *s,
		    const struct imap_response *r);
static bool	imap_login_allowed(const struct session *s);
static enum step imap_login_error(struct session *s, const char *text);
static enum step imap_login_refused(struct session *s, const char *tag);
static enum step imap_read_command(struct session *s);
static enum step imap_read_literal(struct session *s);
static enum step imap_relay_lan(struct session *s);
static void	imap_relay_up(struct session *s);
static bool	imap_starttls_offered(const struct session *s);
static enum step imap_up_auth_result(struct session *s,
		    const struct imap_response *r);
static void	imap_up_command(struct session *s, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
static enum step imap_up_fail(struct session *s, enum session_result r,
		    const char *what, const char *line);
static enum step imap_up_greeting(struct session *s,
		    const struct imap_response *r);
static enum step imap_up_line(struct session *s);
static void	imap_up_login_args(struct session *s, int field);
static enum step imap_up_next(struct session *s);
static enum step imap_up_response(struct session *s,
		    const struct imap_response *r);
static void	imap_up_send_auth(struct session *s);
static void	imap_up_send_plain(struct session *s);
static void	imap_up_send_xoauth2(struct session *s);
static enum step imap_up_tagged(struct session *s,
		    const struct imap_response *r);
static enum step imap_up_xoauth2_challenge(struct session *s,
		    const struct imap_response *r);
static void	imap_upstream_ready(struct session *s);

/* IMAP for the generic session and login.c: the names of its states, its
 * replies and its hooks. */
PROTO_OPS(imap, PROTO_IMAP, IMAP_STATES,
    .refusal = { "* BYE ", "* BYE [UNAVAILABLE] " },
    .counts_mailbox = true,
    .login_replies = LOGIN_REPLIES("NO [UNAVAILABLE] ", "NO [UNAVAILABLE] ",
	"NO [AUTHENTICATIONFAILED] Authentication failed.", "NO [INUSE] "),
    .explain = EXPLAIN_IMAP,
    .explain_prefix = "NO ",
    .sasl_prompt = "+ ",
    .sasl_replies = SASL_REPLIES("BAD ", "BAD "),
    .lan_error = imap_login_error,
    .free = imap_free);

/* Commands of the LAN phase, answered by the relay itself, by verb. */
static const imap_lan_handler imap_lan_commands[] = {
	[IMAP_VERB_CAPABILITY] = imap_cmd_capability,
	[IMAP_VERB_NOOP] = imap_cmd_noop,
	[IMAP_VERB_LOGOUT] = imap_cmd_logout,
	[IMAP_VERB_ID] = imap_cmd_id,
	[IMAP_VERB_STARTTLS] = imap_cmd_starttls,
	[IMAP_VERB_LOGIN] = imap_cmd_login,
	[IMAP_VERB_AUTHENTICATE] = imap_cmd_authenticate,
};

/* Allocate the command buffers and greet the device with the
 * capabilities. */
static bool
imap_start(struct session *s)
{
	struct imap *st = s->proto_state;
	size_t line_length = s->cfg->limits.line_length;
	char caps[256];

	if (!imap_assembly_init(&st->cmd, line_length))
		return false;
	st->arena = calloc(1, IMAP_ARENA_SIZE(st->cmd.size));
	if (st->arena == NULL)
		return false;
	imap_capability_list(s, caps, sizeof(caps));
	side_printf(&s->lan, "* OK [CAPABILITY %s] %s IMAP4rev1 relay ready",
	    caps, s->cfg->server_name);
	return true;
}

/* Wipe and free the command buffers (session_close wipes the line, the
 * credentials and the token). */
static void
imap_free(struct session *s)
{
	imap_drop_commands(s->proto_state);
}

/* Wipe and free the buffers that parse the device's commands: only a
 * session not yet logged in reads commands; after login bytes are relayed
 * as they are. Safe to call twice. */
static void
imap_drop_commands(struct imap *st)
{
	if (st->arena != NULL)
		OPENSSL_cleanse(st->arena, IMAP_ARENA_SIZE(st->cmd.size));
	imap_assembly_free(&st->cmd);
	free(st->arena);
	st->arena = NULL;
}

/* May the device log in on this connection? */
static bool
imap_login_allowed(const struct session *s)
{
	return s->lan.tls_up || s->dev->plaintext_auth;
}

/* Is STARTTLS available to the device now? */
static bool
imap_starttls_offered(const struct session *s)
{
	return s->lan.ssl == NULL && s->cfg->lan_ctx != NULL;
}

/* The relay's capabilities for this connection and device. */
static void
imap_capability_list(const struct session *s, char *dst, size_t len)
{
	imap_capabilities(dst, len, imap_starttls_offered(s),
	    imap_login_allowed(s));
}

/* One step of device input processing in the current state. */
static enum step
imap_lan_step(struct session *s)
{
	switch (s->state) {
	case IMAP_LAN_COMMAND:
		return imap_read_command(s);
	case IMAP_LAN_LITERAL:
		return imap_read_literal(s);
	case IMAP_LAN_AUTH:
		return login_sasl_read(s, "* BYE Authentication line too long");
	case IMAP_RELAY:
		return imap_relay_lan(s);
	default:
		return STEP_WAIT;	/* the upstream's or TLS's turn */
	}
}

/* The device closed its side: end the session with the right result. */
static void
imap_lan_eof(struct session *s)
{
	if (s->state == IMAP_RELAY)
		session_close(s, RESULT_OK, "device closed the connection");
	else if (s->login != LOGIN_IDLE)
		session_close(s, RESULT_CLIENT_CLOSED, "device closed the "
		    "connection before login");
	else
		session_close_before_login(s, RESULT_CLIENT_CLOSED, "device "
		    "closed the connection before login");
}

/* Read one line of a command; complete it, or start reading a literal. */
static enum step
imap_read_command(struct session *s)
{
	struct imap *st = s->proto_state;
	size_t len, room = st->cmd.size - st->cmd.len;
	enum imap_literal lit;
	enum step step;

	if (room > s->line_size)
		room = s->line_size;
	if ((step = session_read_command(s, st->cmd.buf + st->cmd.len, room,
	    &len, "* BYE Command line too long")) != STEP_MORE)
		return step;
	switch (imap_assemble_line(&st->cmd, len, &lit)) {
	case IMAP_ASSEMBLE_DONE:
		return imap_lan_command(s);
	case IMAP_ASSEMBLE_BAD:
		return imap_literal_refused(s, false, "Invalid literal");
	case IMAP_ASSEMBLE_TOO_LARGE:
		return imap_literal_refused(s, lit == IMAP_LITERAL_NONSYNC,
		    "Literal too large before login");
	case IMAP_ASSEMBLE_LITERAL:
		break;
	}
	if (lit == IMAP_LITERAL_SYNC)
		side_printf(&s->lan, "+ Ready for literal data");
	session_enter_state(s, IMAP_LAN_LITERAL);
	return STEP_MORE;
}

/* Take the bytes of a literal once they have all arrived. */
static enum step
imap_read_literal(struct session *s)
{
	struct imap *st = s->proto_state;

	if (!imap_assemble_literal(&st->cmd, bufferevent_get_input(s->lan.bev)))
		return STEP_WAIT;
	session_enter_state(s, IMAP_LAN_COMMAND);
	return STEP_MORE;
}

/*
 * Refuse a command for its literal. A client that announced "{n}" waits
 * for "+" and gives up at BAD; after "{n+}" the bytes are on their way and
 * the stream cannot be followed any more, so the session ends.
 */
static enum step
imap_literal_refused(struct session *s, bool nonsync, const char *why)
{
	struct imap *st = s->proto_state;
	char tag[IMAP_TAG_MAX], text[128];
	enum step step;

	if (!imap_parse_tag(st->cmd.buf, st->cmd.len, tag, sizeof(tag)))
		snprintf(tag, sizeof(tag), "*");
	imap_assembly_clear(&st->cmd);
	snprintf(text, sizeof(text), "BAD %s", why);
	if ((step = imap_error(s, tag, text)) == STEP_GONE || !nonsync)
		return step;
	imap_bye(s, "Cannot skip a non-synchronizing literal, closing");
	session_close_after_flush(s, RESULT_PROTOCOL_ERROR, "device sent a "
	    "non-synchronizing literal over the pre-login limit");
	return STEP_GONE;
}

/* Refuse a command line with a bare CR in it (read, NUL-terminated, after
 * the command assembled so far): the whole command is dropped, as for a
 * refused literal, under its tag. */
static enum step
imap_bare_cr(struct session *s)
{
	struct imap *st = s->proto_state;

	st->cmd.len += strlen(st->cmd.buf + st->cmd.len);
	return imap_literal_refused(s, false, "Bare CR in command line");
}

/* Parse the assembled command, answer it, and wipe it. */
static enum step
imap_lan_command(struct session *s)
{
	struct imap *st = s->proto_state;
	struct imap_command cmd;
	const char *error;
	char text[128];
	enum step step;
	size_t len = st->cmd.len;

	switch (imap_parse_command(st->cmd.buf, len, st->arena,
	    IMAP_ARENA_SIZE(st->cmd.size), &cmd, &error)) {
	case IMAP_PARSE_NO_TAG:
		step = imap_error(s, "*", "BAD Invalid tag");
		break;
	case IMAP_PARSE_BAD:
		snprintf(text, sizeof(text), "BAD %s", error);
		step = imap_error(s, cmd.tag, text);
		break;
	case IMAP_PARSE_OK:
		step = imap_dispatch(s, &cmd);
		break;
	default:
		fatalx("imap: bad parse status");
	}
	if (step != STEP_GONE) {
		imap_assembly_clear(&st->cmd);
		OPENSSL_cleanse(st->arena, IMAP_ARENA_SIZE(len));
	}
	OPENSSL_cleanse(&cmd, sizeof(cmd));
	return step;
}

/* Run a LAN-phase command through the command table. */
static enum step
imap_dispatch(struct session *s, const struct imap_command *cmd)
{
	imap_lan_handler handler = LAN_HANDLER(imap_lan_commands, cmd->verb);

	if (handler == NULL)
		return imap_error(s, cmd->tag, "BAD Unknown command or not "
		    "allowed before login");
	return handler(s, cmd);
}

/* Count a bad command; answer it, or end the session after too many. */
static enum step
imap_error(struct session *s, const char *tag, const char *text)
{
	side_printf(&s->lan, "%s %s", tag, text);
	return session_lan_error(s, NULL, "* BYE Too many invalid commands");
}

/* CAPABILITY: the relay's own list for this connection. */
static enum step
imap_cmd_capability(struct session *s, const struct imap_command *cmd)
{
	char caps[256];

	if (cmd->nargs != 0)
		return imap_error(s, cmd->tag, "BAD CAPABILITY takes no "
		    "arguments");
	imap_capability_list(s, caps, sizeof(caps));
	side_printf(&s->lan, "* CAPABILITY %s", caps);
	side_printf(&s->lan, "%s OK Capability completed.", cmd->tag);
	return STEP_MORE;
}

/* NOOP: nothing to do before login. */
static enum step
imap_cmd_noop(struct session *s, const struct imap_command *cmd)
{
	if (cmd->nargs != 0)
		return imap_error(s, cmd->tag, "BAD NOOP takes no arguments");
	side_printf(&s->lan, "%s OK NOOP completed.", cmd->tag);
	return STEP_MORE;
}

/* LOGOUT before login. */
static enum step
imap_cmd_logout(struct session *s, const struct imap_command *cmd)
{
	char done[IMAP_TAG_MAX + 32];

	if (cmd->nargs != 0)
		return imap_error(s, cmd->tag, "BAD LOGOUT takes no arguments");
	side_printf(&s->lan, "* BYE Logging out");
	snprintf(done, sizeof(done), "%s OK Logout completed.", cmd->tag);
	return session_quit_before_login(s, done, "logout before login");
}

/* ID (RFC 2971): NIL or a parameter list; the relay names itself. */
static enum step
imap_cmd_id(struct session *s, const struct imap_command *cmd)
{
	bool nil = cmd->nargs == 1 && cmd->args[0].type == IMAP_ARG_ATOM &&
	    strcasecmp(cmd->args[0].data, "NIL") == 0;
	bool list = cmd->nargs >= 2 &&
	    cmd->args[0].type == IMAP_ARG_LIST_OPEN &&
	    cmd->args[cmd->nargs - 1].type == IMAP_ARG_LIST_CLOSE;

	if (!nil && !list)
		return imap_error(s, cmd->tag, "BAD Syntax: ID NIL or ID "
		    "(parameters)");
	side_printf(&s->lan, "* ID (\"name\" \"tlsrelayd\")");
	side_printf(&s->lan, "%s OK ID completed.", cmd->tag);
	return STEP_MORE;
}

/* STARTTLS: refuse pipelined bytes (injection), then start TLS. */
static enum step
imap_cmd_starttls(struct session *s, const struct imap_command *cmd)
{
	char reply[IMAP_TAG_MAX + 64];

	if (s->lan.ssl != NULL)
		return imap_error(s, cmd->tag, "BAD TLS is already active");
	if (!imap_starttls_offered(s))
		return imap_error(s, cmd->tag, "BAD STARTTLS not available");
	if (cmd->nargs != 0)
		return imap_error(s, cmd->tag, "BAD STARTTLS takes no "
		    "arguments");
	snprintf(reply, sizeof(reply), "%s OK Begin TLS negotiation now",
	    cmd->tag);
	session_enter_state(s, IMAP_LAN_STARTTLS);
	return session_lan_starttls(s, "STARTTLS", reply);
}

/* The LAN handshake finished: take commands again, now over TLS. */
static void
imap_lan_tls_ready(struct session *s)
{
	session_enter_state(s, IMAP_LAN_COMMAND);
	session_lan_input(s);
}

/* LOGIN user password: collect the credentials. */
static enum step
imap_cmd_login(struct session *s, const struct imap_command *cmd)
{
	struct imap *st = s->proto_state;
	struct sasl_creds *creds;
	size_t i;

	if (!imap_login_allowed(s))
		return imap_login_refused(s, cmd->tag);
	if (cmd->nargs != 2)
		return imap_error(s, cmd->tag, "BAD Syntax: LOGIN user "
		    "password");
	for (i = 0; i < 2; i++)
		if ((cmd->args[i].type != IMAP_ARG_ATOM &&
		    cmd->args[i].type != IMAP_ARG_STRING) ||
		    cmd->args[i].len == 0 ||
		    cmd->args[i].len >= SASL_FIELD_MAX)
			return imap_error(s, cmd->tag, "BAD Invalid user name "
			    "or password");
	if ((creds = session_creds_fill(s)) == NULL) {
		session_no_memory(s, "credentials");
		return STEP_GONE;
	}
	memcpy(creds->user, cmd->args[0].data, cmd->args[0].len + 1);
	memcpy(creds->pass, cmd->args[1].data, cmd->args[1].len + 1);
	snprintf(st->tag, sizeof(st->tag), "%s", cmd->tag);
	return imap_auth_collected(s);
}

/* AUTHENTICATE PLAIN or LOGIN, with or without an initial response. */
static enum step
imap_cmd_authenticate(struct session *s, const struct imap_command *cmd)
{
	struct imap *st = s->proto_state;
	const char *mech, *ir;

	if (!imap_login_allowed(s))
		return imap_login_refused(s, cmd->tag);
	if (cmd->nargs < 1 || cmd->nargs > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM ||
	    (cmd->nargs == 2 && cmd->args[1].type != IMAP_ARG_ATOM))
		return imap_error(s, cmd->tag, "BAD Syntax: AUTHENTICATE "
		    "mechanism [initial-response]");
	mech = cmd->args[0].data;
	ir = cmd->nargs == 2 ? cmd->args[1].data : NULL;
	snprintf(st->tag, sizeof(st->tag), "%s", cmd->tag);
	if (strcasecmp(mech, "PLAIN") == 0) {
		session_enter_state(s, IMAP_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_PLAIN, ir);
	}
	if (strcasecmp(mech, "LOGIN") == 0) {
		session_enter_state(s, IMAP_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_USER, ir);
	}
	return imap_error(s, cmd->tag, "NO Unsupported authentication "
	    "mechanism");
}

/* LOGIN or AUTHENTICATE on a connection where plaintext login is off. */
static enum step
imap_login_refused(struct session *s, const char *tag)
{
	return imap_error(s, tag, imap_starttls_offered(s) ?
	    "NO [PRIVACYREQUIRED] Plaintext login is not allowed: use "
	    "STARTTLS first" : "NO [PRIVACYREQUIRED] Plaintext login is not "
	    "allowed: connect with TLS");
}

/* A bad command during a login, answered under its command's tag. */
static enum step
imap_login_error(struct session *s, const char *text)
{
	struct imap *st = s->proto_state;

	return imap_error(s, st->tag, text);
}

/*
 * Credentials are in. Pass-through: log in upstream with them. oauth2:
 * check them here, then log in upstream as the device's mailbox.
 */
static enum step
imap_auth_collected(struct session *s)
{
	session_enter_state(s, IMAP_LOGIN);
	return login_begin(s);
}

/* The upstream connection (or its TLS after STARTTLS) is up. */
static void
imap_upstream_ready(struct session *s)
{
	struct imap *st = s->proto_state;

	session_set_timer(s, TIMER_UPSTREAM);
	st->up_caps = 0;	/* forget what was said before, and before TLS */
	st->up_caps_known = false;
	if (s->state != IMAP_UP_TLS) {
		session_enter_state(s, IMAP_UP_GREETING);
		return;
	}
	imap_up_next(s);
}

/* Upstream input: responses drive the login, then bytes are relayed. */
static void
imap_upstream_input(struct session *s)
{
	if (s->state == IMAP_RELAY) {
		imap_relay_up(s);
		return;
	}
	if (!login_active(s) || s->state == IMAP_LOGIN ||
	    s->state == IMAP_UP_TLS)
		return;		/* nothing is due yet */
	while (imap_up_line(s) == STEP_MORE)
		;
}

/* Read one upstream response line during the login and act on it. */
static enum step
imap_up_line(struct session *s)
{
	struct imap_response r;
	enum step step;
	size_t len, size;

	if ((step = login_read_upstream(s, &len)) != STEP_MORE)
		return step;
	if (!imap_parse_response(s->line, len, &r))
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent an invalid response", s->line);
	if (imap_parse_literal(s->line, len, &size) != IMAP_LITERAL_NONE)
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent a literal during the login", s->line);
	return imap_up_response(s, &r);
}

/* Act on one upstream response in the current login state. */
static enum step
imap_up_response(struct session *s, const struct imap_response *r)
{
	struct imap *st = s->proto_state;

	if (r->kind == IMAP_RESPONSE_UNTAGGED && r->status == IMAP_STATUS_BYE)
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "upstream said BYE", s->line);
	if (s->state == IMAP_UP_GREETING)
		return imap_up_greeting(s, r);
	switch (r->kind) {
	case IMAP_RESPONSE_UNTAGGED:
		if (r->has_caps && s->state == IMAP_UP_CAPABILITY) {
			st->up_caps = r->caps;
			st->up_caps_known = true;
		}
		log_debug("session=%s imap upstream untagged response dropped",
		    s->id);
		return STEP_MORE;
	case IMAP_RESPONSE_CONTINUE:
		if (s->state == IMAP_UP_AUTH_CONT) {
			imap_up_send_plain(s);
			session_enter_state(s, IMAP_UP_AUTH);
			return STEP_MORE;
		}
		if (s->state == IMAP_UP_LOGIN_CONT) {
			imap_up_login_args(s, st->login_field);
			return STEP_MORE;
		}
		if (s->state == IMAP_UP_XOAUTH2_CONT) {
			imap_up_send_xoauth2(s);
			return STEP_MORE;
		}
		if (s->state == IMAP_UP_XOAUTH2)
			return imap_up_xoauth2_challenge(s, r);
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "unexpected continuation from upstream", s->line);
	case IMAP_RESPONSE_TAGGED:
		if (strcmp(r->tag, st->up_tag) != 0)
			return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
			    "upstream answered an unknown tag", s->line);
		return imap_up_tagged(s, r);
	default:
		fatalx("imap: bad response kind");
	}
}

/* The upstream's greeting: OK (maybe with capabilities), never PREAUTH. */
static enum step
imap_up_greeting(struct session *s, const struct imap_response *r)
{
	struct imap *st = s->proto_state;

	if (r->kind == IMAP_RESPONSE_UNTAGGED &&
	    r->status == IMAP_STATUS_PREAUTH)
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "upstream greeted with PREAUTH", s->line);
	if (r->kind != IMAP_RESPONSE_UNTAGGED || r->status != IMAP_STATUS_OK)
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
		    "unexpected upstream greeting", s->line);
	st->up_caps = r->caps;
	st->up_caps_known = r->has_caps;
	return imap_up_next(s);
}

/* The tagged completion of the relay's own command. */
static enum step
imap_up_tagged(struct session *s, const struct imap_response *r)
{
	struct imap *st = s->proto_state;

	switch (s->state) {
	case IMAP_UP_CAPABILITY:
		if (r->status != IMAP_STATUS_OK)
			break;
		if (r->has_caps)
			st->up_caps = r->caps;
		st->up_caps_known = true;
		return imap_up_next(s);
	case IMAP_UP_STARTTLS:
		if (r->status != IMAP_STATUS_OK)
			return imap_up_fail(s, RESULT_UPSTREAM_TLS_FAILED,
			    "upstream refused STARTTLS", s->line);
		session_enter_state(s, IMAP_UP_TLS);
		login_start_tls(s);
		return STEP_WAIT;
	case IMAP_UP_AUTH_CONT:
	case IMAP_UP_LOGIN_CONT:
	case IMAP_UP_AUTH:
	case IMAP_UP_XOAUTH2:
	case IMAP_UP_XOAUTH2_ERROR:
		return imap_up_auth_result(s, r);
	default:
		break;
	}
	return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
	    "unexpected upstream reply", s->line);
}

/* After greeting or capabilities: learn them, STARTTLS, or log in. */
static enum step
imap_up_next(struct session *s)
{
	struct imap *st = s->proto_state;
	const struct upstream_conf *up = &s->cfg->upstreams[PROTO_IMAP];

	if (!st->up_caps_known) {
		imap_up_command(s, "CAPABILITY");
		session_enter_state(s, IMAP_UP_CAPABILITY);
		return STEP_MORE;
	}
	if (up->tls == UPSTREAM_TLS_STARTTLS && !s->up.tls_up) {
		if (!(st->up_caps & IMAP_CAP_STARTTLS))
			return imap_up_fail(s, RESULT_UPSTREAM_TLS_FAILED,
			    "upstream does not offer STARTTLS", NULL);
		imap_up_command(s, "STARTTLS");
		session_enter_state(s, IMAP_UP_STARTTLS);
		return STEP_MORE;
	}
	if (s->dev->auth != AUTH_PASSTHROUGH) {
		if (!(st->up_caps & IMAP_CAP_AUTH_XOAUTH2))
			return imap_up_fail(s, RESULT_UPSTREAM_ERROR,
			    "upstream does not offer AUTH=XOAUTH2", NULL);
		imap_up_send_xoauth2(s);
		return STEP_MORE;
	}
	if (!(st->up_caps & IMAP_CAP_AUTH_PLAIN) &&
	    (st->up_caps & IMAP_CAP_LOGINDISABLED))
		return imap_up_fail(s, RESULT_UPSTREAM_ERROR, "upstream offers "
		    "neither AUTH=PLAIN nor LOGIN", NULL);
	imap_up_send_auth(s);
	return STEP_MORE;
}

/* Send a command upstream under a fresh tag of the relay's own. */
static void
imap_up_command(struct session *s, const char *fmt, ...)
{
	struct imap *st = s->proto_state;
	struct evbuffer *out = bufferevent_get_output(s->up.bev);
	va_list ap;

	snprintf(st->up_tag, sizeof(st->up_tag), "tr%u", ++st->up_seq);
	evbuffer_add_printf(out, "%s ", st->up_tag);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

/* Log in upstream: AUTHENTICATE PLAIN (with SASL-IR if offered) or LOGIN. */
static void
imap_up_send_auth(struct session *s)
{
	struct imap *st = s->proto_state;
	char b64[SASL_FIELD_MAX * 3];

	if (!(st->up_caps & IMAP_CAP_AUTH_PLAIN)) {
		snprintf(st->up_tag, sizeof(st->up_tag), "tr%u", ++st->up_seq);
		evbuffer_add_printf(bufferevent_get_output(s->up.bev),
		    "%s LOGIN ", st->up_tag);
		imap_up_login_args(s, -1);
		return;
	}
	if (!(st->up_caps & IMAP_CAP_SASL_IR)) {
		imap_up_command(s, "AUTHENTICATE PLAIN");
		session_enter_state(s, IMAP_UP_AUTH_CONT);
		return;
	}
	sasl_plain_encode(session_creds(s), b64, sizeof(b64));
	imap_up_command(s, "AUTHENTICATE PLAIN %s", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	session_enter_state(s, IMAP_UP_AUTH);
}

/* Send the PLAIN response after the upstream's "+". */
static void
imap_up_send_plain(struct session *s)
{
	char b64[SASL_FIELD_MAX * 3];

	sasl_plain_encode(session_creds(s), b64, sizeof(b64));
	side_printf(&s->up, "%s", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
}

/* Log in upstream as the device's mailbox with the token: an initial
 * response with SASL-IR, else after the upstream's "+". */
static void
imap_up_send_xoauth2(struct session *s)
{
	struct imap *st = s->proto_state;
	char *ir;

	if (!(st->up_caps & IMAP_CAP_SASL_IR) &&
	    s->state != IMAP_UP_XOAUTH2_CONT) {
		imap_up_command(s, "AUTHENTICATE XOAUTH2");
		session_enter_state(s, IMAP_UP_XOAUTH2_CONT);
		return;
	}
	if ((ir = login_xoauth2(s)) == NULL)
		return;
	if (s->state == IMAP_UP_XOAUTH2_CONT)
		side_printf(&s->up, "%s", ir);
	else
		imap_up_command(s, "AUTHENTICATE XOAUTH2 %s", ir);
	OPENSSL_clear_free(ir, strlen(ir));
	session_enter_state(s, IMAP_UP_XOAUTH2);
}

/* An XOAUTH2 error challenge: keep it for the log, answer it with an
 * empty line to get the refusal. */
static enum step
imap_up_xoauth2_challenge(struct session *s, const struct imap_response *r)
{
	login_challenge(s, r->text);
	side_printf(&s->up, "%s", "");
	session_enter_state(s, IMAP_UP_XOAUTH2_ERROR);
	return STEP_MORE;
}

/*
 * Continue a LOGIN command after field (-1: nothing sent yet; else the
 * field whose synchronizing literal the upstream has just accepted, whose
 * bytes go first). Each value is quoted if it can be, else a literal:
 * non-synchronizing with LITERAL+, or synchronizing, which stops here
 * until the upstream's "+".
 */
static void
imap_up_login_args(struct session *s, int field)
{
	struct imap *st = s->proto_state;
	struct evbuffer *out = bufferevent_get_output(s->up.bev);
	const struct sasl_creds *creds = session_creds(s);
	const char *value;
	char quoted[SASL_FIELD_MAX * 2 + 3];
	int i;

	if (field >= 0) {
		value = field == 0 ? creds->user : creds->pass;
		evbuffer_add(out, value, strlen(value));
	}
	for (i = field + 1; i < 2; i++) {
		value = i == 0 ? creds->user : creds->pass;
		if (i == 1)
			evbuffer_add(out, " ", 1);
		if (imap_quote(value, quoted, sizeof(quoted)))
			evbuffer_add(out, quoted, strlen(quoted));
		else if (st->up_caps & IMAP_CAP_LITERALPLUS)
			evbuffer_add_printf(out, "{%zu+}\r\n%s", strlen(value),
			    value);
		else {
			evbuffer_add_printf(out, "{%zu}\r\n", strlen(value));
			st->login_field = i;
			session_enter_state(s, IMAP_UP_LOGIN_CONT);
			OPENSSL_cleanse(quoted, sizeof(quoted));
			return;
		}
	}
	evbuffer_add(out, "\r\n", 2);
	OPENSSL_cleanse(quoted, sizeof(quoted));
	session_enter_state(s, IMAP_UP_AUTH);
}

/* The upstream's verdict on the login: OK, a refusal (login.c explains
 * it), or a temporary failure. */
static enum step
imap_up_auth_result(struct session *s, const struct imap_response *r)
{
	char why[400], text[256];

	if (r->status == IMAP_STATUS_OK) {
		imap_logged_in(s, r);
		return STEP_GONE;
	}
	metrics_count_upstream_auth_failure(s->ops->proto,
	    s->dev->auth, s->line);
	log_escape(text, sizeof(text), s->line, strlen(s->line));
	if (r->status == IMAP_STATUS_NO &&
	    !imap_response_has_code(r->text, "UNAVAILABLE")) {
		login_refused(s, text, s->line);
		return STEP_GONE;
	}
	snprintf(why, sizeof(why), "upstream refused the login: %s", text);
	login_failed(s, RESULT_UPSTREAM_ERROR,
	    imap_ops.login_replies[LOGIN_REPLY_TEMPORARY], why);
	return STEP_GONE;
}

/* The login failed upstream: an unexpected response or a broken peer. */
static enum step
imap_up_fail(struct session *s, enum session_result r, const char *what,
    const char *line)
{
	char why[400], text[256];

	if (line != NULL) {
		log_escape(text, sizeof(text), line, strlen(line));
		snprintf(why, sizeof(why), "%s: %s", what, text);
	} else
		snprintf(why, sizeof(why), "%s", what);
	login_upstream_failed(s, r, why);
	return STEP_GONE;
}

/* A login ended without success: take LAN commands again. */
static void
imap_login_reset(struct session *s)
{
	session_enter_state(s, IMAP_LAN_COMMAND);
}

/* A login reply goes to the device under its login command's tag. */
static void
imap_login_reply(struct session *s, char *dst, size_t len, const char *text)
{
	struct imap *st = s->proto_state;

	snprintf(dst, len, "%s %s", st->tag, text);
}

/* Logged in: the device gets the upstream's completion under its own
 * tag, then bytes flow both ways. */
static void
imap_logged_in(struct session *s, const struct imap_response *r)
{
	struct imap *st = s->proto_state;

	login_done(s);
	side_printf(&s->lan, "%s %s", st->tag, r->rest);
	session_enter_state(s, IMAP_RELAY);
	imap_drop_commands(st);
	side_read_bulk(&s->up, true);
	side_read_bulk(&s->lan, true);
	session_arm_timer(s, TIMER_IDLE, s->cfg->limits.imap_idle_timeout);
	st->tail_len = 0;
	imap_relay_up(s);
	session_lan_input(s);
}

/* Device bytes after login go upstream as they are. */
static enum step
imap_relay_lan(struct session *s)
{
	if (evbuffer_get_length(bufferevent_get_input(s->lan.bev)) == 0)
		return STEP_WAIT;
	session_arm_timer(s, TIMER_IDLE, s->cfg->limits.imap_idle_timeout);
	evidence_imap_stream(s, &s->lan);
	side_pipe(&s->lan);
	return STEP_WAIT;
}

/* Upstream bytes after login go to the device as they are. */
static void
imap_relay_up(struct session *s)
{
	struct imap *st = s->proto_state;
	struct evbuffer *in = bufferevent_get_input(s->up.bev);

	if (evbuffer_get_length(in) == 0)
		return;
	imap_keep_tail(st, in);
	session_arm_timer(s, TIMER_IDLE, s->cfg->limits.imap_idle_timeout);
	evidence_imap_stream(s, &s->up);
	side_pipe(&s->up);
}

/* Remember the last bytes relayed from the upstream. */
static void
imap_keep_tail(struct imap *st, struct evbuffer *in)
{
	size_t len = evbuffer_get_length(in), n = len < IMAP_TAIL ? len :
	    IMAP_TAIL, keep = IMAP_TAIL - n;
	struct evbuffer_ptr pos;

	if (keep > st->tail_len)
		keep = st->tail_len;
	memmove(st->tail, st->tail + st->tail_len - keep, keep);
	evbuffer_ptr_set(in, &pos, len - n, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &pos, st->tail + keep, n);
	st->tail_len = keep + n;
}

/* Did the upstream's last relayed bytes end a line? */
static bool
imap_at_line_start(const struct imap *st)
{
	return st->tail_len == 0 || st->tail[st->tail_len - 1] == '\n';
}

/* Tell the device why the relay ends the session, unless that would land
 * in the middle of a response from the upstream. */
static void
imap_bye(struct session *s, const char *text)
{
	struct imap *st = s->proto_state;

	if (s->state != IMAP_RELAY || imap_at_line_start(st))
		side_printf(&s->lan, "* BYE %s", text);
}

/* The upstream failed or went away: a temporary error at login; after
 * login, the device gets what the upstream sent, then the end. */
static void
imap_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	struct imap *st = s->proto_state;

	if (s->state != IMAP_RELAY)
		fatalx("imap: upstream failure in state %s",
		    session_state_name(s, s->state));
	if (s->up.bev != NULL) {
		imap_keep_tail(st, bufferevent_get_input(s->up.bev));
		evbuffer_add_buffer(bufferevent_get_output(s->lan.bev),
		    bufferevent_get_input(s->up.bev));
	}
	if (memmem(st->tail, st->tail_len, "* BYE", 5) != NULL) {
		session_close_after_flush(s, RESULT_OK, "upstream said BYE "
		    "and closed the connection");
		return;
	}
	imap_bye(s, "Upstream connection lost");
	session_close_after_flush(s, r, reason);
}

/* The timer fired: idle device, stalled login, or silent upstream. */
static void
imap_timeout(struct session *s, enum session_timer t)
{
	if (login_timeout(s, t))
		return;
	imap_bye(s, "Disconnected for inactivity");
	session_close_after_flush(s, RESULT_TIMEOUT, t == TIMER_IDLE ?
	    "device idle too long" : "device did not log in in time");
}

/* The relay is stopping: tell the device. */
static void
imap_shutdown(struct session *s)
{
	imap_bye(s, "Server shutting down");
	session_close_after_flush(s, RESULT_SHUTDOWN, "relay shutting down");
}
