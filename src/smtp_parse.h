/* SMTP syntax: command verbs, reply lines and the MAIL sender. */
#ifndef TLSRELAY_SMTP_PARSE_H
#define TLSRELAY_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define SMTP_ADDR_MAX	257	/* bytes of an envelope address, NUL included */

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
/* Parse the next line of a multi-line reply whose lines so far had code
 * (0 before the first line); false if it is no reply line or its code
 * differs. */
bool	smtp_parse_reply_next(int code, const char *line, size_t len,
	    struct smtp_reply_line *out);

/* What an upstream's EHLO reply offers, as far as the relay cares. */
struct smtp_caps {
	bool	starttls;
	bool	plain;
	bool	login;
	bool	xoauth2;
};
/* Note the text of one EHLO reply line ("STARTTLS", "AUTH PLAIN LOGIN",
 * or the old "AUTH=LOGIN") in caps; other lines change nothing. */
void	smtp_parse_capability(const char *text, struct smtp_caps *caps);

/*
 * Parse the argument of MAIL ("FROM:<a@b> SIZE=10"): "FROM:" in any case,
 * optional spaces (some devices send "FROM: <a@b>"), then the reverse-path
 * in angle brackets, a source route ("<@r1,@r2:a@b>") dropped, or a bare
 * address without them. addr gets the address ("" for the null sender
 * "<>") and *params the ESMTP parameters after it ("" if none). False if
 * malformed: no "FROM:", no address, an unterminated path or quoted
 * string, a space, "<" or a control or 8-bit character outside a quoted
 * local part, text glued to the path, a bare address starting with "@"
 * (a source route outside brackets) or after a source route, or an
 * address over addrlen - 1 bytes.
 */
bool	smtp_parse_mail_from(const char *arg, char *addr, size_t addrlen,
	    const char **params);

/* May a device send from this address? It must be one of senders, or the
 * mailbox when there are none, compared case-insensitively as a whole
 * (local part and domain). The null sender never may. */
bool	smtp_sender_allowed(const char *sender, const char *mailbox,
	    char *const *senders, size_t nsenders);

#endif
