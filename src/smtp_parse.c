/* SMTP syntax: command verbs and reply lines. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "smtp_parse.h"
#include "util.h"

static bool	smtp_is_digit(char);

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

/* Tell whether c is an ASCII digit. */
static bool
smtp_is_digit(char c)
{
	return c >= '0' && c <= '9';
}
