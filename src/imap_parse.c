/* IMAP syntax: device commands, literals, upstream responses, capabilities. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "imap_parse.h"
#include "util.h"

#define IMAP_LITERAL_DIGITS	10	/* a number is at most 2^32 - 1 */
#define IMAP_NUMBER_MAX		4294967295ull

/* Where the command parser is: input left, arena left, nesting. */
struct imap_lexer {
	const char	*p;
	const char	*end;
	char		*out;
	char		*out_end;
	unsigned	 depth;
	const char	*error;
};

static bool	imap_is_tag_char(unsigned char c);
static bool	imap_is_atom_char(unsigned char c);
static bool	imap_lex_arg(struct imap_lexer *lx, struct imap_arg *arg);
static bool	imap_lex_quoted(struct imap_lexer *lx, struct imap_arg *arg);
static bool	imap_lex_literal(struct imap_lexer *lx, struct imap_arg *arg);
static bool	imap_lex_atom(struct imap_lexer *lx, struct imap_arg *arg);
static bool	imap_lex_args(struct imap_lexer *lx, struct imap_command *cmd);
static bool	imap_lex_fail(struct imap_lexer *lx, const char *error);
static enum imap_verb imap_verb_lookup(const char *name, size_t len);
static enum imap_status imap_status_lookup(const char *word, size_t len);
static unsigned	imap_caps_scan(const char *p, const char *end);
static size_t	imap_word_len(const char *p, const char *end);

/* The commands of the LAN phase, by name. */
static const struct {
	const char	*name;
	enum imap_verb	 verb;
} imap_verbs[] = {
	{ "CAPABILITY",		IMAP_VERB_CAPABILITY },
	{ "NOOP",		IMAP_VERB_NOOP },
	{ "LOGOUT",		IMAP_VERB_LOGOUT },
	{ "ID",			IMAP_VERB_ID },
	{ "STARTTLS",		IMAP_VERB_STARTTLS },
	{ "LOGIN",		IMAP_VERB_LOGIN },
	{ "AUTHENTICATE",	IMAP_VERB_AUTHENTICATE },
};

/* Status words of server responses. */
static const struct {
	const char	*name;
	enum imap_status status;
} imap_statuses[] = {
	{ "OK",		IMAP_STATUS_OK },
	{ "NO",		IMAP_STATUS_NO },
	{ "BAD",	IMAP_STATUS_BAD },
	{ "PREAUTH",	IMAP_STATUS_PREAUTH },
	{ "BYE",	IMAP_STATUS_BYE },
	{ "CAPABILITY",	IMAP_STATUS_CAPABILITY },
};

/* Capabilities the relay looks for in an upstream's list. */
static const struct {
	const char	*name;
	unsigned	 flag;
} imap_caps[] = {
	{ "IMAP4rev1",		IMAP_CAP_IMAP4REV1 },
	{ "STARTTLS",		IMAP_CAP_STARTTLS },
	{ "LOGINDISABLED",	IMAP_CAP_LOGINDISABLED },
	{ "AUTH=PLAIN",		IMAP_CAP_AUTH_PLAIN },
	{ "SASL-IR",		IMAP_CAP_SASL_IR },
	{ "LITERAL+",		IMAP_CAP_LITERALPLUS },
	{ "AUTH=XOAUTH2",	IMAP_CAP_AUTH_XOAUTH2 },
};

/* A tag character: ASTRING-CHAR except "+" (RFC 3501 section 9). */
static bool
imap_is_tag_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\+", c) == NULL;
}

/* An atom character, "]" included as in an astring. */
static bool
imap_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\", c) == NULL;
}

/* Copy the tag at the start of line into tag; false if there is none. */
bool
imap_parse_tag(const char *line, size_t len, char *tag, size_t tagsize)
{
	size_t n = 0;

	while (n < len && imap_is_tag_char((unsigned char)line[n]))
		n++;
	if (n == 0 || n >= tagsize || (n < len && line[n] != ' '))
		return false;
	memcpy(tag, line, n);
	tag[n] = '\0';
	return true;
}

/* Parse tag, verb and arguments of a complete command. */
enum imap_parse_status
imap_parse_command(const char *buf, size_t len, char *arena,
    size_t arena_size, struct imap_command *cmd, const char **error)
{
	struct imap_lexer lx = { buf, buf + len, arena, arena + arena_size,
	    0, NULL };
	size_t taglen, verblen;

	memset(cmd, 0, sizeof(*cmd));
	*error = NULL;
	if (!imap_parse_tag(buf, len, cmd->tag, sizeof(cmd->tag)))
		return IMAP_PARSE_NO_TAG;
	taglen = strlen(cmd->tag);
	lx.p = buf + taglen + 1;
	verblen = taglen < len ? imap_word_len(lx.p, lx.end) : 0;
	if (verblen == 0) {
		*error = "Missing command";
		return IMAP_PARSE_BAD;
	}
	cmd->verb = imap_verb_lookup(lx.p, verblen);
	lx.p += verblen;
	if (!imap_lex_args(&lx, cmd)) {
		*error = lx.error;
		return IMAP_PARSE_BAD;
	}
	return IMAP_PARSE_OK;
}

/* Read every argument after the verb, checking spaces and parentheses. */
static bool
imap_lex_args(struct imap_lexer *lx, struct imap_command *cmd)
{
	bool need_space = true;
	struct imap_arg *arg;

	while (lx->p < lx->end) {
		if (*lx->p == ' ') {
			while (lx->p < lx->end && *lx->p == ' ')
				lx->p++;
			need_space = false;
			continue;
		}
		if (*lx->p != ')' && need_space)
			return imap_lex_fail(lx, "Missing space between "
			    "arguments");
		if (cmd->nargs == IMAP_ARGS_MAX)
			return imap_lex_fail(lx, "Too many arguments");
		arg = &cmd->args[cmd->nargs++];
		if (!imap_lex_arg(lx, arg))
			return false;
		need_space = arg->type != IMAP_ARG_LIST_OPEN;
	}
	if (lx->depth != 0)
		return imap_lex_fail(lx, "Unbalanced parentheses");
	return true;
}

/* Read one argument: a parenthesis, quoted string, literal or atom. */
static bool
imap_lex_arg(struct imap_lexer *lx, struct imap_arg *arg)
{
	switch (*lx->p) {
	case '(':
		lx->depth++;
		lx->p++;
		*arg = (struct imap_arg){ IMAP_ARG_LIST_OPEN, "(", 1 };
		return true;
	case ')':
		if (lx->depth == 0)
			return imap_lex_fail(lx, "Unbalanced parentheses");
		lx->depth--;
		lx->p++;
		*arg = (struct imap_arg){ IMAP_ARG_LIST_CLOSE, ")", 1 };
		return true;
	case '"':
		return imap_lex_quoted(lx, arg);
	case '{':
		return imap_lex_literal(lx, arg);
	default:
		return imap_lex_atom(lx, arg);
	}
}

/* Read a quoted string, undoing the \" and \\ escapes. */
static bool
imap_lex_quoted(struct imap_lexer *lx, struct imap_arg *arg)
{
	char *start = lx->out;
	char c;

	for (lx->p++; lx->p < lx->end && *lx->p != '"'; lx->p++) {
		c = *lx->p;
		if (c == '\\') {
			if (++lx->p == lx->end || (*lx->p != '"' &&
			    *lx->p != '\\'))
				return imap_lex_fail(lx, "Invalid escape in "
				    "quoted string");
			c = *lx->p;
		} else if (c == '\r' || c == '\n' || c == '\0')
			return imap_lex_fail(lx, "Invalid character in "
			    "quoted string");
		if (lx->out + 1 >= lx->out_end)
			return imap_lex_fail(lx, "Command too long");
		*lx->out++ = c;
	}
	if (lx->p == lx->end)
		return imap_lex_fail(lx, "Unterminated quoted string");
	lx->p++;
	*lx->out++ = '\0';
	*arg = (struct imap_arg){ IMAP_ARG_STRING, start,
	    (size_t)(lx->out - start - 1) };
	return true;
}

/* Read "{n}" or "{n+}", CRLF and the n bytes that follow. */
static bool
imap_lex_literal(struct imap_lexer *lx, struct imap_arg *arg)
{
	unsigned long long n = 0;
	size_t digits = 0;

	for (lx->p++; lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9' &&
	    digits < IMAP_LITERAL_DIGITS; lx->p++, digits++)
		n = n * 10 + (unsigned long long)(*lx->p - '0');
	if (lx->p < lx->end && *lx->p == '+')
		lx->p++;
	if (digits == 0 || n > IMAP_NUMBER_MAX || lx->end - lx->p < 3 ||
	    memcmp(lx->p, "}\r\n", 3) != 0)
		return imap_lex_fail(lx, "Invalid literal");
	lx->p += 3;
	if ((unsigned long long)(lx->end - lx->p) < n)
		return imap_lex_fail(lx, "Literal shorter than announced");
	if (memchr(lx->p, '\0', (size_t)n) != NULL)
		return imap_lex_fail(lx, "NUL in literal");
	if ((unsigned long long)(lx->out_end - lx->out) <= n)
		return imap_lex_fail(lx, "Command too long");
	memcpy(lx->out, lx->p, (size_t)n);
	*arg = (struct imap_arg){ IMAP_ARG_STRING, lx->out, (size_t)n };
	lx->out += n;
	*lx->out++ = '\0';
	lx->p += n;
	return true;
}

/* Read an atom (NIL included). */
static bool
imap_lex_atom(struct imap_lexer *lx, struct imap_arg *arg)
{
	size_t n = 0;

	while (lx->p + n < lx->end &&
	    imap_is_atom_char((unsigned char)lx->p[n]))
		n++;
	if (n == 0)
		return imap_lex_fail(lx, "Invalid character in command");
	if ((size_t)(lx->out_end - lx->out) <= n)
		return imap_lex_fail(lx, "Command too long");
	memcpy(lx->out, lx->p, n);
	*arg = (struct imap_arg){ IMAP_ARG_ATOM, lx->out, n };
	lx->out += n;
	*lx->out++ = '\0';
	lx->p += n;
	return true;
}

/* Record why the command is bad; always false. */
static bool
imap_lex_fail(struct imap_lexer *lx, const char *error)
{
	lx->error = error;
	return false;
}

/* The verb for a command name, matched case-insensitively. */
static enum imap_verb
imap_verb_lookup(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < nitems(imap_verbs); i++)
		if (strlen(imap_verbs[i].name) == len &&
		    strncasecmp(name, imap_verbs[i].name, len) == 0)
			return imap_verbs[i].verb;
	return IMAP_VERB_UNKNOWN;
}

/* Length of the atom at p (up to a space or the end). */
static size_t
imap_word_len(const char *p, const char *end)
{
	size_t n = 0;

	while (p + n < end && imap_is_atom_char((unsigned char)p[n]))
		n++;
	return n;
}

/* Does line end with a literal announcement "{n}" or "{n+}"? */
enum imap_literal
imap_parse_literal(const char *line, size_t len, size_t *size)
{
	unsigned long long n = 0;
	size_t i, start;
	bool nonsync;

	if (len < 3 || line[len - 1] != '}')
		return IMAP_LITERAL_NONE;
	i = len - 1;
	nonsync = line[i - 1] == '+';
	if (nonsync)
		i--;
	start = i;
	while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9')
		i--;
	if (i == 0 || line[i - 1] != '{' || i == start)
		return IMAP_LITERAL_NONE;
	if (start - i > IMAP_LITERAL_DIGITS)
		return IMAP_LITERAL_BAD;
	for (; i < start; i++)
		n = n * 10 + (unsigned long long)(line[i] - '0');
	if (n > IMAP_NUMBER_MAX)
		return IMAP_LITERAL_BAD;
	*size = (size_t)n;
	return nonsync ? IMAP_LITERAL_NONSYNC : IMAP_LITERAL_SYNC;
}

/* Allocate the command buffer for lines of line_length bytes. */
bool
imap_assembly_init(struct imap_assembly *a, size_t line_length)
{
	a->size = line_length + IMAP_LITERALS_MAX * (IMAP_LITERAL_MAX + 2);
	a->buf = calloc(1, a->size);
	a->len = a->literal_left = 0;
	a->nliterals = 0;
	return a->buf != NULL;
}

/* Wipe the command so far: it may hold credentials. */
void
imap_assembly_clear(struct imap_assembly *a)
{
	OPENSSL_cleanse(a->buf, a->len);
	a->len = a->literal_left = 0;
	a->nliterals = 0;
}

/* Wipe and free the command buffer. */
void
imap_assembly_free(struct imap_assembly *a)
{
	if (a->buf != NULL)
		OPENSSL_cleanse(a->buf, a->size);
	free(a->buf);
	a->buf = NULL;
}

/* Complete the command with a line, or set up the literal it announces. */
enum imap_assemble
imap_assemble_line(struct imap_assembly *a, size_t len,
    enum imap_literal *lit)
{
	size_t size = 0;

	*lit = imap_parse_literal(a->buf + a->len, len, &size);
	a->len += len;
	switch (*lit) {
	case IMAP_LITERAL_NONE:
		return IMAP_ASSEMBLE_DONE;
	case IMAP_LITERAL_BAD:
		return IMAP_ASSEMBLE_BAD;
	case IMAP_LITERAL_SYNC:
	case IMAP_LITERAL_NONSYNC:
		break;
	}
	if (size > IMAP_LITERAL_MAX || ++a->nliterals > IMAP_LITERALS_MAX ||
	    a->len + 2 + size >= a->size)
		return IMAP_ASSEMBLE_TOO_LARGE;
	memcpy(a->buf + a->len, "\r\n", 2);
	a->len += 2;
	a->literal_left = size;
	return IMAP_ASSEMBLE_LITERAL;
}

/* Take the literal's bytes once they have all arrived. */
bool
imap_assemble_literal(struct imap_assembly *a, struct evbuffer *in)
{
	if (evbuffer_get_length(in) < a->literal_left)
		return false;
	evbuffer_remove(in, a->buf + a->len, a->literal_left);
	a->len += a->literal_left;
	a->literal_left = 0;
	return true;
}

/* Parse a server response line (NUL-terminated at len). */
bool
imap_parse_response(const char *line, size_t len, struct imap_response *r)
{
	const char *end = line + len, *p;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (len >= 1 && line[0] == '+') {
		r->kind = IMAP_RESPONSE_CONTINUE;
		r->status = IMAP_STATUS_OTHER;
		r->rest = r->text = len > 1 && line[1] == ' ' ? line + 2 :
		    line + 1;
		return len == 1 || line[1] == ' ';
	}
	if (len >= 2 && line[0] == '*' && line[1] == ' ')
		r->kind = IMAP_RESPONSE_UNTAGGED;
	else if (imap_parse_tag(line, len, r->tag, sizeof(r->tag)) &&
	    strlen(r->tag) < len)
		r->kind = IMAP_RESPONSE_TAGGED;
	else
		return false;
	p = r->rest = r->kind == IMAP_RESPONSE_UNTAGGED ? line + 2 :
	    line + strlen(r->tag) + 1;
	n = imap_word_len(p, end);
	if (n == 0)
		return false;
	r->status = imap_status_lookup(p, n);
	r->text = p + n < end ? p + n + 1 : end;
	if (r->status == IMAP_STATUS_CAPABILITY) {
		r->caps = imap_caps_scan(r->text, end);
		r->has_caps = true;
	} else if (imap_response_has_code(r->text, "CAPABILITY")) {
		p = memchr(r->text, ']', (size_t)(end - r->text));
		r->caps = imap_caps_scan(r->text + 11, p != NULL ? p : end);
		r->has_caps = true;
	}
	return true;
}

/* The status for a response's first word, matched case-insensitively. */
static enum imap_status
imap_status_lookup(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < nitems(imap_statuses); i++)
		if (strlen(imap_statuses[i].name) == len &&
		    strncasecmp(word, imap_statuses[i].name, len) == 0)
			return imap_statuses[i].status;
	return IMAP_STATUS_OTHER;
}

/* The IMAP_CAP_* flags of the space-separated words between p and end. */
static unsigned
imap_caps_scan(const char *p, const char *end)
{
	unsigned caps = 0;
	size_t i, n;

	while (p < end) {
		for (n = 0; p + n < end && p[n] != ' '; n++)
			;
		for (i = 0; i < nitems(imap_caps); i++)
			if (strlen(imap_caps[i].name) == n &&
			    strncasecmp(p, imap_caps[i].name, n) == 0)
				caps |= imap_caps[i].flag;
		p += n + (p + n < end);
	}
	return caps;
}

/* Does a response text start with the response code [code]? */
bool
imap_response_has_code(const char *text, const char *code)
{
	size_t n = strlen(code);

	return text[0] == '[' && strncasecmp(text + 1, code, n) == 0 &&
	    (text[n + 1] == ']' || text[n + 1] == ' ');
}

/* Write the relay's capability list for a connection's policy. */
void
imap_capabilities(char *dst, size_t len, bool starttls, bool login_allowed)
{
	snprintf(dst, len, "IMAP4rev1 SASL-IR LITERAL+ ID%s%s",
	    starttls ? " STARTTLS" : "",
	    login_allowed ? " AUTH=PLAIN AUTH=LOGIN" : " LOGINDISABLED");
}

/* Write src as a quoted string; false if it needs a literal. */
bool
imap_quote(const char *src, char *dst, size_t dstlen)
{
	size_t n = 0;
	unsigned char c;

	if (dstlen < 3)
		return false;
	dst[n++] = '"';
	for (; (c = (unsigned char)*src) != '\0'; src++) {
		if (c == '\r' || c == '\n' || c >= 0x80)
			return false;
		if (n + 4 > dstlen)
			return false;
		if (c == '"' || c == '\\')
			dst[n++] = '\\';
		dst[n++] = (char)c;
	}
	dst[n++] = '"';
	dst[n] = '\0';
	return true;
}
