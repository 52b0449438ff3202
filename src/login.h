/* The login every protocol shares: the device's secret, the XOAUTH2 token,
 * the dial, and the end of the upstream's login dialogue. */
#ifndef TLSRELAY_LOGIN_H
#define TLSRELAY_LOGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "session.h"

/* Start an AUTH exchange: first is SASL_WAIT_PLAIN or SASL_WAIT_USER
 * (LOGIN); with an initial response ir (or NULL) answered at once, else
 * the protocol's prompt. The protocol reads the next answers (while
 * s->sasl is not SASL_WAIT_NONE) with login_sasl_read. */
enum step login_sasl_start(struct session *s, enum sasl_wait first,
	    const char *ir);
/* One SASL answer of the device: "*" cancels, a bad one ends the exchange
 * (ops->login_reset, ops->lan_error), the last one completes s->creds
 * (ops->auth_collected). s->line is wiped afterwards. */
enum step login_sasl_line(struct session *s, const char *line);
/* Read the device's next SASL answer into s->line and take it
 * (login_sasl_line); a line over the limit gets too_long and ends the
 * session. */
enum step login_sasl_read(struct session *s, const char *too_long);

/*
 * The device's credentials are in s->creds. Pass-through: take a place
 * for the mailbox (if the protocol counts them) and dial. oauth2: the user
 * must be the device's mailbox, then a worker thread checks the secret;
 * a token and the dial follow. A refusal by the relay itself is logged and
 * answered after SESSION_LOGIN_DELAY (STEP_WAIT); a busy mailbox is
 * answered at once (STEP_MORE). Else STEP_WAIT: the login goes on and
 * ends in ops->upstream_ready or a failure reply.
 */
enum step login_begin(struct session *s);
/* Log in upstream as the device's mailbox: get a token, then dial. */
void	login_with_token(struct session *s);
/* Dial the upstream; ends in ops->upstream_ready or a failure reply. */
void	login_dial(struct session *s);
/* Is a login past the device's secret under way (token, dial, dialogue)? */
bool	login_active(const struct session *s);

/* The upstream took the login: forget the credentials, the token and the
 * failed logins before it. */
void	login_done(struct session *s);
/* The login failed: log it, give the device reply, drop the upstream and
 * let the device try again or quit (ops->login_reset, then its input). */
void	login_failed(struct session *s, enum session_result r,
	    const char *reply, const char *reason);
/* The upstream refused the credentials or the token (text is its escaped
 * reply, line the reply as sent): drop a refused token from the cache,
 * explain a refusal Exchange Online is known for, and fail the login. */
void	login_refused(struct session *s, const char *text, const char *line);
/* The upstream refused the relay's XOAUTH2 token: drop it from the cache
 * and write to why what to check (text is the upstream's escaped reply). */
void	login_token_refused(struct session *s, const char *text, char *why,
	    size_t len);
/* The upstream failed: during a login the device gets the protocol's
 * temporary reply; after it, ops->upstream_failed decides. */
void	login_upstream_failed(struct session *s, enum session_result r,
	    const char *reason);
/* Read one upstream line into s->line: STEP_MORE with its length in len,
 * STEP_WAIT for more input; a line over the limit fails the upstream
 * (login_upstream_failed) and gives STEP_GONE. */
enum step login_read_upstream(struct session *s, size_t *len);
/* The upstream sent text (escaped) where its login dialogue wanted
 * something else: fail as an upstream error. */
void	login_unexpected_reply(struct session *s, const char *text);
/* A TIMER_UPSTREAM fired: fail the login or the upstream, true; false for
 * any other timer, which the protocol handles. */
bool	login_timeout(struct session *s, enum session_timer t);

/* Discard anything the upstream sent after its STARTTLS go-ahead and start
 * the handshake; ends in ops->upstream_ready (with up.tls_up set) or a
 * failure. */
void	login_start_tls(struct session *s);
/* The XOAUTH2 initial response for the device's mailbox and the token
 * (free with OPENSSL_clear_free), or NULL: the session is ending for want
 * of memory. */
char	*login_xoauth2(struct session *s);
/* Keep an XOAUTH2 error challenge (base64 of a JSON status) for the log,
 * decoded and escaped. */
void	login_challenge(struct session *s, const char *text);

#endif
