/* What a session proves, handed to the exit register: one-line hooks for
 * the session and protocol files, the observers behind them. */
#ifndef TLSRELAY_EVIDENCE_SESSION_H
#define TLSRELAY_EVIDENCE_SESSION_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "pop3_parse.h"
#include "session.h"

/* The session ends (from session_close, before its sides are closed):
 * queue its record, or the census entry of an unknown client, and free
 * what was observed. */
void	evidence_session_end(struct session *s);

/* SMTP after login: a command line sent upstream, message data about to
 * go upstream (n bytes of in, or the relay's own text), and the
 * upstream's reply (code and escaped first line). */
void	evidence_smtp_command(struct session *s, const char *line);
void	evidence_smtp_data(struct session *s, struct evbuffer *in, size_t n);
void	evidence_smtp_text(struct session *s, const char *text);
void	evidence_smtp_reply(struct session *s, int code, const char *reply);

/* POP3 after login: a command forwarded, its status line, and n bytes of
 * its multi-line answer. */
void	evidence_pop3_command(struct session *s, enum pop3_verb verb);
void	evidence_pop3_status(struct session *s, bool ok);
void	evidence_pop3_body(struct session *s, size_t n);

/* IMAP after login: the bytes buffered on one side (the session's lan or
 * up), about to be piped to the other. */
void	evidence_imap_stream(struct session *s, const struct side *from);

#endif
