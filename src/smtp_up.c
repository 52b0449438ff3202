/* SMTP's upstream client half: greeting, EHLO, STARTTLS and AUTH (PLAIN,
 * LOGIN or XOAUTH2) up to the upstream's verdict, and reading replies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "log.h"
#include "login.h"
#include "metrics.h"
#include "sasl.h"
#include "smtp.h"
#include "util.h"

#define SMTP_COMMAND_MAX	512	/* RFC 5321 command line, with CRLF */

static void	smtp_note_capability(struct session *s, const char *text);
static void	smtp_reply_first(struct session *s, int code, size_t len);
static void	smtp_up_login_reply(struct session *s, int code);
static void	smtp_up_auth_verdict(struct session *s, int code);
static void	smtp_up_send_auth(struct session *s);
static void	smtp_up_send_xoauth2(struct session *s);
static void	smtp_up_xoauth2_challenge(struct session *s);
static void	smtp_up_xoauth2_verdict(struct session *s, int code);

/* The upstream connection (or its TLS) is up. */
void
smtp_upstream_ready(struct session *s)
{
	struct smtp *st = s->proto_state;

	session_set_timer(s, TIMER_UPSTREAM);
	if (s->state == SMTP_UP_TLS) {
		session_up_send(s, SMTP_UP_EHLO_TLS, "EHLO %s",
		    s->cfg->server_name);
		return;
	}
	memset(&st->up, 0, sizeof(st->up));
	session_enter_state(s, SMTP_UP_GREETING);
}

/* Read one upstream reply; forward its lines to the device if asked. */
enum smtp_reply
smtp_read_reply(struct session *s, bool forward)
{
	struct smtp *st = s->proto_state;
	struct smtp_reply_line rl;
	size_t len;

	for (;;) {
		switch (side_read_line(&s->up, s->line, s->line_size,
		    &len)) {
		case LINE_NONE:
			return REPLY_PARTIAL;
		case LINE_TOO_LONG:
			return REPLY_BAD;
		case LINE_OK:
			break;
		}
		if (!smtp_parse_reply_next(st->reply_code, s->line, len, &rl))
			return REPLY_BAD;
		if (st->reply_code == 0)
			smtp_reply_first(s, rl.code, len);
		st->reply_code = rl.code;
		smtp_note_capability(s, rl.text);
		if (forward && st->explained == NULL)
			side_printf(&s->lan, "%s", s->line);
		else if (forward && rl.last)
			side_printf(&s->lan, "%s", st->explained->device);
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

	log_escape(st->reply_text, sizeof(st->reply_text), s->line, len);
	st->explained = code >= 400 ? explain_lookup(EXPLAIN_SMTP, s->line,
	    s->dev->auth != AUTH_PASSTHROUGH) : NULL;
	if (st->explained != NULL)
		explain_log(s->id, s->dev->name, st->explained, s->line);
	else if (code >= 400 && !login_active(s))
		log_fields(LOG_NOTICE, f, nitems(f));	/* passed on as is */
}

/* Remember STARTTLS and AUTH mechanisms from an EHLO reply line. */
static void
smtp_note_capability(struct session *s, const char *text)
{
	struct smtp *st = s->proto_state;

	if (s->state == SMTP_UP_EHLO || s->state == SMTP_UP_EHLO_TLS)
		smtp_parse_capability(text, &st->up);
}

/* Read a login-phase reply and act on it. */
void
smtp_up_step(struct session *s)
{
	struct smtp *st = s->proto_state;
	int code;

	switch (smtp_read_reply(s, false)) {
	case REPLY_PARTIAL:
		return;
	case REPLY_BAD:
		login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream sent an invalid reply");
		return;
	case REPLY_DONE:
		code = st->reply_code;
		st->reply_code = 0;
		smtp_up_login_reply(s, code);
		return;
	}
}

/* The upstream's answer to AUTH PLAIN or LOGIN: logged in, or the device
 * told why not (permanently for a 5xx). */
static void
smtp_up_auth_verdict(struct session *s, int code)
{
	struct smtp *st = s->proto_state;
	char why[400];

	if (code == 235) {
		smtp_logged_in(s);
		return;
	}
	metrics_count_upstream_auth_failure(s->ops->proto, s->dev->auth,
	    st->reply_text);
	snprintf(why, sizeof(why), "upstream refused the login: %s",
	    st->reply_text);
	if (code >= 500)
		login_failed(s, RESULT_AUTH_FAILED,
		    smtp_ops.login_replies[LOGIN_REPLY_REFUSED], why);
	else
		login_failed(s, RESULT_UPSTREAM_ERROR, "454 4.7.0 Temporary "
		    "authentication failure", why);
}

/* Act on a complete reply during the upstream login. */
static void
smtp_up_login_reply(struct session *s, int code)
{
	struct smtp *st = s->proto_state;

	switch (s->state) {
	case SMTP_UP_GREETING:
		if (code != 220)
			break;
		session_up_send(s, s->up.tls_up ? SMTP_UP_EHLO_TLS :
		    SMTP_UP_EHLO, "EHLO %s", s->cfg->server_name);
		return;
	case SMTP_UP_EHLO:
		if (code != 250)
			break;
		if (!st->up.starttls) {
			login_upstream_failed(s, RESULT_UPSTREAM_TLS_FAILED,
			    "upstream does not offer STARTTLS");
			return;
		}
		st->up.plain = st->up.login = false;
		session_up_send(s, SMTP_UP_STARTTLS, "STARTTLS");
		return;
	case SMTP_UP_STARTTLS:
		if (code != 220)
			break;
		session_enter_state(s, SMTP_UP_TLS);
		login_start_tls(s);
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
		smtp_up_auth_verdict(s, code);
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
		    session_state_name(s, s->state));
	}
	login_unexpected_reply(s, st->reply_text);
}

/* Send the next AUTH step upstream: PLAIN in one line, or LOGIN. */
static void
smtp_up_send_auth(struct session *s)
{
	struct smtp *st = s->proto_state;
	const struct sasl_creds *creds = session_creds(s);
	char b64[SASL_FIELD_MAX * 3];

	switch (s->state) {
	case SMTP_UP_EHLO_TLS:
		if (s->dev->auth != AUTH_PASSTHROUGH) {
			smtp_up_send_xoauth2(s);
			return;
		}
		if (st->up.plain) {
			sasl_plain_encode(creds, b64, sizeof(b64));
			session_up_send(s, SMTP_UP_AUTH, "AUTH PLAIN %s", b64);
		} else if (st->up.login)
			session_up_send(s, SMTP_UP_AUTH_LOGIN, "AUTH LOGIN");
		else {
			login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
			    "upstream offers neither AUTH PLAIN nor LOGIN");
			return;
		}
		break;
	case SMTP_UP_AUTH_LOGIN:
		sasl_b64_encode(creds->user, strlen(creds->user), b64,
		    sizeof(b64));
		session_up_send(s, SMTP_UP_AUTH_USER, "%s", b64);
		break;
	case SMTP_UP_AUTH_USER:
		sasl_b64_encode(creds->pass, strlen(creds->pass), b64,
		    sizeof(b64));
		session_up_send(s, SMTP_UP_AUTH, "%s", b64);
		break;
	default:
		fatalx("smtp: AUTH step in state %s",
		    session_state_name(s, s->state));
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

	if (s->state == SMTP_UP_EHLO_TLS && !st->up.xoauth2) {
		login_upstream_failed(s, RESULT_UPSTREAM_ERROR,
		    "upstream does not offer AUTH XOAUTH2");
		return;
	}
	if ((ir = login_xoauth2(s)) == NULL)
		return;
	if (s->state == SMTP_UP_XOAUTH2_CONT)
		side_printf(&s->up, "%s", ir);
	else if (strlen("AUTH XOAUTH2 \r\n") + strlen(ir) <= SMTP_COMMAND_MAX)
		side_printf(&s->up, "AUTH XOAUTH2 %s", ir);
	else {
		side_printf(&s->up, "AUTH XOAUTH2");
		next = SMTP_UP_XOAUTH2_CONT;
	}
	OPENSSL_clear_free(ir, strlen(ir));
	session_enter_state(s, next);
}

/* An XOAUTH2 error challenge: keep it for the log, answer it with an
 * empty line to get the refusal. */
static void
smtp_up_xoauth2_challenge(struct session *s)
{
	struct smtp_reply_line rl;

	if (smtp_parse_reply_line(s->line, strlen(s->line), &rl))
		login_challenge(s, rl.text);
	session_up_send(s, SMTP_UP_XOAUTH2_ERROR, "%s", "");
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
	metrics_count_upstream_auth_failure(s->ops->proto,
	    s->dev->auth, st->reply_text);
	if (code < 500) {
		snprintf(why, sizeof(why), "upstream refused the login: %s",
		    st->reply_text);
		login_failed(s, RESULT_UPSTREAM_ERROR, "454 4.7.0 "
		    "Temporary authentication failure", why);
		return;
	}
	login_token_refused(s, st->reply_text, why, sizeof(why));
	login_failed(s, RESULT_AUTH_FAILED, st->mail != NULL ?
	    "535 5.7.8 Upstream refused the relay's login for this device" :
	    smtp_ops.login_replies[LOGIN_REPLY_REFUSED], why);
}
