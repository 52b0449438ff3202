/* POP3: the LAN phase handled locally, the upstream login, then the relay. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/crypto.h>

#include "evidence_session.h"
#include "log.h"
#include "login.h"
#include "metrics.h"
#include "pop3_parse.h"
#include "sasl.h"
#include "session.h"
#include "util.h"

/* The reply to a device line over the length limit. */
#define POP3_TOO_LONG	"-ERR Line too long"

/* The states of the dialogue, listed once for the enum and the names in
 * the debug log; login.c's own state says which of them are part of a
 * login. */
#define POP3_STATES(S)							\
	S(POP3_LAN_COMMAND)	/* device commands answered locally */	\
	S(POP3_LAN_AUTH)	/* login.c collects the AUTH answers */	\
	S(POP3_LAN_STLS)	/* "+OK" sent, LAN TLS handshake pending */ \
	S(POP3_LOGIN)		/* login.c: secret, token or dial */	\
	S(POP3_UP_GREETING)	/* waiting for the upstream's +OK */	\
	S(POP3_UP_CAPA)		/* CAPA sent before TLS */		\
	S(POP3_UP_STLS)		/* STLS sent */				\
	S(POP3_UP_TLS)		/* upstream TLS handshake */		\
	S(POP3_UP_CAPA_TLS)	/* CAPA sent over TLS */		\
	S(POP3_UP_USER)		/* USER sent, PASS next */		\
	S(POP3_UP_AUTH_PLAIN)	/* "AUTH PLAIN" sent, waiting for "+" */ \
	S(POP3_UP_AUTH)		/* password sent, waiting for the verdict */ \
	S(POP3_UP_XOAUTH2)	/* "AUTH XOAUTH2" sent, waiting for "+" */ \
	S(POP3_UP_XOAUTH2_TOKEN) /* token sent: +OK, or an error challenge */ \
	S(POP3_UP_XOAUTH2_ERROR) /* challenge answered, the refusal follows */ \
	S(POP3_RELAY_COMMAND)	/* waiting for the device's next command */ \
	S(POP3_RELAY_REPLY)	/* command forwarded, status line pending */ \
	S(POP3_RELAY_BODY)	/* streaming the lines of a multi-line answer */ \
	S(POP3_RELAY_QUIT_REPLY) /* QUIT forwarded */

enum pop3_state {
	POP3_STATES(STATE_ENUM)
};

struct pop3 {
	bool		 have_user;	/* USER accepted, PASS may follow */
	struct pop3_caps up_caps;	/* the upstream's CAPA answer */
	bool		 up_listing;	/* reading the lines of that answer */
	char		 reply_text[256]; /* last upstream status, escaped */
	enum pop3_verb	 relay_verb;	/* the command being relayed */
	bool		 relay_multiline; /* its +OK answer is multi-line */
	bool		 body_line_start; /* the body so far ends a line */
};

typedef enum step (*pop3_lan_handler)(struct session *,
    const struct pop3_cmd *);

static bool	pop3_auth_allowed(const struct session *s);
static enum step pop3_auth_refused(struct session *s);
static enum step pop3_bad_command(struct session *s,
		    enum pop3_cmd_status status, enum pop3_verb verb);
static enum step pop3_cmd_apop(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_auth(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_capa(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_need_auth(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_pass(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_quit(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_stls(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_cmd_user(struct session *s,
		    const struct pop3_cmd *cmd);
static enum step pop3_error(struct session *s, const char *reply);
static enum step pop3_lan_command(struct session *s, size_t len);
static void	pop3_logged_in(struct session *s);
static enum step pop3_login_refused(struct session *s,
		    const char *text);
static void	pop3_policy(const struct session *s, struct pop3_policy *p);
static enum step pop3_read_command(struct session *s);
static enum step pop3_relay_body(struct session *s);
static enum step pop3_relay_command(struct session *s, size_t len);
static enum step pop3_relay_done(struct session *s, bool body);
static void	pop3_relay_idle(struct session *s);
static void	pop3_relay_input(struct session *s);
static enum step pop3_relay_status(struct session *s);
static void	pop3_send_capa(struct session *s);
static enum step pop3_up_capa_line(struct session *s);
static enum step pop3_up_stls_reply(struct session *s,
		    enum pop3_status status);
static enum step pop3_up_login_line(struct session *s, size_t len);
static enum step pop3_up_send_login(struct session *s);
static enum step pop3_up_send_plain(struct session *s);
static enum step pop3_up_send_xoauth2(struct session *s);
static void	pop3_up_step(struct session *s);
static enum step pop3_up_xoauth2_line(struct session *s,
		    enum pop3_status status, const char *text);
static void	pop3_upstream_ready(struct session *s);

/* POP3 for the generic session and login.c: the names of its states, its
 * replies and its hooks. */
PROTO_OPS(pop3, PROTO_POP3, POP3_STATES,
    .refusal = { "-ERR ", "-ERR [SYS/TEMP] " },
    .counts_mailbox = true,
    .login_replies = LOGIN_REPLIES("-ERR [SYS/TEMP] ", "-ERR [SYS/TEMP] ",
	"-ERR [AUTH] Authentication failed", "-ERR [IN-USE] "),
    .explain = EXPLAIN_POP3,
    .explain_prefix = "-ERR ",
    .sasl_prompt = "+ ",
    .sasl_replies = SASL_REPLIES("-ERR ", "-ERR "),
    .lan_error = pop3_error,
    .free = NULL);

/* Commands of the LAN phase, answered by the relay itself, by verb. */
static const pop3_lan_handler pop3_lan_commands[] = {
	[POP3_VERB_CAPA] = pop3_cmd_capa,
	[POP3_VERB_STLS] = pop3_cmd_stls,
	[POP3_VERB_USER] = pop3_cmd_user,
	[POP3_VERB_PASS] = pop3_cmd_pass,
	[POP3_VERB_AUTH] = pop3_cmd_auth,
	[POP3_VERB_APOP] = pop3_cmd_apop,
	[POP3_VERB_QUIT] = pop3_cmd_quit,
	[POP3_VERB_STAT] = pop3_cmd_need_auth,
	[POP3_VERB_LIST] = pop3_cmd_need_auth,
	[POP3_VERB_RETR] = pop3_cmd_need_auth,
	[POP3_VERB_DELE] = pop3_cmd_need_auth,
	[POP3_VERB_NOOP] = pop3_cmd_need_auth,
	[POP3_VERB_RSET] = pop3_cmd_need_auth,
	[POP3_VERB_TOP] = pop3_cmd_need_auth,
	[POP3_VERB_UIDL] = pop3_cmd_need_auth,
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

/* Greet the device. */
static bool
pop3_start(struct session *s)
{
	side_printf(&s->lan, "+OK %s POP3 ready", s->cfg->server_name);
	return true;
}

/* One step of device input processing in the current state. */
static enum step
pop3_lan_step(struct session *s)
{
	switch (s->state) {
	case POP3_LAN_COMMAND:
	case POP3_RELAY_COMMAND:
		return pop3_read_command(s);
	case POP3_LAN_AUTH:
		return login_sasl_read(s, POP3_TOO_LONG);
	default:
		return STEP_WAIT;	/* the upstream's turn */
	}
}

/* Read one device command: answered here before login, relayed after it
 * once the device has read the answers before it. */
static enum step
pop3_read_command(struct session *s)
{
	enum step step;
	size_t len;

	if (s->state == POP3_RELAY_COMMAND &&
	    (s->lan.congested || side_congested(&s->lan)))
		return STEP_WAIT;
	if ((step = session_read_command(s, s->line, s->line_size, &len,
	    POP3_TOO_LONG)) != STEP_MORE)
		return step;
	return s->state == POP3_LAN_COMMAND ? pop3_lan_command(s, len) :
	    pop3_relay_command(s, len);
}

/* The device closed its side: end now unless an upstream answer is due. */
static void
pop3_lan_eof(struct session *s)
{
	switch (s->state) {
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

/* Count a bad command; reply, or end the session after too many. */
static enum step
pop3_error(struct session *s, const char *reply)
{
	return session_lan_error(s, reply, "-ERR Too many bad commands, "
	    "closing connection");
}

/* Refuse a command line with a bare CR in it, counted as a bad command. */
static enum step
pop3_bare_cr(struct session *s)
{
	return pop3_error(s, "-ERR Bare CR in command line refused");
}

/* Answer a command the parser did not accept. */
static enum step
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
	p->logged_in = s->logged_in;
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
static enum step
pop3_lan_command(struct session *s, size_t len)
{
	struct pop3_cmd cmd;
	enum pop3_cmd_status status;
	pop3_lan_handler handler;

	status = pop3_parse_command(s->line, len, &cmd);
	if (status != POP3_CMD_OK)
		return pop3_bad_command(s, status, cmd.verb);
	if ((handler = LAN_HANDLER(pop3_lan_commands, cmd.verb)) == NULL)
		fatalx("pop3: no LAN handler for verb %d", cmd.verb);
	return handler(s, &cmd);
}

/* CAPA: the relay's own list, never the upstream's. */
static enum step
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
	side_printf(&s->lan, "+OK Capability list follows");
	for (i = 0; i < n; i++)
		side_printf(&s->lan, "%s", caps[i]);
	side_printf(&s->lan, ".");
}

/* STLS: refuse pipelined bytes (injection), then start TLS. */
static enum step
pop3_cmd_stls(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3_policy p;

	(void)cmd;
	pop3_policy(s, &p);
	if (!pop3_policy_stls(&p))
		return pop3_error(s, s->lan.ssl != NULL ?
		    "-ERR TLS already active" : "-ERR STLS not available");
	session_enter_state(s, POP3_LAN_STLS);
	return session_lan_starttls(s, "STLS", "+OK Begin TLS negotiation");
}

/* The LAN handshake finished: forget everything said before it. */
static void
pop3_lan_tls_ready(struct session *s)
{
	struct pop3 *st = s->proto_state;

	st->have_user = false;
	session_creds_drop(s);
	session_enter_state(s, POP3_LAN_COMMAND);
	session_lan_input(s);
}

/* Credentials are not welcome here: say what would make them so. */
static enum step
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
static enum step
pop3_cmd_user(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3 *st = s->proto_state;
	struct sasl_creds *creds;

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	if ((creds = session_creds_fill(s)) == NULL) {
		session_no_memory(s, "credentials");
		return STEP_GONE;
	}
	snprintf(creds->user, sizeof(creds->user), "%s", cmd->arg);
	st->have_user = true;
	side_printf(&s->lan, "+OK Send PASS");
	return STEP_MORE;
}

/* PASS: the credentials are complete; log in upstream with them. */
static enum step
pop3_cmd_pass(struct session *s, const struct pop3_cmd *cmd)
{
	struct pop3 *st = s->proto_state;
	struct sasl_creds *creds;

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	if (!st->have_user)
		return pop3_error(s, "-ERR Send USER first");
	if ((creds = session_creds_fill(s)) == NULL) {
		session_no_memory(s, "credentials");
		return STEP_GONE;
	}
	snprintf(creds->pass, sizeof(creds->pass), "%s", cmd->arg);
	OPENSSL_cleanse(s->line, s->line_size);
	return pop3_auth_collected(s);
}

/* AUTH PLAIN or LOGIN, with or without an initial response; a bare AUTH
 * lists the mechanisms (RFC 1734 style). */
static enum step
pop3_cmd_auth(struct session *s, const struct pop3_cmd *cmd)
{
	const char *ir;
	enum pop3_mech mech = pop3_parse_auth(cmd->arg, &ir);

	if (!pop3_auth_allowed(s))
		return pop3_auth_refused(s);
	switch (mech) {
	case POP3_MECH_NONE:
		side_printf(&s->lan, "+OK Mechanisms follow");
		side_printf(&s->lan, "PLAIN");
		side_printf(&s->lan, "LOGIN");
		side_printf(&s->lan, ".");
		return STEP_MORE;
	case POP3_MECH_PLAIN:
		session_enter_state(s, POP3_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_PLAIN, ir);
	case POP3_MECH_LOGIN:
		session_enter_state(s, POP3_LAN_AUTH);
		return login_sasl_start(s, SASL_WAIT_USER, ir);
	case POP3_MECH_UNKNOWN:
		return pop3_error(s, "-ERR Unsupported authentication "
		    "mechanism");
	default:
		fatalx("pop3: bad mechanism %d", mech);
	}
}

/*
 * Credentials are in. Pass-through: log in upstream with them. oauth2:
 * check them here, then log in upstream as the device's mailbox.
 */
static enum step
pop3_auth_collected(struct session *s)
{
	struct pop3 *st = s->proto_state;

	st->have_user = false;
	session_enter_state(s, POP3_LOGIN);
	return login_begin(s);
}

/* APOP needs the clear password on the relay's side: not offered. */
static enum step
pop3_cmd_apop(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	return pop3_error(s, "-ERR APOP is not supported: use USER/PASS or "
	    "AUTH");
}

/* Mailbox commands before login. */
static enum step
pop3_cmd_need_auth(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	return pop3_error(s, "-ERR Not logged in: authenticate with USER/PASS "
	    "or AUTH first");
}

/* QUIT before login. */
static enum step
pop3_cmd_quit(struct session *s, const struct pop3_cmd *cmd)
{
	(void)cmd;
	return session_quit_before_login(s, "+OK Bye", "quit before login");
}

/* The upstream connection (or its TLS) is up. */
static void
pop3_upstream_ready(struct session *s)
{
	struct pop3 *st = s->proto_state;

	session_set_timer(s, TIMER_UPSTREAM);
	if (s->state == POP3_UP_TLS) {
		session_up_send(s, POP3_UP_CAPA_TLS, "CAPA");
		return;
	}
	memset(&st->up_caps, 0, sizeof(st->up_caps));
	session_enter_state(s, POP3_UP_GREETING);
}

/* Upstream input: lines drive the login, then the relay. */
static void
pop3_upstream_input(struct session *s)
{
	switch (s->state) {
	case POP3_LAN_COMMAND:
	case POP3_LAN_AUTH:
	case POP3_LAN_STLS:
	case POP3_LOGIN:
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
		fatalx("pop3: upstream input in state %d", s->state);
	}
}

/* Read login-phase lines and act on each. */
static void
pop3_up_step(struct session *s)
{
	size_t len;

	while (login_read_upstream(s, &len) == STEP_MORE)
		if (pop3_up_login_line(s, len) != STEP_MORE)
			return;
}

/* Act on one upstream line during the login. */
static enum step
pop3_up_login_line(struct session *s, size_t len)
{
	struct pop3 *st = s->proto_state;
	const char *text;
	enum pop3_status status;

	if (st->up_listing)
		return pop3_up_capa_line(s);
	status = pop3_parse_status(s->line, &text);
	log_escape(st->reply_text, sizeof(st->reply_text), s->line, len);
	switch (s->state) {
	case POP3_UP_GREETING:
	case POP3_UP_CAPA:
	case POP3_UP_CAPA_TLS:
		if (status != POP3_STATUS_OK)
			break;
		if (s->state == POP3_UP_GREETING)
			session_up_send(s, s->up.tls_up ? POP3_UP_CAPA_TLS :
			    POP3_UP_CAPA, "CAPA");
		else {
			memset(&st->up_caps, 0, sizeof(st->up_caps));
			st->up_listing = true;
		}
		return STEP_MORE;
	case POP3_UP_STLS:
		return pop3_up_stls_reply(s, status);
	case POP3_UP_USER:
		if (status == POP3_STATUS_ERR)
			return pop3_login_refused(s, text);
		if (status != POP3_STATUS_OK)
			break;
		session_up_send(s, POP3_UP_AUTH, "PASS %s",
		    session_creds(s)->pass);
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
		    session_state_name(s, s->state));
	}
	login_unexpected_reply(s, st->reply_text);
	return STEP_GONE;
}

/* The upstream's answer to STLS: the handshake, or the login fails. */
static enum step
pop3_up_stls_reply(struct session *s, enum pop3_status status)
{
	struct pop3 *st = s->proto_state;
	char why[400];

	if (status != POP3_STATUS_OK) {
		snprintf(why, sizeof(why), "upstream refused STLS: %s",
		    st->reply_text);
		login_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED, why);
		return STEP_GONE;
	}
	session_enter_state(s, POP3_UP_TLS);
	login_start_tls(s);
	return STEP_WAIT;
}

/* One line of the upstream's CAPA list; at its end, go on with the login. */
static enum step
pop3_up_capa_line(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (strcmp(s->line, ".") != 0) {
		pop3_parse_capa_line(s->line, &st->up_caps);
		return STEP_MORE;
	}
	st->up_listing = false;
	if (s->state == POP3_UP_CAPA_TLS)
		return pop3_up_send_login(s);
	if (!st->up_caps.stls) {
		login_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED,
		    "upstream does not offer STLS");
		return STEP_GONE;
	}
	session_up_send(s, POP3_UP_STLS, "STLS");
	return STEP_MORE;
}

/* Start the upstream login: XOAUTH2 for the oauth2 mode; else SASL PLAIN
 * if offered, else USER/PASS. */
static enum step
pop3_up_send_login(struct session *s)
{
	struct pop3 *st = s->proto_state;

	if (s->dev->auth != AUTH_PASSTHROUGH && !st->up_caps.sasl_xoauth2) {
		login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream does not offer SASL XOAUTH2");
		return STEP_GONE;
	}
	if (s->dev->auth != AUTH_PASSTHROUGH)
		session_up_send(s, POP3_UP_XOAUTH2, "AUTH XOAUTH2");
	else if (st->up_caps.sasl_plain)
		session_up_send(s, POP3_UP_AUTH_PLAIN, "AUTH PLAIN");
	else if (st->up_caps.user)
		session_up_send(s, POP3_UP_USER, "USER %s",
		    session_creds(s)->user);
	else {
		login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream offers neither SASL PLAIN nor USER");
		return STEP_GONE;
	}
	return STEP_MORE;
}

/* The upstream is ready for the PLAIN response: send it. */
static enum step
pop3_up_send_plain(struct session *s)
{
	char b64[SASL_FIELD_MAX * 3];

	sasl_plain_encode(session_creds(s), b64, sizeof(b64));
	session_up_send(s, POP3_UP_AUTH, "%s", b64);
	OPENSSL_cleanse(b64, sizeof(b64));
	return STEP_MORE;
}

/* The upstream is ready for the XOAUTH2 response: mailbox and token. */
static enum step
pop3_up_send_xoauth2(struct session *s)
{
	char *ir;

	if ((ir = login_xoauth2(s)) == NULL)
		return STEP_GONE;
	session_up_send(s, POP3_UP_XOAUTH2_TOKEN, "%s", ir);
	OPENSSL_clear_free(ir, strlen(ir));
	return STEP_MORE;
}

/* The upstream's answer to the token: +OK, -ERR, or first an error
 * challenge, kept for the log and answered with an empty line. */
static enum step
pop3_up_xoauth2_line(struct session *s, enum pop3_status status,
    const char *text)
{
	switch (status) {
	case POP3_STATUS_OK:
		pop3_logged_in(s);
		return STEP_GONE;
	case POP3_STATUS_ERR:
		return pop3_login_refused(s, text);
	case POP3_STATUS_CONT:
		if (s->state == POP3_UP_XOAUTH2_ERROR) {
			login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
			    "upstream sent a second XOAUTH2 challenge");
			return STEP_GONE;
		}
		login_challenge(s, text);
		session_up_send(s, POP3_UP_XOAUTH2_ERROR, "%s", "");
		return STEP_MORE;
	default:
		fatalx("pop3: bad XOAUTH2 answer status %d", status);
	}
}

/* The upstream said -ERR to the credentials or token: a response code that
 * is not about them has its own reply; any other refusal is login.c's. */
static enum step
pop3_login_refused(struct session *s, const char *text)
{
	struct pop3 *st = s->proto_state;
	char code[32], why[400];
	size_t i;

	metrics_count_upstream_auth_failure(s->ops->proto,
	    s->dev->auth, st->reply_text);
	pop3_resp_code(text, code, sizeof(code));
	for (i = 0; i < nitems(pop3_login_codes); i++) {
		if (strcmp(code, pop3_login_codes[i].code) == 0) {
			snprintf(why, sizeof(why), "upstream refused the login: "
			    "%s", st->reply_text);
			login_failed(s, RESULT_UPSTREAM_ERROR,
			    pop3_login_codes[i].reply, why);
			return STEP_GONE;
		}
	}
	login_refused(s, st->reply_text, s->line);
	return STEP_GONE;
}

/* A login ended without success: take LAN commands again. */
static void
pop3_login_reset(struct session *s)
{
	struct pop3 *st = s->proto_state;

	st->up_listing = false;
	session_enter_state(s, POP3_LAN_COMMAND);
}

/* A login reply goes to the device as it is. */
static void
pop3_login_reply(struct session *s, char *dst, size_t len, const char *text)
{
	(void)s;
	snprintf(dst, len, "%s", text);
}

/* The upstream took the credentials: relay from now on. */
static void
pop3_logged_in(struct session *s)
{
	login_done(s);
	side_printf(&s->lan, "+OK Logged in");
	session_enter_state(s, POP3_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	session_lan_input(s);
}

/* The upstream failed or vanished: a temporary error, never a success. */
static void
pop3_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	switch (s->state) {
	case POP3_RELAY_BODY:
		/* No end marker: the device must not take a cut answer. */
		session_close(s, r, reason);
		return;
	case POP3_RELAY_QUIT_REPLY:
		side_printf(&s->lan, "-ERR [SYS/TEMP] Upstream connection "
		    "lost; deletions may not have been applied");
		break;
	default:
		side_printf(&s->lan, "-ERR [SYS/TEMP] Upstream connection "
		    "lost");
		break;
	}
	session_close_after_flush(s, r, reason);
}

/* The timer fired: idle device, stalled login, or silent upstream. */
static void
pop3_timeout(struct session *s, enum session_timer t)
{
	if (login_timeout(s, t))
		return;
	if (s->state == POP3_RELAY_BODY) {
		session_close(s, RESULT_TIMEOUT, "device stopped reading");
		return;
	}
	side_printf(&s->lan, "-ERR Disconnected for inactivity");
	session_close_after_flush(s, RESULT_TIMEOUT, t == TIMER_IDLE ?
	    "device idle too long" : "device did not log in in time");
}

/* The relay is stopping: tell the device, unless an answer is half sent. */
static void
pop3_shutdown(struct session *s)
{
	if (s->state == POP3_RELAY_BODY) {
		session_close(s, RESULT_SHUTDOWN, "relay shutting down");
		return;
	}
	side_printf(&s->lan, "-ERR [SYS/TEMP] %s shutting down",
	    s->cfg->server_name);
	session_close_after_flush(s, RESULT_SHUTDOWN, "relay shutting down");
}

/* A device command after login: answer locally or forward it. */
static enum step
pop3_relay_command(struct session *s, size_t len)
{
	struct pop3 *st = s->proto_state;
	struct pop3_cmd cmd;
	enum pop3_cmd_status status;
	char out[POP3_CMD_LINE];

	status = pop3_parse_command(s->line, len, &cmd);
	switch (cmd.verb) {
	case POP3_VERB_USER:
	case POP3_VERB_PASS:
	case POP3_VERB_APOP:
	case POP3_VERB_AUTH:
	case POP3_VERB_STLS:
		OPENSSL_cleanse(s->line, s->line_size);
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
	side_printf(&s->up, "%s", out);
	evidence_pop3_command(s, cmd.verb);
	st->relay_verb = cmd.verb;
	st->relay_multiline = pop3_cmd_multiline(&cmd);
	session_enter_state(s, cmd.verb == POP3_VERB_QUIT ?
	    POP3_RELAY_QUIT_REPLY : POP3_RELAY_REPLY);
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_WAIT;
}

/* Upstream input while an answer is due: pass it on. */
static void
pop3_relay_input(struct session *s)
{
	enum step step;

	do {
		if (s->state == POP3_RELAY_BODY)
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
	session_lan_input(s);
}

/* The status line of a relayed command's answer. */
static enum step
pop3_relay_status(struct session *s)
{
	struct pop3 *st = s->proto_state;
	enum pop3_status status;
	const char *text;
	char why[400];
	enum step step;
	size_t len;

	if ((step = login_read_upstream(s, &len)) != STEP_MORE)
		return step;
	status = pop3_parse_status(s->line, &text);
	log_escape(st->reply_text, sizeof(st->reply_text), s->line, len);
	if (status != POP3_STATUS_OK && status != POP3_STATUS_ERR) {
		snprintf(why, sizeof(why), "upstream sent an invalid reply: %s",
		    st->reply_text);
		pop3_upstream_failed(s, RESULT_UPSTREAM_ERROR, why);
		return STEP_GONE;
	}
	evidence_pop3_status(s, status == POP3_STATUS_OK);
	side_printf(&s->lan, "%s", s->line);
	if (s->state == POP3_RELAY_QUIT_REPLY) {
		snprintf(why, sizeof(why), "upstream refused QUIT: %s",
		    st->reply_text);
		session_close_after_flush(s, status == POP3_STATUS_OK ?
		    RESULT_OK : RESULT_UPSTREAM_ERROR,
		    status == POP3_STATUS_OK ? NULL : why);
		return STEP_GONE;
	}
	if (status == POP3_STATUS_OK && st->relay_multiline) {
		st->body_line_start = true;
		side_read_bulk(&s->up, true);
		session_enter_state(s, POP3_RELAY_BODY);
		return STEP_MORE;
	}
	return pop3_relay_done(s, false);
}

/* Pass the lines of a multi-line answer on, up to and with its end. */
static enum step
pop3_relay_body(struct session *s)
{
	struct pop3 *st = s->proto_state;
	struct evbuffer *in = bufferevent_get_input(s->up.bev);
	size_t n;

	switch (pop3_body_scan(in, &st->body_line_start, &n)) {
	case POP3_BODY_WAIT:
		return STEP_WAIT;
	case POP3_BODY_END:
		evidence_pop3_body(s, n);
		side_move(&s->up, n);
		return pop3_relay_done(s, true);
	case POP3_BODY_MORE:
		break;
	}
	evidence_pop3_body(s, n);
	side_move(&s->up, n);
	if (side_congested(&s->lan)) {
		session_set_timer(s, TIMER_IDLE);	/* the device is slow */
		return STEP_WAIT;
	}
	session_set_timer(s, TIMER_UPSTREAM);
	return STEP_MORE;
}

/* An answer went through: count a retrieved message, take the next
 * command. */
static enum step
pop3_relay_done(struct session *s, bool body)
{
	struct pop3 *st = s->proto_state;

	if (body && st->relay_verb == POP3_VERB_RETR)
		s->messages++;
	side_read_bulk(&s->up, false);
	session_enter_state(s, POP3_RELAY_COMMAND);
	session_set_timer(s, TIMER_IDLE);
	session_lan_input(s);
	return STEP_GONE;
}
