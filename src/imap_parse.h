/* IMAP syntax: device commands, literals, upstream responses, capabilities. */
#ifndef TLSRELAY_IMAP_PARSE_H
#define TLSRELAY_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#define IMAP_TAG_MAX		64	/* bytes of a tag, NUL included */
#define IMAP_ARGS_MAX		32	/* arguments of one command */
#define IMAP_LITERAL_MAX	1024	/* bytes of one literal before login */
#define IMAP_LITERALS_MAX	4	/* literals in a command before login */

/* The commands the relay answers before login. */
enum imap_verb {
	IMAP_VERB_UNKNOWN,
	IMAP_VERB_CAPABILITY,
	IMAP_VERB_NOOP,
	IMAP_VERB_LOGOUT,
	IMAP_VERB_ID,
	IMAP_VERB_STARTTLS,
	IMAP_VERB_LOGIN,
	IMAP_VERB_AUTHENTICATE,
};

/* One argument of a command. */
enum imap_arg_type {
	IMAP_ARG_ATOM,		/* includes NIL */
	IMAP_ARG_STRING,	/* quoted string or literal, unescaped */
	IMAP_ARG_LIST_OPEN,	/* "(" */
	IMAP_ARG_LIST_CLOSE,	/* ")" */
};

struct imap_arg {
	enum imap_arg_type	 type;
	const char		*data;	/* NUL-terminated, in the arena */
	size_t			 len;
};

/* A complete command: tag, verb and arguments. */
struct imap_command {
	char			 tag[IMAP_TAG_MAX];
	enum imap_verb		 verb;
	struct imap_arg		 args[IMAP_ARGS_MAX];
	size_t			 nargs;
};

enum imap_parse_status {
	IMAP_PARSE_OK,
	IMAP_PARSE_NO_TAG,	/* no valid tag: answer "* BAD" */
	IMAP_PARSE_BAD,		/* tag valid, the rest is not: "tag BAD" */
};

/* The bytes an arena needs to parse a command of len bytes. */
#define IMAP_ARENA_SIZE(len)	((len) + IMAP_ARGS_MAX + 1)

/*
 * Parse one complete command as it arrived: the lines joined by CRLF, each
 * literal "{n}" or "{n+}" followed by CRLF and its n bytes, the final CRLF
 * removed. Argument data is copied, unescaped and NUL-terminated, into
 * arena (IMAP_ARENA_SIZE(len) bytes). On IMAP_PARSE_BAD the tag is set and
 * *error says what is wrong.
 */
enum imap_parse_status imap_parse_command(const char *buf, size_t len,
	    char *arena, size_t arena_size, struct imap_command *cmd,
	    const char **error);

/* Copy the tag at the start of line into tag; false if there is none. */
bool	imap_parse_tag(const char *line, size_t len, char *tag,
	    size_t tagsize);

/* How a command line (CRLF removed) ends. */
enum imap_literal {
	IMAP_LITERAL_NONE,	/* the command is complete */
	IMAP_LITERAL_SYNC,	/* "{n}": the client waits for "+" */
	IMAP_LITERAL_NONSYNC,	/* "{n+}": the bytes follow at once */
	IMAP_LITERAL_BAD,	/* a malformed or absurd announcement */
};
/* Does line end with a literal announcement? Its size goes to *size. */
enum imap_literal imap_parse_literal(const char *line, size_t len,
	    size_t *size);

/* A device command being assembled from its lines and literals. */
struct imap_assembly {
	char		*buf;		/* lines joined by CRLF, and literals */
	size_t		 size;		/* bytes buf holds */
	size_t		 len;		/* bytes used */
	size_t		 literal_left;	/* literal bytes still to come */
	unsigned	 nliterals;	/* literals in the command so far */
};

/* What the line just added to a command means. */
enum imap_assemble {
	IMAP_ASSEMBLE_DONE,	/* buf holds a complete command */
	IMAP_ASSEMBLE_LITERAL,	/* a literal's bytes come next */
	IMAP_ASSEMBLE_BAD,	/* a malformed literal announcement */
	IMAP_ASSEMBLE_TOO_LARGE, /* a literal over the pre-login limits */
};

/* Allocate room for a command of lines up to line_length bytes and
 * IMAP_LITERALS_MAX literals of IMAP_LITERAL_MAX bytes; false if memory
 * is short (imap_assembly_free is still safe). */
bool	imap_assembly_init(struct imap_assembly *a, size_t line_length);
/* Wipe the command so far and start the next one. */
void	imap_assembly_clear(struct imap_assembly *a);
/* Wipe and free the buffer, if there is one. */
void	imap_assembly_free(struct imap_assembly *a);
/*
 * Take the line of len bytes (CRLF removed) that the caller has just
 * read to buf + len. If it announces a literal, *lit says which kind
 * and IMAP_ASSEMBLE_LITERAL means a CRLF was added and the literal's
 * bytes follow (imap_assemble_literal); on BAD and TOO_LARGE the caller
 * refuses the command and clears the assembly.
 */
enum imap_assemble imap_assemble_line(struct imap_assembly *a, size_t len,
	    enum imap_literal *lit);
/* Move the literal's bytes from in once all have arrived (true); false
 * while they have not, with in untouched. */
bool	imap_assemble_literal(struct imap_assembly *a, struct evbuffer *in);

/* Capabilities of an upstream that matter to the relay. */
#define IMAP_CAP_IMAP4REV1	0x01u
#define IMAP_CAP_STARTTLS	0x02u
#define IMAP_CAP_LOGINDISABLED	0x04u
#define IMAP_CAP_AUTH_PLAIN	0x08u
#define IMAP_CAP_SASL_IR	0x10u
#define IMAP_CAP_LITERALPLUS	0x20u
#define IMAP_CAP_AUTH_XOAUTH2	0x40u

/* The status word of a response line. */
enum imap_status {
	IMAP_STATUS_OK,
	IMAP_STATUS_NO,
	IMAP_STATUS_BAD,
	IMAP_STATUS_PREAUTH,
	IMAP_STATUS_BYE,
	IMAP_STATUS_CAPABILITY,	/* "* CAPABILITY ..." */
	IMAP_STATUS_OTHER,
};

enum imap_response_kind {
	IMAP_RESPONSE_UNTAGGED,	/* "* ..." */
	IMAP_RESPONSE_CONTINUE,	/* "+ ..." */
	IMAP_RESPONSE_TAGGED,	/* "tag ..." */
};

/* One server response line. */
struct imap_response {
	enum imap_response_kind	 kind;
	char			 tag[IMAP_TAG_MAX];	/* TAGGED only */
	enum imap_status	 status;
	const char		*rest;	/* after the tag and its space */
	const char		*text;	/* after the status word */
	unsigned		 caps;	/* IMAP_CAP_* if it lists them */
	bool			 has_caps;
};

/* Parse a server response line (CRLF removed, NUL-terminated at len); the
 * pointers in r point into line. False if it is no response line. */
bool	imap_parse_response(const char *line, size_t len,
	    struct imap_response *r);

/* Does a response text start with the response code [code]? */
bool	imap_response_has_code(const char *text, const char *code);

/* Write the relay's own capability list (no "CAPABILITY" prefix). */
void	imap_capabilities(char *dst, size_t len, bool starttls,
	    bool login_allowed);

/* Write src as an IMAP quoted string into dst; false if src needs a
 * literal (CR, LF, 8-bit) or dst is too small. */
bool	imap_quote(const char *src, char *dst, size_t dstlen);

#endif
