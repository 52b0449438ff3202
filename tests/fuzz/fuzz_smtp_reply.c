/*
 * Fuzz target: SMTP reply lines, multi-line replies and the EHLO
 * capability reader, as smtp_session.c reads an upstream's replies. A
 * valid line prints back to itself from its parts; a reply ends at its
 * first last line, with one code throughout; a capability is noted only
 * when its word is on the line, and noting lines in any order or twice
 * gives the same result.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "smtp_parse.h"

static void	check_line(const char *, size_t, const struct smtp_reply_line *);
static bool	has_word(const char *, const char *);
static void	check_caps(const char *, const struct smtp_caps *);

/* A valid line is "DDD", "DDD text" or "DDD-text": print it back. */
static void
check_line(const char *line, size_t len, const struct smtp_reply_line *rl)
{
	char buf[1100];

	FUZZ_CHECK(rl->code >= 200 && rl->code <= 599);
	if (len == 3)
		snprintf(buf, sizeof(buf), "%d", rl->code);
	else
		snprintf(buf, sizeof(buf), "%d%c%s", rl->code,
		    rl->last ? ' ' : '-', rl->text);
	FUZZ_CHECK(strcmp(buf, line) == 0);
	FUZZ_CHECK(len == 3 || rl->text == line + 4);
}

/* Is word one of the space-separated words of an AUTH line? */
static bool
has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	if (strncasecmp(text, "AUTH", 4) != 0 ||
	    (text[4] != ' ' && text[4] != '='))
		return false;
	for (p = text + 5; (p = strcasestr(p, word)) != NULL; p += n)
		if (p[-1] == ' ' || p == text + 5)
			if (p[n] == ' ' || p[n] == '\0')
				return true;
	return false;
}

/* Each capability noted from one line must be on that line. */
static void
check_caps(const char *text, const struct smtp_caps *c)
{
	FUZZ_CHECK(c->starttls == (strcasecmp(text, "STARTTLS") == 0));
	FUZZ_CHECK(c->plain == has_word(text, "PLAIN"));
	FUZZ_CHECK(c->login == has_word(text, "LOGIN"));
	FUZZ_CHECK(c->xoauth2 == has_word(text, "XOAUTH2"));
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_caps all = { 0 }, again = { 0 }, one;
	struct smtp_reply_line rl;
	char line[1025];
	size_t at = 0, len;
	int code = 0;
	bool done = false, bad = false;

	/* Lines end at LF, a CR before it dropped, as session_read_line
	 * gives them; a NUL ends a line's text as it does in the relay. */
	while (at < size && !done && !bad) {
		const uint8_t *lf = memchr(data + at, '\n', size - at);

		len = (lf != NULL ? (size_t)(lf - data) : size) - at;
		if (len >= sizeof(line))
			break;
		memcpy(line, data + at, len);
		at += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		len = strlen(line);
		if (!smtp_parse_reply_next(code, line, len, &rl)) {
			bad = true;
			FUZZ_CHECK(code != 0 || !smtp_parse_reply_line(line,
			    len, &rl));
			break;
		}
		check_line(line, len, &rl);
		FUZZ_CHECK(code == 0 || rl.code == code);
		code = rl.code;
		done = rl.last;
		memset(&one, 0, sizeof(one));
		smtp_parse_capability(rl.text, &one);
		check_caps(rl.text, &one);
		smtp_parse_capability(rl.text, &all);
		smtp_parse_capability(rl.text, &all);
		again.starttls |= one.starttls;
		again.plain |= one.plain;
		again.login |= one.login;
		again.xoauth2 |= one.xoauth2;
	}
	FUZZ_CHECK(memcmp(&all, &again, sizeof(all)) == 0);
	return 0;
}
