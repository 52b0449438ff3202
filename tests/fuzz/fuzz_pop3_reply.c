/*
 * Fuzz target: upstream POP3 lines (pop3_parse_status, pop3_resp_code,
 * pop3_parse_capa_line). A status is the first word exactly; its text
 * follows the space; a response code is the bracketed word and fits its
 * buffer; a capability is noted only when its word is on the line.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "pop3_parse.h"

static bool	first_word_is(const char *, const char *);
static bool	sasl_has(const char *, const char *);
static void	check_status(const char *);
static void	check_capa(const char *);

/* Is the line's first word w, in any case? */
static bool
first_word_is(const char *line, const char *w)
{
	size_t n = strlen(w);

	return strncasecmp(line, w, n) == 0 &&
	    (line[n] == ' ' || line[n] == '\0');
}

/* Does a SASL line name mechanism m? */
static bool
sasl_has(const char *line, const char *m)
{
	size_t n = strlen(m);
	const char *p;

	if (!first_word_is(line, "SASL"))
		return false;
	for (p = line + 4; (p = strcasestr(p, m)) != NULL; p += n)
		if (p[-1] == ' ' && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

/* The status, its text and the response code in it. */
static void
check_status(const char *line)
{
	const char *text = NULL, *sp = strchr(line, ' ');
	enum pop3_status st = pop3_parse_status(line, &text);
	char code[16];

	FUZZ_CHECK(text == (sp != NULL ? sp + 1 : line + strlen(line)));
	FUZZ_CHECK((st == POP3_STATUS_OK) == first_word_is(line, "+OK"));
	FUZZ_CHECK((st == POP3_STATUS_ERR) == first_word_is(line, "-ERR"));
	FUZZ_CHECK((st == POP3_STATUS_CONT) == first_word_is(line, "+"));
	if (pop3_resp_code(text, code, sizeof(code))) {
		size_t n = strlen(code);

		FUZZ_CHECK(n > 0 && n < sizeof(code));
		FUZZ_CHECK(text[0] == '[' && text[n + 1] == ']');
		FUZZ_CHECK(strncmp(text + 1, code, n) == 0);
		FUZZ_CHECK(strcspn(code, "] ") == n);
	} else
		FUZZ_CHECK(code[0] == '\0');
}

/* Each capability noted must be on the line. */
static void
check_capa(const char *line)
{
	struct pop3_caps c = { 0 };

	pop3_parse_capa_line(line, &c);
	FUZZ_CHECK(c.stls == first_word_is(line, "STLS"));
	FUZZ_CHECK(c.user == first_word_is(line, "USER"));
	FUZZ_CHECK(c.top == first_word_is(line, "TOP"));
	FUZZ_CHECK(c.uidl == first_word_is(line, "UIDL"));
	FUZZ_CHECK(c.sasl_plain == sasl_has(line, "PLAIN"));
	FUZZ_CHECK(c.sasl_xoauth2 == sasl_has(line, "XOAUTH2"));
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024];

	if (!fuzz_string(line, sizeof(line), data, size))
		return 0;
	check_status(line);
	check_capa(line);
	return 0;
}
