/* The login every protocol shares: the device's secret, the XOAUTH2 token,
 * the dial, and the end of the upstream's login dialogue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "log.h"
#include "login.h"
#include "oauth.h"
#include "sasl.h"
#include "session_env.h"
#include "tls.h"
#include "upstream.h"
#include "verifier.h"

#define LOGIN_PROMPT_USER	"VXNlcm5hbWU6"	/* "Username:" */
#define LOGIN_PROMPT_PASS	"UGFzc3dvcmQ6"	/* "Password:" */

static void	login_enter_state(struct session *s, enum login_state next);
static enum step login_sasl_end(struct session *s, enum sasl_reply reply);
static enum step login_device_refused(struct session *s, const char *reason);
static enum step login_busy(struct session *s);
static void	login_reply(struct session *s, const char *text);
static void	login_secret_checked(void *arg, bool match);
static void	login_token_cb(void *arg, const char *token,
		    const char *error);
static void	login_dialled(enum upstream_status status, const char *error,
		    void *arg);
static void	login_upstream_event(struct side *side, enum side_event ev,
		    void *arg);
static void	login_upstream_connected(struct session *s);
static void	login_upstream_closed(struct session *s, enum side_event ev);

/* The names of the login states, for the debug log. */
static const char *const login_state_names[] = {
	LOGIN_STATES(STATE_NAME)
};

/* Change the login state in one place, with a debug trace. */
static void
login_enter_state(struct session *s, enum login_state next)
{
	log_debug("session=%s login %s -> %s", s->id,
	    login_state_names[s->login], login_state_names[next]);
	s->login = next;
}

/* Is a login past the device's secret under way? */
bool
login_active(const struct session *s)
{
	switch (s->login) {
	case LOGIN_TOKEN:
	case LOGIN_DIAL:
	case LOGIN_UPSTREAM:
		return true;
	default:
		return false;
	}
}

/* Start an AUTH exchange: answer the initial response, or prompt. */
enum step
login_sasl_start(struct session *s, enum sasl_wait first, const char *ir)
{
	s->sasl = first;
	if (ir != NULL)
		return login_sasl_line(s, ir);
	side_printf(&s->lan, "%s%s", s->ops->sasl_prompt,
	    first == SASL_WAIT_USER ? LOGIN_PROMPT_USER : "");
	return STEP_MORE;
}

/* Read the device's next SASL answer and take it. */
enum step
login_sasl_read(struct session *s, const char *too_long)
{
	enum step step;
	size_t len;

	if ((step = session_read_command(s, s->line, s->line_size, &len,
	    too_long)) != STEP_MORE)
		return step;
	return login_sasl_line(s, s->line);
}

/* One SASL answer of the device in an AUTH exchange. */
enum step
login_sasl_line(struct session *s, const char *line)
{
	size_t len = strlen(line);
	struct sasl_creds *creds;
	bool ok;

	if (strcmp(line, "*") == 0)
		return login_sasl_end(s, SASL_REPLY_CANCELLED);
	if ((creds = session_creds_fill(s)) == NULL) {
		session_no_memory(s, "credentials");
		return STEP_GONE;
	}
	switch (s->sasl) {
	case SASL_WAIT_PLAIN:
		ok = sasl_plain_decode(line, len, creds);
		break;
	case SASL_WAIT_USER:
		if ((ok = sasl_login_decode(line, len, creds->user))) {
			side_printf(&s->lan, "%s" LOGIN_PROMPT_PASS,
			    s->ops->sasl_prompt);
			s->sasl = SASL_WAIT_PASS;
			return STEP_MORE;
		}
		break;
	case SASL_WAIT_PASS:
		ok = sasl_login_decode(line, len, creds->pass);
		break;
	default:
		fatalx("session %s: SASL answer with none due", s->id);
	}
	if (!ok)
		return login_sasl_end(s, SASL_REPLY_MALFORMED);
	s->sasl = SASL_WAIT_NONE;
	OPENSSL_cleanse(s->line, s->line_size);
	return s->ops->auth_collected(s);
}

/* The AUTH exchange ended without credentials: back to LAN commands,
 * with the protocol's reply counted as a bad command. */
static enum step
login_sasl_end(struct session *s, enum sasl_reply reply)
{
	s->sasl = SASL_WAIT_NONE;
	session_creds_drop(s);
	OPENSSL_cleanse(s->line, s->line_size);
	s->ops->login_reset(s);
	return s->ops->lan_error(s, s->ops->sasl_replies[reply]);
}

/* Credentials are in: dial with them, or check them and get a token. */
enum step
login_begin(struct session *s)
{
	const struct device *dev = s->dev;
	const struct sasl_creds *creds = session_creds(s);

	if (dev->auth == AUTH_PASSTHROUGH) {
		session_set_user(s, creds->user);
		if (s->ops->counts_mailbox &&
		    !session_mailbox_acquire(s, creds->user))
			return login_busy(s);
		login_dial(s);
		return STEP_WAIT;
	}
	session_set_user(s, dev->mailbox);
	if (dev->mailbox == NULL ||
	    strcasecmp(creds->user, dev->mailbox) != 0)
		return login_device_refused(s, "user is not the device's "
		    "mailbox");
	s->verify = verifier_submit(s->env->verifier, dev->secret_hash,
	    creds->pass, login_secret_checked, s);
	session_creds_drop(s);
	login_enter_state(s, LOGIN_SECRET);
	return STEP_WAIT;
}

/* The relay refused the device's login itself: log it now, answer after
 * a delay, and touch nothing upstream. */
static enum step
login_device_refused(struct session *s, const char *reason)
{
	char reply[512];

	session_creds_drop(s);
	session_login_failed(s, RESULT_AUTH_FAILED, reason);
	login_enter_state(s, LOGIN_IDLE);
	s->ops->login_reply(s, reply, sizeof(reply),
	    s->ops->login_replies[LOGIN_REPLY_REFUSED]);
	s->ops->login_reset(s);
	session_lan_printf_delayed(s, SESSION_LOGIN_DELAY, "%s", reply);
	return STEP_WAIT;
}

/* The mailbox has all the upstream sessions it may: a temporary refusal,
 * and the device may try again or quit; nothing was sent upstream, and
 * session_mailbox_acquire() logged it. */
static enum step
login_busy(struct session *s)
{
	session_creds_drop(s);
	login_enter_state(s, LOGIN_IDLE);
	login_reply(s, s->ops->login_replies[LOGIN_REPLY_BUSY]);
	s->ops->login_reset(s);
	session_set_timer(s, TIMER_PRELOGIN);
	return STEP_MORE;
}

/* Send a login reply as the protocol words it for the device. */
static void
login_reply(struct session *s, const char *text)
{
	char reply[512];

	s->ops->login_reply(s, reply, sizeof(reply), text);
	side_printf(&s->lan, "%s", reply);
}

/* The verifier's verdict on the device's secret: refuse, or take a place
 * for the mailbox and get the token. */
static void
login_secret_checked(void *arg, bool match)
{
	struct session *s = arg;
	char why[128];

	s->verify = NULL;
	if (!match) {
		snprintf(why, sizeof(why), "wrong secret for device %s",
		    s->dev->name);
		login_device_refused(s, why);
		return;
	}
	if (s->ops->counts_mailbox &&
	    !session_mailbox_acquire(s, s->dev->mailbox)) {
		login_busy(s);
		session_lan_input(s);
		return;
	}
	login_with_token(s);
}

/* Ask for the token (arming the upstream timer). */
void
login_with_token(struct session *s)
{
	login_enter_state(s, LOGIN_TOKEN);
	session_set_timer(s, TIMER_UPSTREAM);
	s->token_req = oauth_token_get(s->env->tokens, s->cfg,
	    login_token_cb, s);
}

/* The token endpoint answered: dial with the token, or fail for now. */
static void
login_token_cb(void *arg, const char *token, const char *error)
{
	struct session *s = arg;
	char why[400];

	s->token_req = NULL;
	if (token == NULL) {
		snprintf(why, sizeof(why), "no token from the token endpoint: "
		    "%s", error != NULL ? error : "unknown error");
		login_failed(s, RESULT_UPSTREAM_ERROR,
		    s->ops->login_replies[LOGIN_REPLY_TEMPORARY], why);
		return;
	}
	if ((s->token = strdup(token)) == NULL) {
		session_no_memory(s, "token");
		return;
	}
	login_dial(s);
}

/* Dial the upstream, with login.c owning its side from now on. */
void
login_dial(struct session *s)
{
	struct upstream_target t = { s->env->base, s->env->dns, s->cfg,
	    session_route(s) };

	login_enter_state(s, LOGIN_DIAL);
	s->up.cb = login_upstream_event;
	s->up.arg = s;
	session_set_timer(s, TIMER_UPSTREAM);
	if ((s->dial = upstream_dial(&t, &s->up, login_dialled, s)) == NULL)
		session_no_memory(s, "upstream dial");
}

/* The dial ended: the upstream dialogue starts, or the login fails. */
static void
login_dialled(enum upstream_status status, const char *error, void *arg)
{
	struct session *s = arg;

	s->dial = NULL;
	switch (status) {
	case UPSTREAM_CONNECTED:
		login_enter_state(s, LOGIN_UPSTREAM);
		login_upstream_connected(s);
		return;
	case UPSTREAM_UNREACHABLE:
		login_upstream_failed(s, RESULT_UPSTREAM_UNREACHABLE, error);
		return;
	case UPSTREAM_TLS_FAILED:
		login_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED, error);
		return;
	case UPSTREAM_NO_MEMORY:
		session_no_memory(s, "upstream connection set-up");
		return;
	default:
		fatalx("session %s: bad dial status %d", s->id, status);
	}
}

/* Events on the upstream's side: input, drained output, handshake, end. */
static void
login_upstream_event(struct side *side, enum side_event ev, void *arg)
{
	struct session *s = arg;

	if (s->closing)
		return;
	switch (ev) {
	case SIDE_INPUT:
		s->ops->upstream_input(s);
		return;
	case SIDE_FLUSHED:
		side_drained(side);
		return;
	case SIDE_CONNECTED:
		login_upstream_connected(s);
		return;
	case SIDE_EOF:
	case SIDE_ERROR:
		login_upstream_closed(s, ev);
		return;
	default:
		fatalx("session %s: unexpected upstream event %d", s->id, ev);
	}
}

/* The upstream connection (or its TLS) is up: note the TLS and let the
 * protocol go on with its dialogue. */
static void
login_upstream_connected(struct session *s)
{
	s->up_tls_version = side_tls_version(&s->up);
	s->up_tls_cipher = side_tls_cipher(&s->up);
	if (s->up.tls_up)
		log_debug("session=%s upstream TLS %s %s resumed=%s", s->id,
		    s->up_tls_version, s->up_tls_cipher,
		    SSL_session_reused(s->up.ssl) ? "yes" : "no");
	s->ops->upstream_ready(s);
}

/* The upstream closed, or its STARTTLS handshake failed. */
static void
login_upstream_closed(struct session *s, enum side_event ev)
{
	char reason[300];

	if (s->up.ssl != NULL && !s->up.tls_up) {
		side_tls_error(&s->up, "upstream", reason, sizeof(reason));
		login_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED, reason);
		return;
	}
	s->up.eof = true;
	login_upstream_failed(s, RESULT_UPSTREAM_ERROR, ev == SIDE_EOF ?
	    "upstream closed the connection" : "upstream connection failed");
}

/* Discard what followed the STARTTLS go-ahead and start the handshake. */
void
login_start_tls(struct session *s)
{
	side_drop_input(&s->up);
	if (!side_start_tls(&s->up, tls_upstream_new(s->cfg, session_route(s)),
	    false))
		session_no_memory(s, "upstream TLS set-up");
}

/* The upstream took the login: forget what it needed. */
void
login_done(struct session *s)
{
	session_creds_drop(s);
	session_token_clear(s);
	session_login_succeeded(s);
	login_enter_state(s, LOGIN_IDLE);
	s->logged_in = true;
}

/* The login failed: tell the device, drop the upstream, read on. */
void
login_failed(struct session *s, enum session_result r, const char *reply,
    const char *reason)
{
	session_login_failed(s, r, reason);
	session_creds_drop(s);
	session_token_clear(s);
	session_dial_cancel(s);
	side_close(&s->up);
	session_mailbox_release(s);
	login_enter_state(s, LOGIN_IDLE);
	login_reply(s, reply);
	s->ops->login_reset(s);
	session_set_timer(s, TIMER_PRELOGIN);
	session_lan_input(s);
}

/* The upstream refused the login: a known refusal explained, else the
 * protocol's permanent reply. */
void
login_refused(struct session *s, const char *text, const char *line)
{
	const struct explanation *e;
	char why[SASL_FIELD_MAX * 4 + 1024], reply[512];

	snprintf(why, sizeof(why), "upstream refused the login: %s", text);
	if (s->token != NULL)
		login_token_refused(s, text, why, sizeof(why));
	e = explain_lookup(s->ops->explain, line,
	    s->dev->auth != AUTH_PASSTHROUGH);
	if (e != NULL) {
		explain_log(s->id, s->dev->name, e, line);
		snprintf(reply, sizeof(reply), "%s%s", s->ops->explain_prefix,
		    e->device);
	}
	login_failed(s, RESULT_AUTH_FAILED, e != NULL ? reply :
	    s->ops->login_replies[LOGIN_REPLY_REFUSED], why);
}

/* The upstream refused the token: forget it and say what to check. */
void
login_token_refused(struct session *s, const char *text, char *why,
    size_t len)
{
	oauth_token_reject(s->env->tokens, s->cfg, s->token);
	snprintf(why, len, "upstream refused the token for %s (check the "
	    "service principal's mailbox permission): %s%s%s",
	    s->user != NULL ? s->user : "", text,
	    s->challenge != NULL ? "; " : "",
	    s->challenge != NULL ? s->challenge : "");
}

/* The upstream failed: the login's temporary reply, or the protocol's. */
void
login_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	if (login_active(s))
		login_failed(s, r, s->ops->login_replies[LOGIN_REPLY_UNAVAILABLE],
		    reason);
	else
		s->ops->upstream_failed(s, r, reason);
}

/* Read one upstream line; one over the limit is an upstream failure. */
enum step
login_read_upstream(struct session *s, size_t *len)
{
	switch (side_read_line(&s->up, s->line, s->line_size, len)) {
	case LINE_OK:
		return STEP_MORE;
	case LINE_NONE:
		return STEP_WAIT;
	case LINE_TOO_LONG:
		login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent a line over the length limit");
		return STEP_GONE;
	default:
		fatalx("session %s: bad line status", s->id);
	}
}

/* The upstream answered out of turn in the login dialogue. */
void
login_unexpected_reply(struct session *s, const char *text)
{
	char why[400];

	snprintf(why, sizeof(why), "unexpected upstream reply in %s: %s",
	    session_state_name(s, s->state), text);
	login_upstream_failed(s, RESULT_UPSTREAM_ERROR, why);
}

/* The upstream timer fired: no token in time, or a silent upstream. */
bool
login_timeout(struct session *s, enum session_timer t)
{
	if (t != TIMER_UPSTREAM)
		return false;
	if (s->login == LOGIN_TOKEN)
		login_failed(s, RESULT_UPSTREAM_ERROR,
		    s->ops->login_replies[LOGIN_REPLY_TEMPORARY],
		    "no token from the token endpoint in time");
	else
		login_upstream_failed(s, s->login == LOGIN_DIAL ?
		    RESULT_UPSTREAM_UNREACHABLE : RESULT_UPSTREAM_ERROR,
		    "upstream timed out");
	return true;
}

/* The XOAUTH2 initial response for the mailbox and the token. */
char *
login_xoauth2(struct session *s)
{
	char *ir = sasl_xoauth2_encode(s->dev->mailbox, s->token);

	free(s->challenge);
	s->challenge = NULL;
	if (ir == NULL)
		session_no_memory(s, "XOAUTH2 response");
	return ir;
}

/* Decode an XOAUTH2 error challenge for the log. */
void
login_challenge(struct session *s, const char *text)
{
	char esc[256];

	sasl_xoauth2_challenge(esc, sizeof(esc), text);
	free(s->challenge);
	s->challenge = strdup(esc);
}
