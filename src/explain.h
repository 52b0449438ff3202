/* Exchange Online's refusals explained: the device's reply and the admin's
 * next step for each reply the upstream or its token endpoint gives. */
#ifndef TLSRELAY_EXPLAIN_H
#define TLSRELAY_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

/* Who gave the reply. */
enum explain_source {
	EXPLAIN_SMTP,
	EXPLAIN_POP3,
	EXPLAIN_IMAP,
	EXPLAIN_TOKEN,
};

/* One reply Exchange Online gives, what it means and what to do. */
struct explanation {
	enum explain_source source;
	const char	*match;		/* text the reply contains, case-
					 * insensitive: "5.7.139",
					 * "AADSTS7000222" */
	const char	*code;		/* stable short name for code= */
	const char	*meaning;	/* what Exchange Online means */
	const char	*action;	/* what the admin should do */
	bool		 temporary;	/* the device is told to retry */
	const char	*device;	/* SMTP: the whole reply line; POP3 and
					 * IMAP: the text after "-ERR " or
					 * "NO "; TOKEN: NULL */	bool		 token_login;	/* a refusal of the relay's own XOAUTH2
					 * login: a refused password gets the
					 * upstream's reply as it is */
};

/* The explanation of a reply from src, or NULL when it is not known;
 * token_login: the refused login was the relay's own XOAUTH2 one. */
const struct explanation *explain_lookup(enum explain_source src,
	    const char *reply, bool token_login);

/*
 * Log one line at LOG_WARNING for an explained reply: session, event=
 * upstream_refusal, device, code, reply (escaped as it came), meaning and
 * action, with MESSAGE_ID MSGID_UPSTREAM_REFUSAL. session_id and device
 * are NULL for the token endpoint's replies, which no one session owns.
 */
void	explain_log(const char *session_id, const char *device,
	    const struct explanation *e, const char *reply);

/* The whole table and its length (for the catalog and man page tool). */
const struct explanation *explain_table(size_t *n);

/* The name of a source: "smtp", "pop3", "imap" or "token". */
const char *explain_source_name(enum explain_source src);

#endif
