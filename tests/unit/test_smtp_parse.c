/* Unit tests for smtp_parse.c: command verbs, reply lines, EHLO
 * capabilities and MAIL senders. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "smtp_parse.h"
#include "suites.h"
#include "util.h"

static void	assert_verb(const char *, enum smtp_verb, const char *);
static void	assert_reply(const char *, int, bool, const char *);
static void	assert_bad_reply(const char *);
static void	assert_mail(const char *, const char *, const char *);
static void	assert_bad_mail(const char *);
static void	assert_caps(const char *const *, bool, bool, bool, bool);

/* Parse line and compare its verb and argument. */
static void
assert_verb(const char *line, enum smtp_verb verb, const char *arg)
{
	const char *got = NULL;

	ck_assert_int_eq(smtp_parse_verb(line, &got), verb);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, arg);
}

/* Parse a valid reply line and compare its parts. */
static void
assert_reply(const char *line, int code, bool last, const char *text)
{
	struct smtp_reply_line r;

	ck_assert_msg(smtp_parse_reply_line(line, strlen(line), &r),
	    "refused \"%s\"", line);
	ck_assert_int_eq(r.code, code);
	ck_assert(r.last == last);
	ck_assert_str_eq(r.text, text);
}

/* Check that a reply line is refused. */
static void
assert_bad_reply(const char *line)
{
	struct smtp_reply_line r;

	ck_assert_msg(!smtp_parse_reply_line(line, strlen(line), &r),
	    "accepted \"%s\"", line);
}

/* Parse a valid MAIL argument and compare the address and parameters. */
static void
assert_mail(const char *arg, const char *addr, const char *params)
{
	char got[SMTP_ADDR_MAX];
	const char *rest = NULL;

	ck_assert_msg(smtp_parse_mail_from(arg, got, sizeof(got), &rest),
	    "refused \"%s\"", arg);
	ck_assert_str_eq(got, addr);
	ck_assert_ptr_nonnull(rest);
	ck_assert_str_eq(rest, params);
}

/* Check that a MAIL argument is refused. */
static void
assert_bad_mail(const char *arg)
{
	char got[SMTP_ADDR_MAX];
	const char *rest;

	ck_assert_msg(!smtp_parse_mail_from(arg, got, sizeof(got), &rest),
	    "accepted \"%s\"", arg);
}

/* Note every line of an EHLO reply and compare the capabilities. */
static void
assert_caps(const char *const *lines, bool starttls, bool plain, bool login,
    bool xoauth2)
{
	struct smtp_caps c = { 0 };

	for (; *lines != NULL; lines++)
		smtp_parse_capability(*lines, &c);
	ck_assert(c.starttls == starttls);
	ck_assert(c.plain == plain);
	ck_assert(c.login == login);
	ck_assert(c.xoauth2 == xoauth2);
}

/* Every verb is recognised, with or without an argument. */
START_TEST(test_verbs_all)
{
	static const struct {
		const char	*line;
		enum smtp_verb	 verb;
	} v[] = {
		{ "HELO", SMTP_VERB_HELO }, { "EHLO", SMTP_VERB_EHLO },
		{ "STARTTLS", SMTP_VERB_STARTTLS }, { "AUTH", SMTP_VERB_AUTH },
		{ "MAIL", SMTP_VERB_MAIL }, { "RCPT", SMTP_VERB_RCPT },
		{ "DATA", SMTP_VERB_DATA }, { "BDAT", SMTP_VERB_BDAT },
		{ "RSET", SMTP_VERB_RSET }, { "NOOP", SMTP_VERB_NOOP },
		{ "QUIT", SMTP_VERB_QUIT }, { "HELP", SMTP_VERB_HELP },
		{ "VRFY", SMTP_VERB_VRFY }, { "EXPN", SMTP_VERB_EXPN },
	};
	char line[32];
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		assert_verb(v[i].line, v[i].verb, "");
		snprintf(line, sizeof line, "%s x y", v[i].line);
		assert_verb(line, v[i].verb, "x y");
	}
}
END_TEST

/* Verbs match in any case. */
START_TEST(test_verbs_case)
{
	assert_verb("ehlo printer.lan", SMTP_VERB_EHLO, "printer.lan");
	assert_verb("Mail FROM:<a@b>", SMTP_VERB_MAIL, "FROM:<a@b>");
	assert_verb("starttls", SMTP_VERB_STARTTLS, "");
	assert_verb("qUiT", SMTP_VERB_QUIT, "");
}
END_TEST

/* The argument is everything after the first space. */
START_TEST(test_verbs_args)
{
	assert_verb("MAIL FROM:<a>", SMTP_VERB_MAIL, "FROM:<a>");
	assert_verb("RCPT TO:<x@y> NOTIFY=NEVER", SMTP_VERB_RCPT,
	    "TO:<x@y> NOTIFY=NEVER");
	assert_verb("AUTH PLAIN AHVzZXIAcGFzcw==", SMTP_VERB_AUTH,
	    "PLAIN AHVzZXIAcGFzcw==");
	assert_verb("EHLO ", SMTP_VERB_EHLO, "");
	assert_verb("BDAT 100 LAST", SMTP_VERB_BDAT, "100 LAST");
	ck_assert_int_eq(smtp_parse_verb("NOOP", NULL), SMTP_VERB_NOOP);
}
END_TEST

/* Anything not exactly a verb followed by a space or the end is unknown. */
START_TEST(test_verbs_unknown)
{
	assert_verb("EHLOx", SMTP_VERB_UNKNOWN, "");
	assert_verb("EHL", SMTP_VERB_UNKNOWN, "");
	assert_verb("", SMTP_VERB_UNKNOWN, "");
	assert_verb(" EHLO", SMTP_VERB_UNKNOWN, "EHLO");
	assert_verb("EHLO\tx", SMTP_VERB_UNKNOWN, "");
	assert_verb("MAIL:FROM:<a>", SMTP_VERB_UNKNOWN, "");
	assert_verb("XCLIENT ADDR=1.2.3.4", SMTP_VERB_UNKNOWN, "ADDR=1.2.3.4");
	assert_verb("STARTTLSX", SMTP_VERB_UNKNOWN, "");
}
END_TEST

/* Continuation, last and bare reply lines are valid. */
START_TEST(test_reply_valid)
{
	assert_reply("250-SIZE 35882577", 250, false, "SIZE 35882577");
	assert_reply("250 OK", 250, true, "OK");
	assert_reply("250 ", 250, true, "");
	assert_reply("250-", 250, false, "");
	assert_reply("250", 250, true, "");
	assert_reply("220 ready", 220, true, "ready");
	assert_reply("334 VXNlcm5hbWU6", 334, true, "VXNlcm5hbWU6");
	assert_reply("421-4.7.0 closing", 421, false, "4.7.0 closing");
	assert_reply("599 x", 599, true, "x");
}
END_TEST

/* Lines that are not reply lines are refused. */
START_TEST(test_reply_invalid)
{
	static const char *const bad[] = {
		"2500", "250x", "abc", "150 x", "650 x", "050 x", "", "2",
		"25", "25 OK", "2a0 OK", "25a", " 250 OK", "250\tOK", "250_OK",
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_bad_reply(bad[i]);
}
END_TEST

/* Only len bytes of the line are considered. */
START_TEST(test_reply_length)
{
	struct smtp_reply_line r;

	ck_assert(smtp_parse_reply_line("250x", 3, &r));
	ck_assert_int_eq(r.code, 250);
	ck_assert(r.last);
	ck_assert_str_eq(r.text, "");
	ck_assert(!smtp_parse_reply_line("250 OK", 2, &r));
}
END_TEST

/* The reverse-path in its usual forms, with and without parameters. */
START_TEST(test_mail_valid)
{
	assert_mail("FROM:<scanner@example.org>", "scanner@example.org", "");
	assert_mail("from:<a@b>", "a@b", "");
	assert_mail("FROM:<a@b> SIZE=1000 BODY=8BITMIME", "a@b",
	    "SIZE=1000 BODY=8BITMIME");
	assert_mail("FROM:<a@b>  AUTH=<>", "a@b", "AUTH=<>");
	assert_mail("FROM:<>", "", "");
	assert_mail("FROM:<> SIZE=10", "", "SIZE=10");
	assert_mail("FROM:<@relay1,@relay2:a@b>", "a@b", "");
	assert_mail("FROM:<\"john doe\"@example.org>",
	    "\"john doe\"@example.org", "");
	assert_mail("FROM:<\"a>b\\\"c\"@x>", "\"a>b\\\"c\"@x", "");
	assert_mail("FROM:<a@[192.0.2.1]>", "a@[192.0.2.1]", "");
}
END_TEST

/* Forms legacy devices send: a space after the colon, no brackets. */
START_TEST(test_mail_legacy)
{
	assert_mail("FROM: <copier@example.org>", "copier@example.org", "");
	assert_mail("FROM:  <a@b> SIZE=5", "a@b", "SIZE=5");
	assert_mail("FROM:copier@example.org", "copier@example.org", "");
	assert_mail("FROM: copier@example.org SIZE=5", "copier@example.org",
	    "SIZE=5");
}
END_TEST

/* Malformed arguments are refused. */
START_TEST(test_mail_invalid)
{
	static const char *const bad[] = {
		"", "FROM", "FROM:", "FROM: ", "TO:<a@b>", "FROM <a@b>",
		"FROM:<a@b", "FROM:<a@b>x", "FROM:<a@b>SIZE=1", "FROM:<a b@c>",
		"FROM:<a<b@c>", "FROM:<\"a@b>", "FROM:<a@b\tc>",
		"FROM:<a@b\x80>", "FROM:<a@\x01b>", "FROM:a@b>",
		"FROM:<@relay:a@b", "FROM:<@relay a@b>", "FROM:<@relay>",
		"FROM:\"a b@c", "FROM:<\"a\\\x01\"@b>", "FROM:<\"a\\",
		"FROM:<<a@b>>",
		/* bare "@..." is neither: in brackets it is a source route */
		"FROM:@L(OROO", "FROM:@relay:a@b",
		/* nor may the address after a source route start with "@" */
		"FROM:<@relay:@b>",
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_bad_mail(bad[i]);
}
END_TEST

/* An address must leave room for its NUL. */
START_TEST(test_mail_length)
{
	char arg[600], want[SMTP_ADDR_MAX], addr[8];
	const char *rest;

	ck_assert(smtp_parse_mail_from("FROM:<abc@efg>", addr, sizeof(addr),
	    &rest));
	ck_assert_str_eq(addr, "abc@efg");
	ck_assert(!smtp_parse_mail_from("FROM:<abc@efgh>", addr, sizeof(addr),
	    &rest));
	ck_assert(!smtp_parse_mail_from("FROM:abc@efgh", addr, sizeof(addr),
	    &rest));
	memset(arg, 'a', sizeof(arg));
	memcpy(arg, "FROM:<", 6);
	memcpy(arg + 6 + SMTP_ADDR_MAX, ">", 2);
	assert_bad_mail(arg);
	memcpy(arg + 6 + SMTP_ADDR_MAX - 1, ">", 2);
	memset(want, 'a', sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	assert_mail(arg, want, "");
}
END_TEST

/* The device's senders, or its mailbox when it has none. */
START_TEST(test_sender_allowed)
{
	static char *const senders[] = {
		"scanner@example.org", "Alerts@Example.ORG",
	};

	ck_assert(smtp_sender_allowed("box@example.org", "box@example.org",
	    NULL, 0));
	ck_assert(smtp_sender_allowed("BOX@Example.Org", "box@example.org",
	    NULL, 0));
	ck_assert(!smtp_sender_allowed("other@example.org", "box@example.org",
	    NULL, 0));
	ck_assert(!smtp_sender_allowed("box@example.org.evil",
	    "box@example.org", NULL, 0));
	ck_assert(!smtp_sender_allowed("a@b", NULL, NULL, 0));
	ck_assert(smtp_sender_allowed("scanner@example.org", "box@example.org",
	    senders, nitems(senders)));
	ck_assert(smtp_sender_allowed("alerts@example.org", "box@example.org",
	    senders, nitems(senders)));
	ck_assert(!smtp_sender_allowed("box@example.org", "box@example.org",
	    senders, nitems(senders)));
	ck_assert(!smtp_sender_allowed("scanner@example.or", "box@example.org",
	    senders, nitems(senders)));
}
END_TEST

/* The null sender is never allowed: devices do not bounce. */
START_TEST(test_sender_null)
{
	static char *const senders[] = { "" };

	ck_assert(!smtp_sender_allowed("", "box@example.org", NULL, 0));
	ck_assert(!smtp_sender_allowed("", "", NULL, 0));
	ck_assert(!smtp_sender_allowed("", "box@example.org", senders, 1));
}
END_TEST

/* HELO/EHLO as appliances send them: the argument (a name, an address
 * literal with colons, or nothing) is passed on whole, never split. */
START_TEST(test_verbs_helo_variants)
{
	assert_verb("HELO printer", SMTP_VERB_HELO, "printer");
	assert_verb("EHLO [192.0.2.7]", SMTP_VERB_EHLO, "[192.0.2.7]");
	assert_verb("EHLO [IPv6:2001:db8::7]", SMTP_VERB_EHLO,
	    "[IPv6:2001:db8::7]");
	assert_verb("helo", SMTP_VERB_HELO, "");
	assert_verb("HELO ", SMTP_VERB_HELO, "");
	assert_verb("EHLO", SMTP_VERB_EHLO, "");
	assert_verb("EHLO printer.lan extra", SMTP_VERB_EHLO,
	    "printer.lan extra");
}
END_TEST

/* AUTH with and without an initial response: the mechanism alone, or the
 * mechanism, a space and the base64 response. */
START_TEST(test_verbs_auth_initial_response)
{
	assert_verb("AUTH PLAIN", SMTP_VERB_AUTH, "PLAIN");
	assert_verb("auth plain", SMTP_VERB_AUTH, "plain");
	assert_verb("AUTH LOGIN", SMTP_VERB_AUTH, "LOGIN");
	assert_verb("AUTH LOGIN c2Nhbm5lckBleGFtcGxlLnRlc3Q=", SMTP_VERB_AUTH,
	    "LOGIN c2Nhbm5lckBleGFtcGxlLnRlc3Q=");
	assert_verb("AUTH PLAIN =", SMTP_VERB_AUTH, "PLAIN =");
}
END_TEST

/* A reply goes on while its lines keep the first line's code. */
START_TEST(test_reply_next)
{
	struct smtp_reply_line r;

	ck_assert(smtp_parse_reply_next(0, "250-a", 5, &r));
	ck_assert(smtp_parse_reply_next(250, "250 b", 5, &r));
	ck_assert(r.last);
	ck_assert(!smtp_parse_reply_next(250, "251 b", 5, &r));
	ck_assert(!smtp_parse_reply_next(250, "25", 2, &r));
	ck_assert(!smtp_parse_reply_next(0, "hello", 5, &r));
}
END_TEST

/* STARTTLS and the mechanisms of AUTH lines, in either form and any
 * case; look-alike words do not count. */
START_TEST(test_capabilities)
{
	static const char *const exchange[] = { "smtp.example.test Hello",
		"SIZE 157286400", "STARTTLS", "AUTH LOGIN XOAUTH2", NULL };
	static const char *const old[] = { "AUTH=PLAIN login", NULL };
	static const char *const fake[] = { "AUTHX PLAIN", "AUTH PLAINX",
		"AUTH XPLAIN LOGINS", "X STARTTLS", "STARTTLSX", "AUTH",
		"AUTH ", NULL };
	static const char *const spaces[] = { "auth   plain  xoauth2 ", NULL };

	assert_caps(exchange, true, false, true, true);
	assert_caps(old, false, true, true, false);
	assert_caps(fake, false, false, false, false);
	assert_caps(spaces, false, true, false, true);
}
END_TEST

/* Build the SMTP parsing suite. */
Suite *
smtp_parse_suite(void)
{
	Suite *s = suite_create("smtp_parse");
	TCase *tc;

	tc = tcase_create("verbs");
	tcase_add_test(tc, test_verbs_all);
	tcase_add_test(tc, test_verbs_case);
	tcase_add_test(tc, test_verbs_args);
	tcase_add_test(tc, test_verbs_unknown);
	tcase_add_test(tc, test_verbs_helo_variants);
	tcase_add_test(tc, test_verbs_auth_initial_response);
	suite_add_tcase(s, tc);

	tc = tcase_create("replies");
	tcase_add_test(tc, test_reply_valid);
	tcase_add_test(tc, test_reply_invalid);
	tcase_add_test(tc, test_reply_length);
	tcase_add_test(tc, test_reply_next);
	tcase_add_test(tc, test_capabilities);
	suite_add_tcase(s, tc);

	tc = tcase_create("senders");
	tcase_add_test(tc, test_mail_valid);
	tcase_add_test(tc, test_mail_legacy);
	tcase_add_test(tc, test_mail_invalid);
	tcase_add_test(tc, test_mail_length);
	tcase_add_test(tc, test_sender_allowed);
	tcase_add_test(tc, test_sender_null);
	suite_add_tcase(s, tc);
	return s;
}
