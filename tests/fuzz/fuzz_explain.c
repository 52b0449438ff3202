/*
 * Fuzz target: the classification of Exchange Online replies
 * (explain_lookup). An explanation is returned only for its own source,
 * only when its match text stands in the reply as a whole (not inside a
 * longer code), and it is the first such entry of the table; a relay's
 * own XOAUTH2 login is explained at least as often as a pass-through one.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "explain.h"
#include "fuzz.h"

static bool	stands_in(const char *, const char *);

/* Does match occur in reply, not glued to letters, digits or a dot? */
static bool
stands_in(const char *reply, const char *match)
{
	size_t len = strlen(match);
	const char *p;
	unsigned char before, after;

	for (p = reply; *p != '\0'; p++) {
		if (strncasecmp(p, match, len) != 0)
			continue;
		before = p > reply ? (unsigned char)p[-1] : ' ';
		after = (unsigned char)p[len];
		if (isalnum((unsigned char)match[0]) &&
		    (isalnum(before) || before == '.'))
			continue;
		if (isalnum((unsigned char)match[len - 1]) && isalnum(after))
			continue;
		return true;
	}
	return false;
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reply[1024];
	const struct explanation *table, *e, *want;
	size_t n, i;
	int src;
	bool token;

	if (size < 1 || size >= sizeof(reply))
		return 0;
	src = data[0] % 4;
	memcpy(reply, data + 1, size - 1);
	reply[size - 1] = '\0';
	table = explain_table(&n);
	for (token = false; ; token = true) {
		e = explain_lookup((enum explain_source)src, reply, token);
		want = NULL;
		for (i = 0; i < n && want == NULL; i++)
			if ((int)table[i].source == src &&
			    (token || !table[i].token_login) &&
			    stands_in(reply, table[i].match))
				want = &table[i];
		FUZZ_CHECK(e == want);
		if (token)
			break;
		if (e != NULL)
			FUZZ_CHECK(explain_lookup((enum explain_source)src,
			    reply, true) != NULL);
	}
	return 0;
}
