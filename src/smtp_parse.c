/* SMTP syntax: command verbs, reply lines, EHLO capabilities, the MAIL
 * sender and the message body. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"
#include "util.h"

static bool	smtp_is_digit(char);
static bool	smtp_is_print(unsigned char);
static const char *smtp_addr_end(const char *p, bool bracketed);
static void	smtp_parse_mechanism(const char *word, size_t len,
		    struct smtp_caps *caps);
static size_t	smtp_body_eol(struct evbuffer *in, size_t avail);
static enum smtp_body smtp_body_partial(struct evbuffer *in,
		    struct evbuffer *out, struct smtp_body_state *st, size_t n);
static enum smtp_body smtp_body_line(struct evbuffer *in,
		    struct evbuffer *out, struct smtp_body_state *st, size_t len,
		    size_t tlen, bool crlf);
static void	smtp_body_move(struct evbuffer *in, struct evbuffer *out,
		    size_t n);

/* Every command verb the relay recognises. */
static const struct {
	const char	*name;
	enum smtp_verb	 verb;
} smtp_verbs[] = {
	{ "HELO",	SMTP_VERB_HELO },
	{ "EHLO",	SMTP_VERB_EHLO },
	{ "STARTTLS",	SMTP_VERB_STARTTLS },
	{ "AUTH",	SMTP_VERB_AUTH },
	{ "MAIL",	SMTP_VERB_MAIL },
	{ "RCPT",	SMTP_VERB_RCPT },
	{ "DATA",	SMTP_VERB_DATA },
	{ "BDAT",	SMTP_VERB_BDAT },
	{ "RSET",	SMTP_VERB_RSET },
	{ "NOOP",	SMTP_VERB_NOOP },
	{ "QUIT",	SMTP_VERB_QUIT },
	{ "HELP",	SMTP_VERB_HELP },
	{ "VRFY",	SMTP_VERB_VRFY },
	{ "EXPN",	SMTP_VERB_EXPN },
};

/* Split a command line into its verb and the argument after the space. */
enum smtp_verb
smtp_parse_verb(const char *line, const char **arg)
{
	size_t i, len = strcspn(line, " ");

	if (arg != NULL)
		*arg = line[len] == ' ' ? line + len + 1 : "";
	for (i = 0; i < nitems(smtp_verbs); i++) {
		if (strlen(smtp_verbs[i].name) == len &&
		    strncasecmp(line, smtp_verbs[i].name, len) == 0)
			return smtp_verbs[i].verb;
	}
	return SMTP_VERB_UNKNOWN;
}

/* Parse "DDD", "DDD text" or "DDD-text" with a first digit of 2 to 5. */
bool
smtp_parse_reply_line(const char *line, size_t len,
    struct smtp_reply_line *out)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' ||
	    !smtp_is_digit(line[1]) || !smtp_is_digit(line[2]))
		return false;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return false;
	out->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
	    (line[2] - '0');
	out->last = len == 3 || line[3] == ' ';
	out->text = len == 3 ? "" : line + 4;
	return true;
}

/* Parse a reply line and check that it goes on the reply being read. */
bool
smtp_parse_reply_next(int code, const char *line, size_t len,
    struct smtp_reply_line *out)
{
	return smtp_parse_reply_line(line, len, out) &&
	    (code == 0 || out->code == code);
}

/* Note STARTTLS, or the mechanisms of an AUTH line, in caps. */
void
smtp_parse_capability(const char *text, struct smtp_caps *caps)
{
	size_t len;

	if (strcasecmp(text, "STARTTLS") == 0)
		caps->starttls = true;
	if (strncasecmp(text, "AUTH", 4) != 0 ||
	    (text[4] != ' ' && text[4] != '='))
		return;
	for (text += 5; *text != '\0'; text += len) {
		text += strspn(text, " ");
		len = strcspn(text, " ");
		smtp_parse_mechanism(text, len, caps);
	}
}

/* Note one AUTH mechanism of len bytes that the relay can use. */
static void
smtp_parse_mechanism(const char *word, size_t len, struct smtp_caps *caps)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} mechs[] = {
		{ "PLAIN", offsetof(struct smtp_caps, plain) },
		{ "LOGIN", offsetof(struct smtp_caps, login) },
		{ "XOAUTH2", offsetof(struct smtp_caps, xoauth2) },
	};
	size_t i;

	for (i = 0; i < nitems(mechs); i++)
		if (strlen(mechs[i].name) == len &&
		    strncasecmp(word, mechs[i].name, len) == 0)
			*(bool *)((char *)caps + mechs[i].offset) = true;
}

/* Tell whether c is an ASCII digit. */
static bool
smtp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Tell whether c is printable ASCII, space included. */
static bool
smtp_is_print(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Find the reverse-path of a MAIL argument, copy it, find the parameters. */
bool
smtp_parse_mail_from(const char *arg, char *addr, size_t addrlen,
    const char **params)
{
	const char *p, *end, *next;
	bool bracketed;
	size_t len;

	if (strncasecmp(arg, "FROM:", 5) != 0)
		return false;
	p = arg + 5 + strspn(arg + 5, " ");
	if ((bracketed = *p == '<'))
		p++;
	if (*p == '@') {	/* a source route: ignored, in brackets only */
		p += strcspn(p, ":<> ");
		if (!bracketed || *p++ != ':' || *p == '@')
			return false;
	}
	if ((end = smtp_addr_end(p, bracketed)) == NULL)
		return false;
	len = (size_t)(end - p);
	next = bracketed ? end + 1 : end;
	if ((!bracketed && len == 0) || (*next != '\0' && *next != ' ') ||
	    len >= addrlen)
		return false;
	memcpy(addr, p, len);
	addr[len] = '\0';
	*params = next + strspn(next, " ");
	return true;
}

/*
 * The end of an address starting at p: the closing ">" of a path in
 * brackets, or the space or end of a bare address. NULL if a character is
 * not allowed there or a path or quoted string is not closed.
 */
static const char *
smtp_addr_end(const char *p, bool bracketed)
{
	bool quoted = false;
	unsigned char c;

	for (; *p != '\0'; p++) {
		c = (unsigned char)*p;
		if (!smtp_is_print(c))
			return NULL;
		if (quoted) {
			if (c == '"')
				quoted = false;
			else if (c == '\\' &&
			    !smtp_is_print((unsigned char)p[1]))
				return NULL;
			else if (c == '\\')
				p++;
		} else if (c == '"')
			quoted = true;
		else if (c == '>')
			return bracketed ? p : NULL;
		else if (c == ' ')
			return bracketed ? NULL : p;
		else if (c == '<')
			return NULL;
	}
	return bracketed || quoted ? NULL : p;
}

/* Is sender one of the device's senders (or its mailbox, if none)? */
bool
smtp_sender_allowed(const char *sender, const char *mailbox,
    char *const *senders, size_t nsenders)
{
	size_t i;

	if (*sender == '\0')
		return false;
	if (nsenders == 0)
		return mailbox != NULL && strcasecmp(sender, mailbox) == 0;
	for (i = 0; i < nsenders; i++)
		if (strcasecmp(sender, senders[i]) == 0)
			return true;
	return false;
}

/* A message body starts at the start of a line, as if after a CRLF. */
void
smtp_body_start(struct smtp_body_state *st)
{
	st->line_start = st->prev_crlf = true;
}

/*
 * Only CRLF "." CRLF ends the message, and any other "." line is
 * dot-stuffed, so the relay and the upstream always agree on where the
 * message ends (no SMTP smuggling, whatever the upstream makes of bare
 * line endings).
 */
enum smtp_body
smtp_body_scan(struct evbuffer *in, struct evbuffer *out,
    struct smtp_body_state *st, bool reject_bare)
{
	size_t avail = evbuffer_get_length(in), end, tlen = 1;
	struct evbuffer_ptr at;
	unsigned char c[2];

	if (avail == 0)
		return SMTP_BODY_WAIT;
	if ((end = smtp_body_eol(in, avail)) == avail)
		return smtp_body_partial(in, out, st, avail);
	evbuffer_ptr_set(in, &at, end, EVBUFFER_PTR_SET);
	if (evbuffer_copyout_from(in, &at, c, 2) < 2 && c[0] == '\r')
		/* A CR last: an LF may follow. */
		return end > 0 ? smtp_body_partial(in, out, st, end) :
		    SMTP_BODY_WAIT;
	if (c[0] == '\r' && c[1] == '\n')
		tlen = 2;
	else if (reject_bare)
		return SMTP_BODY_BARE;
	return smtp_body_line(in, out, st, end, tlen, tlen == 2);
}

/* The offset of the first CR or LF in the body input, or avail if none. */
static size_t
smtp_body_eol(struct evbuffer *in, size_t avail)
{
	struct evbuffer_ptr lf = evbuffer_search(in, "\n", 1, NULL), cr;

	cr = evbuffer_search_range(in, "\r", 1, NULL, lf.pos >= 0 ? &lf : NULL);
	if (cr.pos >= 0)
		return (size_t)cr.pos;
	return lf.pos >= 0 ? (size_t)lf.pos : avail;
}

/* Move n bytes of a line whose end has not arrived yet; a lone "." at
 * the start of a line waits, as it may become an end marker. */
static enum smtp_body
smtp_body_partial(struct evbuffer *in, struct evbuffer *out,
    struct smtp_body_state *st, size_t n)
{
	unsigned char first;

	evbuffer_copyout(in, &first, 1);
	if (st->line_start && first == '.' && n == 1)
		return SMTP_BODY_WAIT;
	smtp_body_move(in, out, n);
	st->line_start = false;
	return SMTP_BODY_MORE;
}

/* Move one complete line of len bytes ended by tlen bytes (CRLF when
 * crlf), as CRLF; recognise the end marker and dot-stuff lone dots. */
static enum smtp_body
smtp_body_line(struct evbuffer *in, struct evbuffer *out,
    struct smtp_body_state *st, size_t len, size_t tlen, bool crlf)
{
	unsigned char first = 0;
	const char *eol = "\r\n";
	bool dot, end;

	if (len > 0)
		evbuffer_copyout(in, &first, 1);
	dot = st->line_start && len == 1 && first == '.';
	end = dot && crlf && st->prev_crlf;
	if (dot) {
		evbuffer_drain(in, len);
		eol = end ? ".\r\n" : "..\r\n";
	} else
		smtp_body_move(in, out, len);
	evbuffer_drain(in, tlen);
	if (out != NULL)
		evbuffer_add(out, eol, strlen(eol));
	st->line_start = true;
	st->prev_crlf = crlf;
	return end ? SMTP_BODY_END : SMTP_BODY_MORE;
}

/* Move n bytes of body input to out, or drop them when out is NULL. */
static void
smtp_body_move(struct evbuffer *in, struct evbuffer *out, size_t n)
{
	if (out == NULL)
		evbuffer_drain(in, n);
	else
		evbuffer_remove_buffer(in, out, n);
}
