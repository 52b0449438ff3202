/* Unit tests for imap_parse.c: commands, their assembly with literals,
 * responses, capabilities. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_parse.h"
#include "suites.h"
#include "util.h"

static enum imap_parse_status parse(const char *buf, size_t len,
		    struct imap_command *cmd, const char **error);
static void	assert_arg(const struct imap_command *cmd, size_t i,
		    enum imap_arg_type type, const char *data, size_t len);
static void	assert_bad(const char *buf, const char *tag);
static enum imap_assemble add_line(struct imap_assembly *a, const char *line,
		    enum imap_literal *lit);

/* Parse buf into cmd with an arena of the documented size. */
static enum imap_parse_status
parse(const char *buf, size_t len, struct imap_command *cmd,
    const char **error)
{
	static char arena[4096];

	ck_assert_uint_le(IMAP_ARENA_SIZE(len), sizeof(arena));
	return imap_parse_command(buf, len, arena, IMAP_ARENA_SIZE(len), cmd,
	    error);
}

/* Copy line to the end of the command, as the session reads it there,
 * and add it. */
static enum imap_assemble
add_line(struct imap_assembly *a, const char *line, enum imap_literal *lit)
{
	size_t len = strlen(line);

	ck_assert_uint_lt(a->len + len, a->size);
	memcpy(a->buf + a->len, line, len);
	return imap_assemble_line(a, len, lit);
}

/* Check one parsed argument's type and bytes. */
static void
assert_arg(const struct imap_command *cmd, size_t i, enum imap_arg_type type,
    const char *data, size_t len)
{
	ck_assert_uint_gt(cmd->nargs, i);
	ck_assert_int_eq(cmd->args[i].type, type);
	ck_assert_uint_eq(cmd->args[i].len, len);
	ck_assert_mem_eq(cmd->args[i].data, data, len);
	ck_assert_int_eq(cmd->args[i].data[len], '\0');
}

/* A command with a valid tag but bad syntax: BAD, tag kept, a reason. */
static void
assert_bad(const char *buf, const char *tag)
{
	struct imap_command cmd;
	const char *error;

	ck_assert_msg(parse(buf, strlen(buf), &cmd, &error) == IMAP_PARSE_BAD,
	    "accepted \"%s\"", buf);
	ck_assert_str_eq(cmd.tag, tag);
	ck_assert_ptr_nonnull(error);
}

/* Tags come back as sent; the verb is matched in any case. */
START_TEST(test_tags_and_verbs)
{
	static const struct {
		const char	*line;
		const char	*tag;
		enum imap_verb	 verb;
	} v[] = {
		{ "A001 CAPABILITY", "A001", IMAP_VERB_CAPABILITY },
		{ "a.1 noop", "a.1", IMAP_VERB_NOOP },
		{ "x]y LOGOUT", "x]y", IMAP_VERB_LOGOUT },
		{ "1 id NIL", "1", IMAP_VERB_ID },
		{ "T-9 StartTLS", "T-9", IMAP_VERB_STARTTLS },
		{ "$ LOGIN a b", "$", IMAP_VERB_LOGIN },
		{ "~ Authenticate PLAIN", "~", IMAP_VERB_AUTHENTICATE },
		{ "A2 SELECT INBOX", "A2", IMAP_VERB_UNKNOWN },
		{ "A3 CAPABILITYX", "A3", IMAP_VERB_UNKNOWN },
	};
	struct imap_command cmd;
	const char *error;
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		ck_assert_int_eq(parse(v[i].line, strlen(v[i].line), &cmd,
		    &error), IMAP_PARSE_OK);
		ck_assert_str_eq(cmd.tag, v[i].tag);
		ck_assert_int_eq(cmd.verb, v[i].verb);
	}
}
END_TEST

/* No tag, or a tag with a forbidden character: untagged BAD. */
START_TEST(test_tag_invalid)
{
	static const char *const bad[] = {
		"", " A1 NOOP", "+ NOOP", "A+1 NOOP", "A\"1 NOOP", "A{1 NOOP",
		"A(1 NOOP", "A%1 NOOP", "A*1 NOOP", "A\\1 NOOP", "\tNOOP",
		"A\x01 NOOP", "\xc3\xa9 NOOP",
	};
	char longtag[IMAP_TAG_MAX + 8];
	struct imap_command cmd;
	const char *error;
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(parse(bad[i], strlen(bad[i]), &cmd, &error) ==
		    IMAP_PARSE_NO_TAG, "accepted \"%s\"", bad[i]);
	memset(longtag, 'a', IMAP_TAG_MAX);
	strcpy(longtag + IMAP_TAG_MAX, " NOOP");
	ck_assert_int_eq(parse(longtag, strlen(longtag), &cmd, &error),
	    IMAP_PARSE_NO_TAG);
	longtag[IMAP_TAG_MAX - 1] = '\0';
	ck_assert_int_eq(parse(longtag, strlen(longtag), &cmd, &error),
	    IMAP_PARSE_BAD);
	ck_assert_str_eq(error, "Missing command");
}
END_TEST

/* A tag alone, or a tag and a space, has no command. */
START_TEST(test_missing_command)
{
	assert_bad("A1", "A1");
	assert_bad("A1 ", "A1");
	assert_bad("A1 (NOOP)", "A1");
}
END_TEST

/* Atoms and quoted strings, with escapes and spaces inside. */
START_TEST(test_login_quoted)
{
	static const char line[] = "A1 LOGIN \"scan ner\" \"p\\\"w\\\\d\"";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, strlen(line), &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 2);
	assert_arg(&cmd, 0, IMAP_ARG_STRING, "scan ner", 8);
	assert_arg(&cmd, 1, IMAP_ARG_STRING, "p\"w\\d", 5);
}
END_TEST

/* Atoms keep "]" and "}"; an empty quoted string is a string. */
START_TEST(test_atoms)
{
	static const char line[] = "A1 LOGIN user@x.test] p}w \"\"";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, strlen(line), &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 3);
	assert_arg(&cmd, 0, IMAP_ARG_ATOM, "user@x.test]", 12);
	assert_arg(&cmd, 1, IMAP_ARG_ATOM, "p}w", 3);
	assert_arg(&cmd, 2, IMAP_ARG_STRING, "", 0);
}
END_TEST

/* Synchronizing and non-synchronizing literals, bytes taken as they are. */
START_TEST(test_literals)
{
	static const char line[] = "A1 LOGIN {5}\r\nsc\"n\\ {4+}\r\nx y\r";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, sizeof(line) - 1, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 2);
	assert_arg(&cmd, 0, IMAP_ARG_STRING, "sc\"n\\", 5);
	assert_arg(&cmd, 1, IMAP_ARG_STRING, "x y\r", 4);
}
END_TEST

/* An empty literal, and a literal as the last argument of a list. */
START_TEST(test_literal_empty_and_list)
{
	static const char line[] = "A1 ID (\"name\" {0}\r\n)";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, sizeof(line) - 1, &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 4);
	assert_arg(&cmd, 0, IMAP_ARG_LIST_OPEN, "(", 1);
	assert_arg(&cmd, 1, IMAP_ARG_STRING, "name", 4);
	assert_arg(&cmd, 2, IMAP_ARG_STRING, "", 0);
	assert_arg(&cmd, 3, IMAP_ARG_LIST_CLOSE, ")", 1);
}
END_TEST

/* ID with NIL and with a parameter list. */
START_TEST(test_id)
{
	static const char line[] = "A1 ID (\"name\" \"copier\" \"os\" NIL)";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, strlen(line), &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 6);
	assert_arg(&cmd, 4, IMAP_ARG_ATOM, "NIL", 3);
	ck_assert_int_eq(cmd.args[5].type, IMAP_ARG_LIST_CLOSE);
	ck_assert_int_eq(parse("A1 ID NIL", 9, &cmd, &error), IMAP_PARSE_OK);
	assert_arg(&cmd, 0, IMAP_ARG_ATOM, "NIL", 3);
}
END_TEST

/* Extra spaces between and after arguments are tolerated. */
START_TEST(test_spaces)
{
	static const char line[] = "A1 LOGIN  a   b  ";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(line, strlen(line), &cmd, &error),
	    IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, 2);
	assert_arg(&cmd, 1, IMAP_ARG_ATOM, "b", 1);
}
END_TEST

/* Malformed commands are BAD with the tag kept. */
START_TEST(test_bad_syntax)
{
	static const char *const bad[] = {
		"A1 LOGIN \"user pass",		/* unterminated quote */
		"A1 LOGIN \"a\\b\" c",		/* bad escape */
		"A1 LOGIN \"a\\",		/* escape at the end */
		"A1 LOGIN \"a\"b",		/* no space after a string */
		"A1 LOGIN a\"b\"",		/* quote inside an atom */
		"A1 LOGIN a\\b c",		/* backslash in an atom */
		"A1 LOGIN a* b",		/* wildcard in an atom */
		"A1 LOGIN a\x01 b",		/* control character */
		"A1 LOGIN \xc3\xa9 b",		/* 8-bit atom */
		"A1 ID (\"a\"",			/* unbalanced ( */
		"A1 ID \"a\")",			/* unbalanced ) */
		"A1 ID ((\"a\")",		/* unbalanced nested */
		"A1 LOGIN {x}",			/* bad literal */
		"A1 LOGIN {}",			/* no digits */
		"A1 LOGIN {5}",			/* no CRLF, no data */
		"A1 LOGIN {5}\r\nabc",		/* short literal */
		"A1 LOGIN {3}\nabc",		/* bare LF */
		"A1 LOGIN {99999999999}\r\n",	/* too many digits */
		"A1 LOGIN {4294967296}\r\n",	/* over 32 bits */
		"A1 LOGIN {2}\r\nab{2}\r\ncd",	/* no space after a literal */
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_bad(bad[i], "A1");
}
END_TEST

/* A NUL in a literal or a quoted string is refused. */
START_TEST(test_bad_nul)
{
	static const char lit[] = "A1 LOGIN {3}\r\na\0b c";
	static const char quo[] = "A1 LOGIN \"a\0b\" c";
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(parse(lit, sizeof(lit) - 1, &cmd, &error),
	    IMAP_PARSE_BAD);
	ck_assert_str_eq(error, "NUL in literal");
	ck_assert_int_eq(parse(quo, sizeof(quo) - 1, &cmd, &error),
	    IMAP_PARSE_BAD);
}
END_TEST

/* More than IMAP_ARGS_MAX arguments are refused. */
START_TEST(test_too_many_args)
{
	char line[4 + 5 + 2 * (IMAP_ARGS_MAX + 1) + 1];
	struct imap_command cmd;
	const char *error;
	size_t i, n;

	n = (size_t)snprintf(line, sizeof(line), "A1 ID");
	for (i = 0; i < IMAP_ARGS_MAX; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, " x");
	ck_assert_int_eq(parse(line, n, &cmd, &error), IMAP_PARSE_OK);
	ck_assert_uint_eq(cmd.nargs, IMAP_ARGS_MAX);
	n += (size_t)snprintf(line + n, sizeof(line) - n, " x");
	ck_assert_int_eq(parse(line, n, &cmd, &error), IMAP_PARSE_BAD);
	ck_assert_str_eq(error, "Too many arguments");
}
END_TEST

/* An arena smaller than documented cannot overflow: "Command too long". */
START_TEST(test_small_arena)
{
	static const char line[] = "A1 LOGIN {8}\r\n12345678 b";
	char arena[8];
	struct imap_command cmd;
	const char *error;

	ck_assert_int_eq(imap_parse_command(line, sizeof(line) - 1, arena,
	    sizeof(arena), &cmd, &error), IMAP_PARSE_BAD);
	ck_assert_str_eq(error, "Command too long");
}
END_TEST

/* Literal announcements at the end of a line. */
START_TEST(test_literal_announcement)
{
	static const struct {
		const char	*line;
		enum imap_literal want;
		size_t		 size;
	} v[] = {
		{ "A1 LOGIN {5}", IMAP_LITERAL_SYNC, 5 },
		{ "A1 LOGIN {0}", IMAP_LITERAL_SYNC, 0 },
		{ "A1 LOGIN user {1024+}", IMAP_LITERAL_NONSYNC, 1024 },
		{ "A1 LOGIN {4294967295}", IMAP_LITERAL_SYNC, 4294967295u },
		{ "A1 LOGIN {4294967296}", IMAP_LITERAL_BAD, 0 },
		{ "A1 LOGIN {12345678901}", IMAP_LITERAL_BAD, 0 },
		{ "A1 LOGIN user pass", IMAP_LITERAL_NONE, 0 },
		{ "A1 LOGIN user pa}", IMAP_LITERAL_NONE, 0 },
		{ "A1 LOGIN {}", IMAP_LITERAL_NONE, 0 },
		{ "A1 LOGIN {+}", IMAP_LITERAL_NONE, 0 },
		{ "A1 LOGIN {5x}", IMAP_LITERAL_NONE, 0 },
		{ "5}", IMAP_LITERAL_NONE, 0 },
		{ "", IMAP_LITERAL_NONE, 0 },
	};
	size_t i, size;

	for (i = 0; i < nitems(v); i++) {
		size = 0;
		ck_assert_msg(imap_parse_literal(v[i].line, strlen(v[i].line),
		    &size) == v[i].want, "wrong verdict for \"%s\"",
		    v[i].line);
		if (v[i].want == IMAP_LITERAL_SYNC ||
		    v[i].want == IMAP_LITERAL_NONSYNC)
			ck_assert_uint_eq(size, v[i].size);
	}
}
END_TEST

/* Tagged, untagged and continuation responses from a server. */
START_TEST(test_responses)
{
	static const char ok[] = "tr1 OK [CAPABILITY IMAP4rev1 IDLE] Logged in";
	static const char no[] = "tr2 NO [AUTHENTICATIONFAILED] Bad password";
	struct imap_response r;

	ck_assert(imap_parse_response(ok, strlen(ok), &r));
	ck_assert_int_eq(r.kind, IMAP_RESPONSE_TAGGED);
	ck_assert_str_eq(r.tag, "tr1");
	ck_assert_int_eq(r.status, IMAP_STATUS_OK);
	ck_assert_str_eq(r.rest, "OK [CAPABILITY IMAP4rev1 IDLE] Logged in");
	ck_assert(r.has_caps);
	ck_assert_uint_eq(r.caps, IMAP_CAP_IMAP4REV1);
	ck_assert(imap_parse_response(no, strlen(no), &r));
	ck_assert_int_eq(r.status, IMAP_STATUS_NO);
	ck_assert(imap_response_has_code(r.text, "AUTHENTICATIONFAILED"));
	ck_assert(!imap_response_has_code(r.text, "AUTHENTICATION"));
	ck_assert(!r.has_caps);
	ck_assert(imap_parse_response("+ ", 2, &r));
	ck_assert_int_eq(r.kind, IMAP_RESPONSE_CONTINUE);
	ck_assert_str_eq(r.text, "");
	ck_assert(imap_parse_response("+", 1, &r));
	ck_assert(imap_parse_response("* PREAUTH welcome", 17, &r));
	ck_assert_int_eq(r.kind, IMAP_RESPONSE_UNTAGGED);
	ck_assert_int_eq(r.status, IMAP_STATUS_PREAUTH);
	ck_assert_str_eq(r.text, "welcome");
	ck_assert(imap_parse_response("* BYE", 5, &r));
	ck_assert_int_eq(r.status, IMAP_STATUS_BYE);
	ck_assert_str_eq(r.text, "");
	ck_assert(imap_parse_response("* 3 EXISTS", 10, &r));
	ck_assert_int_eq(r.status, IMAP_STATUS_OTHER);
}
END_TEST

/* Capabilities from a greeting code and from "* CAPABILITY". */
START_TEST(test_response_caps)
{
	static const char greet[] = "* OK [CAPABILITY IMAP4rev1 SASL-IR "
	    "LITERAL+ STARTTLS AUTH=PLAIN] Dovecot ready.";
	static const char list[] = "* CAPABILITY imap4rev1 logindisabled "
	    "AUTH=PLAINX AUTH=LOGIN AUTH=XOAUTH2X";
	static const char exo[] = "* CAPABILITY IMAP4 IMAP4rev1 AUTH=PLAIN "
	    "AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE "
	    "LITERAL+";
	struct imap_response r;

	ck_assert(imap_parse_response(greet, strlen(greet), &r));
	ck_assert(r.has_caps);
	ck_assert_uint_eq(r.caps, IMAP_CAP_IMAP4REV1 | IMAP_CAP_SASL_IR |
	    IMAP_CAP_LITERALPLUS | IMAP_CAP_STARTTLS | IMAP_CAP_AUTH_PLAIN);
	ck_assert(imap_parse_response(list, strlen(list), &r));
	ck_assert_int_eq(r.status, IMAP_STATUS_CAPABILITY);
	ck_assert(r.has_caps);
	ck_assert_uint_eq(r.caps, IMAP_CAP_IMAP4REV1 | IMAP_CAP_LOGINDISABLED);
	ck_assert(imap_parse_response(exo, strlen(exo), &r));
	ck_assert_uint_eq(r.caps, IMAP_CAP_IMAP4REV1 | IMAP_CAP_AUTH_PLAIN |
	    IMAP_CAP_AUTH_XOAUTH2 | IMAP_CAP_SASL_IR | IMAP_CAP_LITERALPLUS);
	ck_assert(imap_parse_response("* OK ready", 10, &r));
	ck_assert(!r.has_caps);
}
END_TEST

/* Lines that are no response at all. */
START_TEST(test_responses_invalid)
{
	static const char *const bad[] = {
		"", "*", "* ", "tr1", "tr1 ", "+x", "(x) OK", "tr1  OK",
	};
	struct imap_response r;
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(!imap_parse_response(bad[i], strlen(bad[i]), &r),
		    "accepted \"%s\"", bad[i]);
}
END_TEST

/* The capability list follows the device's policy. */
START_TEST(test_capabilities)
{
	char buf[256];

	imap_capabilities(buf, sizeof(buf), true, false);
	ck_assert_str_eq(buf, "IMAP4rev1 SASL-IR LITERAL+ ID STARTTLS "
	    "LOGINDISABLED");
	imap_capabilities(buf, sizeof(buf), false, true);
	ck_assert_str_eq(buf, "IMAP4rev1 SASL-IR LITERAL+ ID AUTH=PLAIN "
	    "AUTH=LOGIN");
	imap_capabilities(buf, sizeof(buf), true, true);
	ck_assert_str_eq(buf, "IMAP4rev1 SASL-IR LITERAL+ ID STARTTLS "
	    "AUTH=PLAIN AUTH=LOGIN");
	imap_capabilities(buf, sizeof(buf), false, false);
	ck_assert_str_eq(buf, "IMAP4rev1 SASL-IR LITERAL+ ID LOGINDISABLED");
}
END_TEST

/* Quoting escapes " and \, and refuses what needs a literal. */
START_TEST(test_quote)
{
	char buf[32];

	ck_assert(imap_quote("scanner@x", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"scanner@x\"");
	ck_assert(imap_quote("a\"b\\c d", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"a\\\"b\\\\c d\"");
	ck_assert(imap_quote("", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "\"\"");
	ck_assert(!imap_quote("a\r\nb", buf, sizeof(buf)));
	ck_assert(!imap_quote("caf\xc3\xa9", buf, sizeof(buf)));
	ck_assert(!imap_quote("0123456789", buf, 8));
}
END_TEST

/* A command with a synchronising and a non-synchronising literal is
 * assembled from its lines and bytes, then parses. */
START_TEST(test_assemble)
{
	struct imap_assembly a;
	struct imap_command cmd;
	struct evbuffer *in = evbuffer_new();
	enum imap_literal lit;
	const char *error;

	ck_assert(imap_assembly_init(&a, 100));
	ck_assert_int_eq(add_line(&a, "a1 LOGIN {4}", &lit),
	    IMAP_ASSEMBLE_LITERAL);
	ck_assert_int_eq(lit, IMAP_LITERAL_SYNC);
	evbuffer_add(in, "us", 2);
	ck_assert(!imap_assemble_literal(&a, in));
	ck_assert_uint_eq(evbuffer_get_length(in), 2);
	evbuffer_add(in, "erX", 3);
	ck_assert(imap_assemble_literal(&a, in));
	ck_assert_uint_eq(evbuffer_get_length(in), 1);
	ck_assert_int_eq(add_line(&a, " {2+}", &lit), IMAP_ASSEMBLE_LITERAL);
	ck_assert_int_eq(lit, IMAP_LITERAL_NONSYNC);
	evbuffer_add(in, "w", 1);
	ck_assert(imap_assemble_literal(&a, in));
	ck_assert_int_eq(add_line(&a, "", &lit), IMAP_ASSEMBLE_DONE);
	ck_assert_int_eq(parse(a.buf, a.len, &cmd, &error), IMAP_PARSE_OK);
	ck_assert_int_eq(cmd.verb, IMAP_VERB_LOGIN);
	assert_arg(&cmd, 0, IMAP_ARG_STRING, "user", 4);
	assert_arg(&cmd, 1, IMAP_ARG_STRING, "Xw", 2);
	imap_assembly_clear(&a);
	ck_assert_uint_eq(a.len, 0);
	ck_assert_uint_eq(a.nliterals, 0);
	imap_assembly_free(&a);
	evbuffer_free(in);
}
END_TEST

/* Literals over the pre-login limits, too many of them, and malformed
 * announcements are refused. */
START_TEST(test_assemble_limits)
{
	struct imap_assembly a;
	struct evbuffer *in = evbuffer_new();
	enum imap_literal lit;
	unsigned i;

	ck_assert(imap_assembly_init(&a, 100));
	ck_assert_int_eq(add_line(&a, "a {1025}", &lit),
	    IMAP_ASSEMBLE_TOO_LARGE);
	imap_assembly_clear(&a);
	ck_assert_int_eq(add_line(&a, "a {1+}", &lit), IMAP_ASSEMBLE_LITERAL);
	ck_assert_int_eq(lit, IMAP_LITERAL_NONSYNC);
	for (i = 1; i < IMAP_LITERALS_MAX; i++) {
		evbuffer_add(in, "x", 1);
		ck_assert(imap_assemble_literal(&a, in));
		ck_assert_int_eq(add_line(&a, " {1}", &lit),
		    IMAP_ASSEMBLE_LITERAL);
	}
	evbuffer_add(in, "x", 1);
	ck_assert(imap_assemble_literal(&a, in));
	ck_assert_int_eq(add_line(&a, " {1}", &lit),
	    IMAP_ASSEMBLE_TOO_LARGE);
	imap_assembly_clear(&a);
	ck_assert_int_eq(add_line(&a, "a {99999999999}", &lit),
	    IMAP_ASSEMBLE_BAD);
	imap_assembly_free(&a);
	evbuffer_free(in);
}
END_TEST

/* Build the IMAP parsing suite. */
Suite *
imap_parse_suite(void)
{
	Suite *s = suite_create("imap_parse");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_add_test(tc, test_tags_and_verbs);
	tcase_add_test(tc, test_tag_invalid);
	tcase_add_test(tc, test_missing_command);
	tcase_add_test(tc, test_login_quoted);
	tcase_add_test(tc, test_atoms);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_literal_empty_and_list);
	tcase_add_test(tc, test_id);
	tcase_add_test(tc, test_spaces);
	tcase_add_test(tc, test_bad_syntax);
	tcase_add_test(tc, test_bad_nul);
	tcase_add_test(tc, test_too_many_args);
	tcase_add_test(tc, test_small_arena);
	tcase_add_test(tc, test_literal_announcement);
	tcase_add_test(tc, test_assemble);
	tcase_add_test(tc, test_assemble_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_add_test(tc, test_responses);
	tcase_add_test(tc, test_response_caps);
	tcase_add_test(tc, test_responses_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("capabilities");
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_quote);
	suite_add_tcase(s, tc);
	return s;
}
