/* SMTP's session state, shared by the device dialogue (smtp_session.c)
 * and the upstream client half (smtp_up.c). */
#ifndef TLSRELAY_SMTP_H
#define TLSRELAY_SMTP_H

#include <stdbool.h>

#include "body_scan.h"
#include "explain.h"
#include "session.h"
#include "smtp_parse.h"

/* The states of the dialogue, listed once for the enum and the names in
 * the debug log; login.c's own state says which of them are part of a
 * login. */
#define SMTP_STATES(S)							\
	S(SMTP_LAN_COMMAND)	/* device commands answered locally */	\
	S(SMTP_LAN_AUTH)	/* login.c collects the AUTH answers */	\
	S(SMTP_LAN_STARTTLS)	/* "220" sent, LAN TLS handshake pending */ \
	S(SMTP_LOGIN)		/* login.c: secret, token or dial */	\
	S(SMTP_UP_GREETING)	/* waiting for the upstream's 220 */	\
	S(SMTP_UP_EHLO)		/* EHLO sent before TLS */		\
	S(SMTP_UP_STARTTLS)	/* STARTTLS sent */			\
	S(SMTP_UP_TLS)		/* upstream TLS handshake */		\
	S(SMTP_UP_EHLO_TLS)	/* EHLO sent over TLS */		\
	S(SMTP_UP_AUTH_LOGIN)	/* "AUTH LOGIN" sent, user name next */	\
	S(SMTP_UP_AUTH_USER)	/* LOGIN user name sent, password next */ \
	S(SMTP_UP_AUTH)		/* credentials sent, waiting for 235 */	\
	S(SMTP_UP_XOAUTH2_CONT)	/* "AUTH XOAUTH2" sent, "334" expected */ \
	S(SMTP_UP_XOAUTH2)	/* token sent: 235 or an error challenge */ \
	S(SMTP_UP_XOAUTH2_ERROR) /* challenge answered, the refusal follows */ \
	S(SMTP_RELAY_COMMAND)	/* waiting for the device's next command */ \
	S(SMTP_RELAY_REPLY)	/* command forwarded, reply pending */	\
	S(SMTP_RELAY_RSET_REPLY) /* EHLO after login: our RSET's reply */ \
	S(SMTP_RELAY_DATA_REPLY) /* DATA forwarded, 354 expected */	\
	S(SMTP_RELAY_BODY)	/* streaming the message body */	\
	S(SMTP_RELAY_BODY_DISCARD) /* bare CR/LF refused: upstream dropped, \
				 * body read to its end and discarded */ \
	S(SMTP_RELAY_ABANDONED)	/* after that refusal: no upstream left */ \
	S(SMTP_RELAY_BODY_REPLY) /* final dot sent, waiting for the verdict */ \
	S(SMTP_RELAY_QUIT_REPLY) /* QUIT forwarded */

enum smtp_state {
	SMTP_STATES(STATE_ENUM)
};

/* A complete upstream reply, or why there is none. */
enum smtp_reply {
	REPLY_DONE,
	REPLY_PARTIAL,
	REPLY_BAD,
};

struct smtp {
	bool		 helo;		/* EHLO/HELO seen since the last TLS */
	bool		 auth_ignored;	/* AUTH taken and ignored (ignore_auth) */
	struct smtp_caps up;		/* upstream capabilities */
	char		*mail;		/* MAIL to send, its sender checked */
	int		 reply_code;	/* of the reply being read */
	char		 reply_text[256]; /* its first line, escaped */
	const struct explanation *explained; /* a known Exchange refusal */
	struct body_scan body;	/* where the message body is */
	time_t		 data_deadline;	/* monotonic: limits.data_timeout */
	enum smtp_verb	 hello_verb;	/* EHLO or HELO waiting for RSET */
};

extern const struct proto_ops smtp_ops;

/* The upstream connection (or its TLS) is up: go on with the login. */
void	smtp_upstream_ready(struct session *s);
/* Read a login-phase reply from the upstream and act on it. */
void	smtp_up_step(struct session *s);
/* Read one upstream reply; forward its lines to the device if asked. */
enum smtp_reply smtp_read_reply(struct session *s, bool forward);
/* Logged in upstream: the device gets 235, or a relay device's MAIL goes
 * upstream and the device gets the answer to it. */
void	smtp_logged_in(struct session *s);

#endif
