/*
 * Fuzz target: upstream IMAP response lines (imap_parse_response,
 * imap_response_has_code) and the quoting of the relay's own LOGIN
 * arguments (imap_quote). A response's tag, rest and text point into the
 * line in order; capabilities are reported only for a CAPABILITY line or
 * code; a quoted string parses back, as a LOGIN argument, to the bytes
 * that were quoted.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "imap_parse.h"

static bool	contains(const char *, size_t, const char *);
static void	check_response(const char *, size_t);
static void	check_quote(const char *);

/* Do the len bytes at line contain word, in any case (NULs included)? */
static bool
contains(const char *line, size_t len, const char *word)
{
	size_t n = strlen(word), i;

	for (i = 0; i + n <= len; i++)
		if (strncasecmp(line + i, word, n) == 0)
			return true;
	return false;
}

/* The parts of a response line are where they must be. */
static void
check_response(const char *line, size_t len)
{
	struct imap_response r;

	if (!imap_parse_response(line, len, &r))
		return;
	FUZZ_CHECK(r.rest >= line && r.rest <= line + len);
	FUZZ_CHECK(r.text >= r.rest && r.text <= line + len);
	switch (r.kind) {
	case IMAP_RESPONSE_CONTINUE:
		FUZZ_CHECK(line[0] == '+' && !r.has_caps);
		break;
	case IMAP_RESPONSE_UNTAGGED:
		FUZZ_CHECK(strncmp(line, "* ", 2) == 0 && r.rest == line + 2);
		break;
	case IMAP_RESPONSE_TAGGED:
		FUZZ_CHECK(strncmp(line, r.tag, strlen(r.tag)) == 0 &&
		    line[strlen(r.tag)] == ' ');
		FUZZ_CHECK(r.rest == line + strlen(r.tag) + 1);
		break;
	}
	if (r.has_caps)
		FUZZ_CHECK(r.status == IMAP_STATUS_CAPABILITY ||
		    imap_response_has_code(r.text, "CAPABILITY"));
	else
		FUZZ_CHECK(r.caps == 0);
	if (r.caps & IMAP_CAP_STARTTLS)
		FUZZ_CHECK(contains(line, len, "STARTTLS"));
	if (r.caps & IMAP_CAP_AUTH_XOAUTH2)
		FUZZ_CHECK(contains(line, len, "AUTH=XOAUTH2"));
}

/* A quoted string is one argument that unquotes to src. */
static void
check_quote(const char *src)
{
	char quoted[600], cmd[700], arena[IMAP_ARENA_SIZE(700)];
	struct imap_command c;
	const char *error;
	int n;

	if (!imap_quote(src, quoted, sizeof(quoted))) {
		FUZZ_CHECK(strpbrk(src, "\r\n") != NULL ||
		    strlen(src) * 2 + 3 > sizeof(quoted) ||
		    strspn(src, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
		    "\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19"
		    "\x1a\x1b\x1c\x1d\x1e\x1f !\"#$%&'()*+,-./0123456789:;<=>?@"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz"
		    "{|}~\x7f") != strlen(src));
		return;
	}
	n = snprintf(cmd, sizeof(cmd), "a LOGIN %s x", quoted);
	FUZZ_CHECK(imap_parse_command(cmd, (size_t)n, arena,
	    IMAP_ARENA_SIZE((size_t)n), &c, &error) == IMAP_PARSE_OK);
	FUZZ_CHECK(c.nargs == 2 && c.args[0].type == IMAP_ARG_STRING);
	FUZZ_CHECK(c.args[0].len == strlen(src) &&
	    memcmp(c.args[0].data, src, c.args[0].len) == 0);
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024];

	if (!fuzz_string(line, sizeof(line), data, size))
		return 0;
	check_response(line, size);
	if (size < 290)
		check_quote(line);
	return 0;
}
