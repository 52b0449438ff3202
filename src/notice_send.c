/* The owner notice's SMTP client: one state machine on a side of its own,
 * dialled with the upstream helpers, XOAUTH2 from the token cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "log.h"
#include "notice_send.h"
#include "oauth.h"
#include "sasl.h"
#include "session_env.h"
#include "side.h"
#include "smtp_parse.h"
#include "tls.h"
#include "upstream.h"
#include "util.h"

#define SEND_TIMEOUT	120	/* seconds for the whole send */
#define SEND_LINE_MAX	1024	/* one reply line */
#define SEND_READ_MAX	(64 * 1024)

/* Where the send is: each state waits for one reply. */
enum send_state {
	SEND_DIAL,
	SEND_GREETING,
	SEND_EHLO,
	SEND_STARTTLS,
	SEND_TLS,		/* handshake after STARTTLS */
	SEND_EHLO_TLS,
	SEND_TOKEN,		/* waiting for the token cache */
	SEND_AUTH,
	SEND_MAIL,
	SEND_RCPT,
	SEND_DATA,
	SEND_BODY,
	SEND_STATE_COUNT
};

struct notice_send {
	struct session_env	*env;
	struct config		*cfg;
	enum route		 route;
	struct side		 side;
	struct upstream_dial	*dial;
	struct oauth_request	*oauth;
	struct event		*timer;
	enum send_state		 state;
	char			*rcpt;
	char			*message;
	char			 line[SEND_LINE_MAX];
	char			 first[SEND_LINE_MAX];	/* of the reply */
	bool			 starttls;	/* offered in EHLO */
	notice_send_cb		 cb;
	void			*arg;
};

typedef void	 send_step(struct notice_send *ns);

static void	 send_enter(struct notice_send *ns, enum send_state next);
static void	 send_dialled(enum upstream_status st, const char *error,
		    void *arg);
static void	 send_side_cb(struct side *side, enum side_event ev,
		    void *arg);
static void	 send_timeout(evutil_socket_t fd, short what, void *arg);
static void	 send_read(struct notice_send *ns);
static void	 send_reply(struct notice_send *ns, int code);
static void	 send_finish(struct notice_send *ns, bool ok,
		    const char *reason);
static void	 send_free(struct notice_send *ns);
static void	 send_token(void *arg, const char *token, const char *error);
static send_step step_ehlo, step_after_ehlo, step_starttls, step_mail,
		    step_rcpt, step_data, step_body, step_quit;

static const char *const state_names[] = {
	[SEND_DIAL] = "dial",
	[SEND_GREETING] = "greeting",
	[SEND_EHLO] = "ehlo",
	[SEND_STARTTLS] = "starttls",
	[SEND_TLS] = "tls",
	[SEND_EHLO_TLS] = "ehlo_tls",
	[SEND_TOKEN] = "token",
	[SEND_AUTH] = "auth",
	[SEND_MAIL] = "mail",
	[SEND_RCPT] = "rcpt",
	[SEND_DATA] = "data",
	[SEND_BODY] = "body",
};

/* Per state: the reply that moves it on, and what it sends next. */
static const struct {
	int		 code;
	send_step	*next;
} replies[SEND_STATE_COUNT] = {
	[SEND_GREETING] = { 220, step_ehlo },
	[SEND_EHLO] = { 250, step_after_ehlo },
	[SEND_STARTTLS] = { 220, step_starttls },
	[SEND_EHLO_TLS] = { 250, step_after_ehlo },
	[SEND_AUTH] = { 235, step_mail },
	[SEND_MAIL] = { 250, step_rcpt },
	[SEND_RCPT] = { 250, step_data },
	[SEND_DATA] = { 354, step_body },
	[SEND_BODY] = { 250, step_quit },
};

/* Start sending one notice. */
struct notice_send *
notice_send_start(struct session_env *env, struct config *cfg, const char *rcpt,
    const char *message, notice_send_cb cb, void *arg)
{
	struct notice_send *ns = xcalloc(1, sizeof(*ns));
	struct upstream_target t = { env->base, env->dns, cfg,
	    cfg->notices.route == NOTICE_ROUTE_CONNECTOR ? ROUTE_CONNECTOR :
	    ROUTE_SMTP };
	struct timeval tv = { SEND_TIMEOUT, 0 };

	ns->env = env;
	ns->cfg = config_ref(cfg);
	ns->route = t.route;
	ns->rcpt = xstrdup(rcpt);
	ns->message = xstrdup(message);
	ns->cb = cb;
	ns->arg = arg;
	side_init(&ns->side, env->base, NULL, SEND_READ_MAX, send_side_cb, ns);
	ns->timer = evtimer_new(env->base, send_timeout, ns);
	if (ns->timer == NULL || evtimer_add(ns->timer, &tv) != 0 ||
	    (ns->dial = upstream_dial(&t, &ns->side, send_dialled, ns)) ==
	    NULL) {
		send_free(ns);
		return NULL;
	}
	return ns;
}

/* Abandon a send: no callback. */
void
notice_send_cancel(struct notice_send *ns)
{
	send_free(ns);
}

/* Log and take a transition. */
static void
send_enter(struct notice_send *ns, enum send_state next)
{
	log_debug("notice to %s: %s -> %s", ns->rcpt, state_names[ns->state],
	    state_names[next]);
	ns->state = next;
}

/* The upstream is connected (with TLS for an implicit-TLS route). */
static void
send_dialled(enum upstream_status st, const char *error, void *arg)
{
	struct notice_send *ns = arg;

	ns->dial = NULL;
	if (st != UPSTREAM_CONNECTED) {
		send_finish(ns, false, error);
		return;
	}
	send_enter(ns, SEND_GREETING);
}

/* Events of the side: replies, the STARTTLS handshake, the end. */
static void
send_side_cb(struct side *side, enum side_event ev, void *arg)
{
	struct notice_send *ns = arg;
	char why[256];

	(void)side;
	switch (ev) {
	case SIDE_INPUT:
		send_read(ns);
		break;
	case SIDE_FLUSHED:
		break;
	case SIDE_CONNECTED:
		if (ns->state == SEND_TLS)
			step_ehlo(ns);
		break;
	case SIDE_EOF:
		send_finish(ns, false, "the upstream closed the connection");
		break;
	case SIDE_ERROR:
		side_tls_error(&ns->side, "upstream", why, sizeof(why));
		send_finish(ns, false, why);
		break;
	}
}

/* The whole send took too long. */
static void
send_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct notice_send *ns = arg;
	char why[64];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "timed out waiting in state %s",
	    state_names[ns->state]);
	send_finish(ns, false, why);
}

/* Read complete replies; act on each last line. */
static void
send_read(struct notice_send *ns)
{
	struct smtp_reply_line rl;
	size_t len;

	for (;;) {
		switch (side_read_line(&ns->side, ns->line, sizeof(ns->line),
		    &len)) {
		case LINE_NONE:
			return;
		case LINE_TOO_LONG:
			send_finish(ns, false, "reply line too long");
			return;
		case LINE_OK:
			break;
		}
		if (!smtp_parse_reply_line(ns->line, len, &rl)) {
			send_finish(ns, false, "not an SMTP reply");
			return;
		}
		if (ns->first[0] == '\0')
			snprintf(ns->first, sizeof(ns->first), "%s", ns->line);
		if (strncasecmp(rl.text, "STARTTLS", 8) == 0)
			ns->starttls = true;
		if (rl.last) {
			send_reply(ns, rl.code);
			return;	/* the send may be gone */
		}
	}
}

/* A complete reply: move on if it is the one expected, else fail with
 * its first line. */
static void
send_reply(struct notice_send *ns, int code)
{
	char why[SEND_LINE_MAX + 32];

	if (replies[ns->state].next == NULL || (code != replies[ns->state].code
	    && !(ns->state == SEND_RCPT && code == 251))) {
		snprintf(why, sizeof(why), "%s refused: %s",
		    state_names[ns->state], ns->first);
		send_finish(ns, false, why);
		return;
	}
	ns->first[0] = '\0';
	replies[ns->state].next(ns);
}

/* EHLO, first or again after STARTTLS. */
static void
step_ehlo(struct notice_send *ns)
{
	ns->starttls = false;
	side_printf(&ns->side, "EHLO %s", ns->cfg->server_name);
	send_enter(ns, ns->state == SEND_TLS ? SEND_EHLO_TLS : SEND_EHLO);
}

/* After EHLO: STARTTLS if the route wants it and TLS is not up, then
 * XOAUTH2 on the smtp route, or straight to MAIL. */
static void
step_after_ehlo(struct notice_send *ns)
{
	const struct upstream_conf *up = &ns->cfg->upstreams[ns->route];

	if (up->tls == UPSTREAM_TLS_STARTTLS && !ns->side.tls_up) {
		if (!ns->starttls) {
			send_finish(ns, false, "the upstream offers no STARTTLS");
			return;
		}
		side_printf(&ns->side, "STARTTLS");
		send_enter(ns, SEND_STARTTLS);
	} else if (ns->route == ROUTE_SMTP) {
		send_enter(ns, SEND_TOKEN);
		ns->oauth = oauth_token_get(ns->env->tokens, ns->cfg, send_token,
		    ns);
	} else {
		step_mail(ns);
	}
}

/* The go-ahead for TLS: hand the socket to a TLS bufferevent. */
static void
step_starttls(struct notice_send *ns)
{
	side_drop_input(&ns->side);
	send_enter(ns, SEND_TLS);
	if (!side_start_tls(&ns->side, tls_upstream_new(ns->cfg, ns->route),
	    false))
		send_finish(ns, false, "out of memory for upstream TLS");
}

/* A token for notices.mailbox, or why there is none. */
static void
send_token(void *arg, const char *token, const char *error)
{
	struct notice_send *ns = arg;
	char *ir;

	ns->oauth = NULL;
	if (token == NULL) {
		send_finish(ns, false, error);
		return;
	}
	ir = sasl_xoauth2_encode(ns->cfg->notices.mailbox, token);
	side_printf(&ns->side, "AUTH XOAUTH2 %s", ir);
	OPENSSL_clear_free(ir, strlen(ir));
	send_enter(ns, SEND_AUTH);
}

/* MAIL FROM the notices' sender. */
static void
step_mail(struct notice_send *ns)
{
	side_printf(&ns->side, "MAIL FROM:<%s>", ns->cfg->notices.from);
	send_enter(ns, SEND_MAIL);
}

/* RCPT TO the owner. */
static void
step_rcpt(struct notice_send *ns)
{
	side_printf(&ns->side, "RCPT TO:<%s>", ns->rcpt);
	send_enter(ns, SEND_RCPT);
}

/* DATA. */
static void
step_data(struct notice_send *ns)
{
	side_printf(&ns->side, "DATA");
	send_enter(ns, SEND_DATA);
}

/* The message, each line starting with a dot doubled, then the end. */
static void
step_body(struct notice_send *ns)
{
	const char *p = ns->message, *eol;

	while (*p != '\0') {
		eol = strchr(p, '\n');
		eol = eol != NULL ? eol + 1 : p + strlen(p);
		if (*p == '.')
			side_write(&ns->side, ".", 1);
		side_write(&ns->side, p, (size_t)(eol - p));
		p = eol;
	}
	side_printf(&ns->side, ".");
	send_enter(ns, SEND_BODY);
}

/* Accepted: say QUIT and finish without waiting for its reply. */
static void
step_quit(struct notice_send *ns)
{
	char reply[SEND_LINE_MAX];

	snprintf(reply, sizeof(reply), "%s", ns->line);
	side_printf(&ns->side, "QUIT");
	send_finish(ns, true, reply);
}

/* Report the end to the caller and free everything. */
static void
send_finish(struct notice_send *ns, bool ok, const char *reason)
{
	notice_send_cb cb = ns->cb;
	void *arg = ns->arg;
	char *why = xstrdup(reason != NULL ? reason : "unknown");

	send_free(ns);
	cb(ok, why, arg);
	free(why);
}

/* Free the send and whatever is in flight. */
static void
send_free(struct notice_send *ns)
{
	if (ns->dial != NULL)
		upstream_dial_cancel(ns->dial);
	if (ns->oauth != NULL)
		oauth_request_cancel(ns->oauth);
	if (ns->timer != NULL)
		event_free(ns->timer);
	side_close(&ns->side);
	config_unref(ns->cfg);
	free(ns->rcpt);
	free(ns->message);
	free(ns);
}
