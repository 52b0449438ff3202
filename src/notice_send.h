/* One owner notice sent over SMTP without blocking the event loop: the
 * route's upstream, STARTTLS, XOAUTH2 as notices.mailbox on the smtp
 * route, then MAIL, RCPT, DATA and QUIT. */
#ifndef TLSRELAY_NOTICE_SEND_H
#define TLSRELAY_NOTICE_SEND_H

#include <stdbool.h>

#include "config.h"

struct session_env;
struct notice_send;

/* The end of a send: ok, or the reason it failed (the upstream's reply or
 * what went wrong), from the event loop; the handle is then gone. */
typedef void (*notice_send_cb)(bool ok, const char *reason, void *arg);

/* Send message (CRLF lines, not dot-stuffed) from notices.from to rcpt by
 * cfg's notice route; cfg is referenced until the end. cb never runs
 * inside this call. */
struct notice_send *notice_send_start(struct session_env *env, struct config *cfg,
	    const char *rcpt, const char *message, notice_send_cb cb,
	    void *arg);
/* Abandon a send (at shutdown): cb will not run. */
void	notice_send_cancel(struct notice_send *ns);

#endif
