/*
 * Fuzz target: POP3 device commands (pop3_parse_command, pop3_parse_auth).
 * The argument is what follows the verb's space; USER and PASS keep the
 * rest of the line, not empty; a command with message numbers prints
 * (pop3_cmd_format) to a canonical line that parses back to the same
 * command; an AUTH initial response is the text after the mechanism.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "pop3_parse.h"

static void	check_canonical(const struct pop3_cmd *);
static void	check_auth(const char *);

/* A parsed command other than USER, PASS, APOP and AUTH prints back to
 * a line that parses to the same verb and numbers. */
static void
check_canonical(const struct pop3_cmd *cmd)
{
	char buf[POP3_CMD_LINE];
	struct pop3_cmd again;

	if (cmd->verb == POP3_VERB_USER || cmd->verb == POP3_VERB_PASS ||
	    cmd->verb == POP3_VERB_APOP || cmd->verb == POP3_VERB_AUTH)
		return;
	pop3_cmd_format(cmd, buf, sizeof(buf));
	FUZZ_CHECK(pop3_parse_command(buf, strlen(buf), &again) ==
	    POP3_CMD_OK);
	FUZZ_CHECK(again.verb == cmd->verb && again.nnums == cmd->nnums);
	FUZZ_CHECK(memcmp(again.num, cmd->num, sizeof(cmd->num)) == 0);
	FUZZ_CHECK(pop3_cmd_multiline(&again) == pop3_cmd_multiline(cmd));
}

/* The mechanism is the first word; the initial response the rest. */
static void
check_auth(const char *arg)
{
	const char *ir = NULL;
	enum pop3_mech m = pop3_parse_auth(arg, &ir);

	if (ir != NULL)
		FUZZ_CHECK(ir > arg && ir[-1] == ' ' && *ir != '\0' &&
		    ir == arg + strcspn(arg, " ") + 1);
	if (m == POP3_MECH_NONE)
		FUZZ_CHECK(*arg == '\0');
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[1024];
	struct pop3_cmd cmd;
	enum pop3_cmd_status st;
	const char *sp;

	if (!fuzz_string(line, sizeof(line), data, size))
		return 0;
	st = pop3_parse_command(line, size, &cmd);
	sp = strchr(line, ' ');
	FUZZ_CHECK(sp != NULL ? cmd.arg == sp + 1 : *cmd.arg == '\0');
	check_auth(cmd.arg);
	if (st != POP3_CMD_OK)
		return 0;
	FUZZ_CHECK(strlen(line) == size);
	if (cmd.verb == POP3_VERB_USER || cmd.verb == POP3_VERB_PASS)
		FUZZ_CHECK(*cmd.arg != '\0' &&
		    strlen(cmd.arg) < POP3_ARG_MAX);
	check_canonical(&cmd);
	return 0;
}
