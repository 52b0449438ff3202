/*
 * Fuzz target: SMTP command lines (smtp_parse_verb) and the MAIL sender
 * (smtp_parse_mail_from, smtp_sender_allowed). A recognised verb is the
 * line's first word; a parsed sender prints back, as "FROM:<addr>" and
 * the parameters, to the same sender and parameters, holds no control
 * character outside a quoted local part and fits its buffer; a sender is
 * allowed only when it equals the mailbox.
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "smtp_parse.h"

static void	check_verb(const char *);
static void	check_mail(const char *);

/* The verb is the first word (any case), the argument what follows its
 * space, or "" when there is none. */
static void
check_verb(const char *line)
{
	const char *arg = NULL, *sp = strchr(line, ' ');
	enum smtp_verb v = smtp_parse_verb(line, &arg);
	size_t len = sp != NULL ? (size_t)(sp - line) : strlen(line);
	char upper[16];
	size_t i;

	FUZZ_CHECK(arg != NULL);
	FUZZ_CHECK(sp != NULL ? arg == sp + 1 : *arg == '\0');
	if (v == SMTP_VERB_UNKNOWN)
		return;
	FUZZ_CHECK(len >= 4 && len <= 8);
	for (i = 0; i < len; i++)
		upper[i] = line[i] >= 'a' && line[i] <= 'z' ?
		    line[i] - 'a' + 'A' : line[i];
	upper[len] = '\0';
	FUZZ_CHECK(smtp_parse_verb(upper, NULL) == v);
}

/* Parse a MAIL argument, then its canonical form again. */
static void
check_mail(const char *arg)
{
	char addr[SMTP_ADDR_MAX], again[SMTP_ADDR_MAX], canon[2048];
	const char *params = NULL, *params2 = NULL;
	const char *senders[] = { addr };

	if (!smtp_parse_mail_from(arg, addr, sizeof(addr), &params))
		return;
	FUZZ_CHECK(strlen(addr) < sizeof(addr));
	FUZZ_CHECK(params != NULL && params >= arg &&
	    params <= arg + strlen(arg));
	snprintf(canon, sizeof(canon), "FROM:<%s>%s%s", addr,
	    *params != '\0' ? " " : "", params);
	FUZZ_CHECK(smtp_parse_mail_from(canon, again, sizeof(again),
	    &params2));
	FUZZ_CHECK(strcmp(addr, again) == 0);
	FUZZ_CHECK(strcmp(params, params2) == 0);
	FUZZ_CHECK(!smtp_sender_allowed(addr, "nobody@invalid.example",
	    (char *const *)senders, 0) ||
	    strcasecmp(addr, "nobody@invalid.example") == 0);
	FUZZ_CHECK(smtp_sender_allowed(addr, NULL, (char *const *)senders,
	    1) == (*addr != '\0'));
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024];
	const char *arg;

	if (!fuzz_string(line, sizeof(line), data, size))
		return 0;
	check_verb(line);
	if (smtp_parse_verb(line, &arg) == SMTP_VERB_MAIL)
		check_mail(arg);
	check_mail(line);
	return 0;
}
