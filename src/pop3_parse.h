/* POP3 syntax: device commands, upstream status and CAPA lines, the relay's
 * own CAPA list, and the end of a multi-line response. */
#ifndef TLSRELAY_POP3_PARSE_H
#define TLSRELAY_POP3_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "sasl.h"

#define POP3_ARG_MAX	SASL_FIELD_MAX	/* USER or PASS argument, incl. NUL */
#define POP3_CAPA_MAX	8	/* capabilities pop3_capa_list() may return */
#define POP3_CMD_LINE	32	/* room for a canonical transaction command */

enum pop3_verb {
	POP3_VERB_UNKNOWN,
	POP3_VERB_USER,
	POP3_VERB_PASS,
	POP3_VERB_APOP,
	POP3_VERB_AUTH,
	POP3_VERB_STLS,
	POP3_VERB_CAPA,
	POP3_VERB_QUIT,
	POP3_VERB_STAT,
	POP3_VERB_LIST,
	POP3_VERB_RETR,
	POP3_VERB_DELE,
	POP3_VERB_NOOP,
	POP3_VERB_RSET,
	POP3_VERB_TOP,
	POP3_VERB_UIDL,
};

/* How a command line was judged. */
enum pop3_cmd_status {
	POP3_CMD_OK,
	POP3_CMD_UNKNOWN,	/* not a verb the relay knows */
	POP3_CMD_SYNTAX,	/* a known verb with bad arguments */
	POP3_CMD_TOO_LONG,	/* a USER or PASS argument over POP3_ARG_MAX */
};

/* One device command, split and checked. */
struct pop3_cmd {
	enum pop3_verb	 verb;
	const char	*arg;	/* the text after "VERB ", "" if none */
	unsigned	 nnums;	/* message number, and TOP's line count */
	unsigned long	 num[2];
};

/*
 * Parse a command line of len bytes (CRLF removed, NUL-terminated). The
 * verb is matched case-insensitively and must be followed by a space or
 * the end. Message numbers are decimal, 1 to 4294967295 (TOP's line count
 * may be 0), separated by one or more spaces. USER and PASS take the rest
 * of the line as is, which must not be empty; a NUL byte inside the line
 * is a syntax error.
 */
enum pop3_cmd_status pop3_parse_command(const char *line, size_t len,
	    struct pop3_cmd *cmd);
/* How the verb is used ("RETR msg"), for "-ERR Syntax: ..." replies. */
const char *pop3_cmd_usage(enum pop3_verb verb);
/* Is a +OK answer to this command followed by lines up to a "." line? */
bool	pop3_cmd_multiline(const struct pop3_cmd *cmd);
/* Write the canonical form of a parsed command ("TOP 3 10") to buf. */
void	pop3_cmd_format(const struct pop3_cmd *cmd, char *buf, size_t len);

/* SASL mechanisms a device may name in AUTH. */
enum pop3_mech {
	POP3_MECH_NONE,		/* bare "AUTH": list the mechanisms */
	POP3_MECH_PLAIN,
	POP3_MECH_LOGIN,
	POP3_MECH_UNKNOWN,
};
/* Split an AUTH argument into the mechanism and the initial response
 * (NULL if none). */
enum pop3_mech pop3_parse_auth(const char *arg, const char **ir);

/* The kind of an upstream response line. */
enum pop3_status {
	POP3_STATUS_OK,		/* "+OK" */
	POP3_STATUS_ERR,	/* "-ERR" */
	POP3_STATUS_CONT,	/* "+" or "+ text": a SASL challenge */
	POP3_STATUS_BAD,	/* not a POP3 response */
};
/* Classify a response line; *text points after the status word. */
enum pop3_status pop3_parse_status(const char *line, const char **text);
/* Copy the response code of a status text ("[SYS/TEMP] ...") into code;
 * false (code "") if there is none or it does not fit. */
bool	pop3_resp_code(const char *text, char *code, size_t len);

/* What an upstream's CAPA list offers, as far as the relay cares. */
struct pop3_caps {
	bool	stls;
	bool	user;
	bool	sasl_plain;
	bool	sasl_xoauth2;
	bool	top;
	bool	uidl;
};
/* Note one line of an upstream CAPA list. */
void	pop3_parse_capa_line(const char *line, struct pop3_caps *caps);

/* The facts the relay's own CAPA list depends on. */
struct pop3_policy {
	bool	lan_cert;	/* a LAN certificate is configured */
	bool	lan_tls;	/* the LAN connection is TLS (STLS or implicit) */
	bool	plaintext_auth;	/* the device may log in without LAN TLS */
	bool	logged_in;	/* after login: transaction capabilities */
	struct pop3_caps up;	/* after login: what the upstream offered */
};
/* May the device send credentials now? */
bool	pop3_policy_auth(const struct pop3_policy *p);
/* Is STLS available now? */
bool	pop3_policy_stls(const struct pop3_policy *p);
/* Fill caps with the relay's CAPA lines in order; returns their number. */
size_t	pop3_capa_list(const struct pop3_policy *p,
	    const char *caps[POP3_CAPA_MAX]);

/* Where a multi-line response ends in the buffered data. */
enum pop3_body {
	POP3_BODY_MORE,	/* the first *n bytes are body, the end is not in them */
	POP3_BODY_END,	/* the first *n bytes finish the response */
	POP3_BODY_WAIT,	/* nothing can be passed on before more arrives */
};
/*
 * Scan buffered multi-line response data without consuming it. line_start
 * says whether the bytes before the buffer ended a line; it is updated for
 * the *n bytes reported, which the caller then moves on. The end is a line
 * holding only "." (CRLF or a bare LF); dot-stuffed lines pass unchanged.
 */
enum pop3_body pop3_body_scan(struct evbuffer *in, bool *line_start,
	    size_t *n);

#endif
