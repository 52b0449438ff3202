/* SMTP syntax: command verbs, reply lines, EHLO capabilities and the MAIL
 * sender. */
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
