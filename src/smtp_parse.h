/* SMTP syntax: command verbs and reply lines. */
#ifndef TLSRELAY_SMTP_PARSE_H
#define TLSRELAY_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

enum smtp_verb {
	SMTP_VERB_UNKNOWN,
	SMTP_VERB_HELO,
	SMTP_VERB_EHLO,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_HELP,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
};

/*
 * Split a command line (CRLF or LF already removed) into its verb and the
 * argument (pointer into line after the separating space, or "" if none).
 * The verb is matched case-insensitively and must be followed by a space
 * or the end of the line.
 */
enum smtp_verb smtp_parse_verb(const char *line, const char **arg);

/* One line of a server reply ("250-SIZE 1000", "250 OK"). */
struct smtp_reply_line {
	int	code;		/* 200..599 */
	bool	last;		/* "250 " (true) or "250-" (false) */
	const char *text;	/* after the separator */
};

/* Parse a reply line (no CRLF); false if it is not a valid reply line. */
bool	smtp_parse_reply_line(const char *line, size_t len,
	    struct smtp_reply_line *out);

#endif
