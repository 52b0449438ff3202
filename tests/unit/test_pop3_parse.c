/* Unit tests for pop3_parse.c: commands, responses, CAPA, end of answers. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "pop3_parse.h"
#include "suites.h"
#include "util.h"

/* The outcome of feeding chunks to the body scanner. */
struct scan_run {
	char	out[256];	/* what was passed on */
	char	left[64];	/* what stayed in the input */
	bool	ended;
};

static void	assert_cmd(const char *, enum pop3_cmd_status, enum pop3_verb);
static void	assert_canonical(const char *, const char *, bool);
static void	assert_mech(const char *, enum pop3_mech, const char *);
static void	assert_status(const char *, enum pop3_status, const char *);
static void	assert_capa(const struct pop3_policy *, const char *);
static void	scan_chunks(const char *const *, struct scan_run *);

/* Parse line and compare its status and verb. */
static void
assert_cmd(const char *line, enum pop3_cmd_status status, enum pop3_verb verb)
{
	struct pop3_cmd cmd;

	ck_assert_msg(pop3_parse_command(line, strlen(line), &cmd) == status,
	    "status of \"%s\"", line);
	ck_assert_msg(cmd.verb == verb, "verb of \"%s\"", line);
}

/* A valid command's canonical form and whether its answer is multi-line. */
static void
assert_canonical(const char *line, const char *canonical, bool multiline)
{
	struct pop3_cmd cmd;
	char buf[POP3_CMD_LINE];

	ck_assert_msg(pop3_parse_command(line, strlen(line), &cmd) ==
	    POP3_CMD_OK, "refused \"%s\"", line);
	pop3_cmd_format(&cmd, buf, sizeof(buf));
	ck_assert_str_eq(buf, canonical);
	ck_assert_msg(pop3_cmd_multiline(&cmd) == multiline,
	    "multi-line of \"%s\"", line);
}

/* Split an AUTH argument and compare mechanism and initial response. */
static void
assert_mech(const char *arg, enum pop3_mech mech, const char *ir)
{
	const char *got;

	ck_assert_msg(pop3_parse_auth(arg, &got) == mech, "mech of \"%s\"",
	    arg);
	if (ir == NULL)
		ck_assert_ptr_null(got);
	else
		ck_assert_str_eq(got, ir);
}

/* Classify a response line and compare the text after the status. */
static void
assert_status(const char *line, enum pop3_status status, const char *text)
{
	const char *got;

	ck_assert_msg(pop3_parse_status(line, &got) == status,
	    "status of \"%s\"", line);
	if (text != NULL)
		ck_assert_str_eq(got, text);
}

/* The CAPA lines for a policy, joined by '|', must be want. */
static void
assert_capa(const struct pop3_policy *p, const char *want)
{
	const char *caps[POP3_CAPA_MAX];
	char got[256] = "";
	size_t i, n = pop3_capa_list(p, caps);

	ck_assert_uint_le(n, POP3_CAPA_MAX);
	for (i = 0; i < n; i++) {
		if (i > 0)
			strcat(got, "|");
		strcat(got, caps[i]);
	}
	ck_assert_str_eq(got, want);
}

/*
 * Feed NULL-terminated chunks to the scanner the way the session does:
 * append a chunk, move on what it reports until it waits or ends.
 */
static void
scan_chunks(const char *const *chunks, struct scan_run *r)
{
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum pop3_body b;
	bool line_start = true;
	size_t n, len;

	memset(r, 0, sizeof(*r));
	for (; *chunks != NULL && !r->ended; chunks++) {
		evbuffer_add(in, *chunks, strlen(*chunks));
		for (;;) {
			b = pop3_body_scan(in, &line_start, &n);
			if (b == POP3_BODY_WAIT)
				break;
			ck_assert_uint_gt(n, 0);
			evbuffer_remove_buffer(in, out, n);
			if (b == POP3_BODY_END) {
				r->ended = true;
				break;
			}
		}
	}
	len = evbuffer_get_length(out);
	ck_assert_uint_lt(len, sizeof(r->out));
	evbuffer_remove(out, r->out, len);
	len = evbuffer_get_length(in);
	ck_assert_uint_lt(len, sizeof(r->left));
	evbuffer_remove(in, r->left, len);
	evbuffer_free(in);
	evbuffer_free(out);
}

/* Every verb is recognised in any case, with the arguments it takes. */
START_TEST(test_cmd_verbs)
{
	assert_cmd("USER scanner@example.test", POP3_CMD_OK, POP3_VERB_USER);
	assert_cmd("pass s3cret", POP3_CMD_OK, POP3_VERB_PASS);
	assert_cmd("APOP u 0123", POP3_CMD_OK, POP3_VERB_APOP);
	assert_cmd("AUTH", POP3_CMD_OK, POP3_VERB_AUTH);
	assert_cmd("auth PLAIN AGEAYg==", POP3_CMD_OK, POP3_VERB_AUTH);
	assert_cmd("STLS", POP3_CMD_OK, POP3_VERB_STLS);
	assert_cmd("Capa", POP3_CMD_OK, POP3_VERB_CAPA);
	assert_cmd("QUIT", POP3_CMD_OK, POP3_VERB_QUIT);
	assert_cmd("STAT", POP3_CMD_OK, POP3_VERB_STAT);
	assert_cmd("LIST", POP3_CMD_OK, POP3_VERB_LIST);
	assert_cmd("LIST 7", POP3_CMD_OK, POP3_VERB_LIST);
	assert_cmd("RETR 1", POP3_CMD_OK, POP3_VERB_RETR);
	assert_cmd("dele 2", POP3_CMD_OK, POP3_VERB_DELE);
	assert_cmd("NOOP", POP3_CMD_OK, POP3_VERB_NOOP);
	assert_cmd("RSET", POP3_CMD_OK, POP3_VERB_RSET);
	assert_cmd("TOP 1 0", POP3_CMD_OK, POP3_VERB_TOP);
	assert_cmd("UIDL", POP3_CMD_OK, POP3_VERB_UIDL);
	assert_cmd("uidl 3", POP3_CMD_OK, POP3_VERB_UIDL);
}
END_TEST

/* A verb must be exact and followed by a space or the end. */
START_TEST(test_cmd_unknown)
{
	static const char *const bad[] = {
		"", " RETR 1", "RETR\t1", "RETRX 1", "RET", "XTND XMIT",
		"LAST", "EHLO x", "STLS2", "\r",
	};
	size_t i;

	for (i = 0; i < nitems(bad); i++)
		assert_cmd(bad[i], POP3_CMD_UNKNOWN, POP3_VERB_UNKNOWN);
}
END_TEST

/* Bad arguments are a syntax error of the recognised verb. */
START_TEST(test_cmd_syntax)
{
	assert_cmd("USER", POP3_CMD_SYNTAX, POP3_VERB_USER);
	assert_cmd("USER ", POP3_CMD_SYNTAX, POP3_VERB_USER);
	assert_cmd("PASS", POP3_CMD_SYNTAX, POP3_VERB_PASS);
	assert_cmd("RETR", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR 0", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR -1", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR +1", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR 1x", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR 1 2", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("DELE x", POP3_CMD_SYNTAX, POP3_VERB_DELE);
	assert_cmd("LIST 0", POP3_CMD_SYNTAX, POP3_VERB_LIST);
	assert_cmd("LIST 1 2", POP3_CMD_SYNTAX, POP3_VERB_LIST);
	assert_cmd("TOP 1", POP3_CMD_SYNTAX, POP3_VERB_TOP);
	assert_cmd("TOP 0 5", POP3_CMD_SYNTAX, POP3_VERB_TOP);
	assert_cmd("TOP 1 2 3", POP3_CMD_SYNTAX, POP3_VERB_TOP);
	assert_cmd("STAT 1", POP3_CMD_SYNTAX, POP3_VERB_STAT);
	assert_cmd("QUIT now", POP3_CMD_SYNTAX, POP3_VERB_QUIT);
	assert_cmd("STLS x", POP3_CMD_SYNTAX, POP3_VERB_STLS);
}
END_TEST

/* Oversized input: arguments over their limit, numbers out of range. */
START_TEST(test_cmd_oversized)
{
	char line[POP3_ARG_MAX + 16];

	snprintf(line, sizeof(line), "USER %0*d", POP3_ARG_MAX - 1, 0);
	assert_cmd(line, POP3_CMD_OK, POP3_VERB_USER);
	snprintf(line, sizeof(line), "USER %0*d", POP3_ARG_MAX, 0);
	assert_cmd(line, POP3_CMD_TOO_LONG, POP3_VERB_USER);
	snprintf(line, sizeof(line), "PASS %0*d", POP3_ARG_MAX + 5, 0);
	assert_cmd(line, POP3_CMD_TOO_LONG, POP3_VERB_PASS);
	assert_cmd("RETR 4294967295", POP3_CMD_OK, POP3_VERB_RETR);
	assert_cmd("RETR 4294967296", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("RETR 0000000001", POP3_CMD_OK, POP3_VERB_RETR);
	assert_cmd("RETR 00000000001", POP3_CMD_SYNTAX, POP3_VERB_RETR);
	assert_cmd("TOP 1 99999999999999999999", POP3_CMD_SYNTAX,
	    POP3_VERB_TOP);
}
END_TEST

/* A NUL byte inside the line is a syntax error, never a cut argument. */
START_TEST(test_cmd_nul)
{
	struct pop3_cmd cmd;
	static const char user[] = "USER admin\0evil";
	static const char retr[] = "RETR 1\0 2";

	ck_assert_int_eq(pop3_parse_command(user, sizeof(user) - 1, &cmd),
	    POP3_CMD_SYNTAX);
	ck_assert_int_eq(cmd.verb, POP3_VERB_USER);
	ck_assert_int_eq(pop3_parse_command(retr, sizeof(retr) - 1, &cmd),
	    POP3_CMD_SYNTAX);
}
END_TEST

/* USER and PASS keep the rest of the line as is, spaces included. */
START_TEST(test_cmd_text_args)
{
	struct pop3_cmd cmd;
	const char *pass = "PASS  two  spaces ";

	ck_assert_int_eq(pop3_parse_command(pass, strlen(pass), &cmd),
	    POP3_CMD_OK);
	ck_assert_str_eq(cmd.arg, " two  spaces ");
	ck_assert_int_eq(pop3_parse_command("AUTH", 4, &cmd), POP3_CMD_OK);
	ck_assert_str_eq(cmd.arg, "");
}
END_TEST

/* Relayed commands are canonical; which answers are multi-line. */
START_TEST(test_cmd_canonical)
{
	assert_canonical("retr 01", "RETR 1", true);
	assert_canonical("TOP 2  10", "TOP 2 10", true);
	assert_canonical("list", "LIST", true);
	assert_canonical("LIST 3 ", "LIST 3", false);
	assert_canonical("uidl", "UIDL", true);
	assert_canonical("UIDL 1", "UIDL 1", false);
	assert_canonical("stat ", "STAT", false);
	assert_canonical("DELE 4", "DELE 4", false);
	assert_canonical("noop", "NOOP", false);
	assert_canonical("RSET", "RSET", false);
	assert_canonical("QUIT", "QUIT", false);
	assert_canonical("CAPA", "CAPA", true);
}
END_TEST

/* Usage texts for syntax error replies. */
START_TEST(test_cmd_usage)
{
	ck_assert_str_eq(pop3_cmd_usage(POP3_VERB_RETR), "RETR msg");
	ck_assert_str_eq(pop3_cmd_usage(POP3_VERB_TOP), "TOP msg lines");
	ck_assert_str_eq(pop3_cmd_usage(POP3_VERB_LIST), "LIST [msg]");
	ck_assert_str_eq(pop3_cmd_usage(POP3_VERB_USER), "USER name");
	ck_assert_str_eq(pop3_cmd_usage(POP3_VERB_UNKNOWN),
	    "unknown command");
}
END_TEST

/* AUTH arguments: mechanism and optional initial response. */
START_TEST(test_auth_args)
{
	assert_mech("", POP3_MECH_NONE, NULL);
	assert_mech("PLAIN", POP3_MECH_PLAIN, NULL);
	assert_mech("plain AHUAcA==", POP3_MECH_PLAIN, "AHUAcA==");
	assert_mech("PLAIN ", POP3_MECH_PLAIN, NULL);
	assert_mech("PLAIN =", POP3_MECH_PLAIN, "=");
	assert_mech("Login dXNlcg==", POP3_MECH_LOGIN, "dXNlcg==");
	assert_mech("LOGIN", POP3_MECH_LOGIN, NULL);
	assert_mech("CRAM-MD5", POP3_MECH_UNKNOWN, NULL);
	assert_mech("XOAUTH2 abc", POP3_MECH_UNKNOWN, "abc");
	assert_mech("PLAINX", POP3_MECH_UNKNOWN, NULL);
	assert_mech(" PLAIN", POP3_MECH_UNKNOWN, "PLAIN");
}
END_TEST

/* Upstream status lines, SASL challenges, and garbage. */
START_TEST(test_status)
{
	assert_status("+OK", POP3_STATUS_OK, "");
	assert_status("+OK Dovecot ready.", POP3_STATUS_OK, "Dovecot ready.");
	assert_status("+ok 2 320", POP3_STATUS_OK, "2 320");
	assert_status("-ERR [AUTH] Authentication failed.", POP3_STATUS_ERR,
	    "[AUTH] Authentication failed.");
	assert_status("-ERR", POP3_STATUS_ERR, "");
	assert_status("+ ", POP3_STATUS_CONT, "");
	assert_status("+", POP3_STATUS_CONT, "");
	assert_status("+ VXNlcm5hbWU6", POP3_STATUS_CONT, "VXNlcm5hbWU6");
	assert_status("+OKAY", POP3_STATUS_BAD, NULL);
	assert_status("-ERROR x", POP3_STATUS_BAD, NULL);
	assert_status("OK", POP3_STATUS_BAD, NULL);
	assert_status("", POP3_STATUS_BAD, NULL);
	assert_status("220 smtp.example ESMTP", POP3_STATUS_BAD, NULL);
	assert_status(" +OK", POP3_STATUS_BAD, NULL);
}
END_TEST

/* Response codes in brackets at the start of a status text. */
START_TEST(test_resp_code)
{
	char code[16];

	ck_assert(pop3_resp_code("[SYS/TEMP] try later", code, sizeof(code)));
	ck_assert_str_eq(code, "SYS/TEMP");
	ck_assert(pop3_resp_code("[AUTH]", code, sizeof(code)));
	ck_assert_str_eq(code, "AUTH");
	ck_assert(!pop3_resp_code("Authentication failed", code,
	    sizeof(code)));
	ck_assert_str_eq(code, "");
	ck_assert(!pop3_resp_code("[] x", code, sizeof(code)));
	ck_assert(!pop3_resp_code("[AUTH x", code, sizeof(code)));
	ck_assert(!pop3_resp_code("[IN USE] x", code, sizeof(code)));
	ck_assert(!pop3_resp_code("[A-VERY-LONG-RESPONSE-CODE] x", code,
	    sizeof(code)));
	ck_assert_str_eq(code, "");
}
END_TEST

/* What the relay notes from an upstream's CAPA lines. */
START_TEST(test_capa_lines)
{
	struct pop3_caps c = { 0 };

	pop3_parse_capa_line("TOP", &c);
	pop3_parse_capa_line("uidl", &c);
	pop3_parse_capa_line("SASL LOGIN", &c);
	pop3_parse_capa_line("IMPLEMENTATION Dovecot", &c);
	pop3_parse_capa_line("STLSX", &c);
	pop3_parse_capa_line("SASL XOAUTH2X OAUTHBEARER", &c);
	ck_assert(c.top && c.uidl);
	ck_assert(!c.sasl_plain && !c.sasl_xoauth2 && !c.stls && !c.user);
	pop3_parse_capa_line("SASL  xoauth2 plain", &c);
	pop3_parse_capa_line("STLS", &c);
	pop3_parse_capa_line("USER", &c);
	ck_assert(c.sasl_plain && c.sasl_xoauth2 && c.stls && c.user);
}
END_TEST

/* The relay's CAPA per device policy, LAN certificate and TLS state. */
START_TEST(test_capa_policy)
{
	static const struct {
		struct pop3_policy	 p;
		bool			 auth, stls;
		const char		*caps;
	} v[] = {
		{ { .lan_cert = true }, false, true,
		    "STLS|RESP-CODES|AUTH-RESP-CODE" },
		{ { .lan_cert = true, .plaintext_auth = true }, true, true,
		    "STLS|USER|SASL PLAIN LOGIN|RESP-CODES|AUTH-RESP-CODE" },
		{ { .lan_cert = true, .lan_tls = true }, true, false,
		    "USER|SASL PLAIN LOGIN|RESP-CODES|AUTH-RESP-CODE" },
		{ { .lan_cert = true, .lan_tls = true, .plaintext_auth = true },
		    true, false,
		    "USER|SASL PLAIN LOGIN|RESP-CODES|AUTH-RESP-CODE" },
		{ { .lan_cert = false }, false, false,
		    "RESP-CODES|AUTH-RESP-CODE" },
		{ { .plaintext_auth = true }, true, false,
		    "USER|SASL PLAIN LOGIN|RESP-CODES|AUTH-RESP-CODE" },
		{ { .lan_cert = true, .logged_in = true,
		    .up = { .top = true, .uidl = true, .user = true,
		    .sasl_plain = true, .stls = true } }, false, false,
		    "TOP|UIDL|RESP-CODES" },
		{ { .plaintext_auth = true, .logged_in = true }, false, false,
		    "RESP-CODES" },
	};
	size_t i;

	for (i = 0; i < nitems(v); i++) {
		ck_assert_msg(pop3_policy_auth(&v[i].p) == v[i].auth,
		    "auth, policy %zu", i);
		ck_assert_msg(pop3_policy_stls(&v[i].p) == v[i].stls,
		    "stls, policy %zu", i);
		assert_capa(&v[i].p, v[i].caps);
	}
}
END_TEST

/* The end marker is found in one chunk; what follows stays behind. */
START_TEST(test_body_whole)
{
	static const char *const empty[] = { ".\r\n", NULL };
	static const char *const lines[] = { "a\r\n..b\r\n.\r\nEXTRA", NULL };
	static const char *const lf[] = { "a\n.\n", NULL };
	struct scan_run r;

	scan_chunks(empty, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, ".\r\n");
	scan_chunks(lines, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, "a\r\n..b\r\n.\r\n");
	ck_assert_str_eq(r.left, "EXTRA");
	scan_chunks(lf, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, "a\n.\n");
}
END_TEST

/* The end marker split over chunks, byte by byte. */
START_TEST(test_body_split)
{
	static const char *const split[] = {
		"abc\r", "\n", ".", "\r", "\n", "after", NULL,
	};
	static const char *const notend[] = {
		"abc\r\n.\r", "x\r\n", ".", ".\r\n", ".\r\n", NULL,
	};
	struct scan_run r;

	scan_chunks(split, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, "abc\r\n.\r\n");
	scan_chunks(notend, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, "abc\r\n.\rx\r\n..\r\n.\r\n");
}
END_TEST

/* A dot in the middle of a line never ends the answer. */
START_TEST(test_body_mid_line)
{
	static const char *const mid[] = {
		"abc", ".\r\n", "x.\r\n.y\r\n", ".\r\n", NULL,
	};
	static const char *const open[] = { "line\r\n", "..", NULL };
	struct scan_run r;

	scan_chunks(mid, &r);
	ck_assert(r.ended);
	ck_assert_str_eq(r.out, "abc.\r\nx.\r\n.y\r\n.\r\n");
	scan_chunks(open, &r);
	ck_assert(!r.ended);
	ck_assert_str_eq(r.out, "line\r\n..");
}
END_TEST

/* An empty buffer, or a lone "." at a line start, must wait. */
START_TEST(test_body_wait)
{
	struct evbuffer *in = evbuffer_new();
	bool line_start = true;
	size_t n = 99;

	ck_assert_int_eq(pop3_body_scan(in, &line_start, &n), POP3_BODY_WAIT);
	ck_assert_uint_eq(n, 0);
	evbuffer_add(in, ".", 1);
	ck_assert_int_eq(pop3_body_scan(in, &line_start, &n), POP3_BODY_WAIT);
	evbuffer_add(in, "\r", 1);
	ck_assert_int_eq(pop3_body_scan(in, &line_start, &n), POP3_BODY_WAIT);
	line_start = false;
	ck_assert_int_eq(pop3_body_scan(in, &line_start, &n), POP3_BODY_MORE);
	ck_assert_uint_eq(n, 2);
	ck_assert(!line_start);
	evbuffer_free(in);
}
END_TEST

/* Build the POP3 parsing suite. */
Suite *
pop3_parse_suite(void)
{
	Suite *s = suite_create("pop3_parse");
	TCase *tc;

	tc = tcase_create("commands");
	tcase_add_test(tc, test_cmd_verbs);
	tcase_add_test(tc, test_cmd_unknown);
	tcase_add_test(tc, test_cmd_syntax);
	tcase_add_test(tc, test_cmd_oversized);
	tcase_add_test(tc, test_cmd_nul);
	tcase_add_test(tc, test_cmd_text_args);
	tcase_add_test(tc, test_cmd_canonical);
	tcase_add_test(tc, test_cmd_usage);
	tcase_add_test(tc, test_auth_args);
	suite_add_tcase(s, tc);

	tc = tcase_create("responses");
	tcase_add_test(tc, test_status);
	tcase_add_test(tc, test_resp_code);
	tcase_add_test(tc, test_capa_lines);
	suite_add_tcase(s, tc);

	tc = tcase_create("capa");
	tcase_add_test(tc, test_capa_policy);
	suite_add_tcase(s, tc);

	tc = tcase_create("body");
	tcase_add_test(tc, test_body_whole);
	tcase_add_test(tc, test_body_split);
	tcase_add_test(tc, test_body_mid_line);
	tcase_add_test(tc, test_body_wait);
	suite_add_tcase(s, tc);
	return s;
}
