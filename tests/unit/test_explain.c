/* Unit tests for explain.c: Exchange Online's replies found by their codes,
 * whole codes only, the table's device replies, and the log line. */
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explain.h"
#include "log.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

static void	assert_found(enum explain_source, const char *, const char *);
static void	assert_unknown(enum explain_source, const char *);
static void	assert_device_reply(const struct explanation *);
static char	*explain_log_capture(const char *, const char *,
		    const struct explanation *, const char *);

/* Replies as Exchange Online and Entra ID send them, and their codes. */
static const struct {
	enum explain_source	 source;
	const char		*reply;
	const char		*code;
} real_replies[] = {
	{ EXPLAIN_SMTP, "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please "
	    "upgrade/update your client to support TLS 1.2. Visit "
	    "https://aka.ms/smtp_auth_tls. [AM0PR01CA0001.eurprd01.prod."
	    "exchangelabs.com]", "legacy_tls" },
	{ EXPLAIN_SMTP, "535 5.7.139 Authentication unsuccessful, "
	    "SmtpClientAuthentication is disabled for the Tenant. Visit "
	    "https://aka.ms/smtp_auth_disabled for more information. "
	    "[xxx.prod.outlook.com]", "smtp_auth_disabled" },
	{ EXPLAIN_SMTP, "535 5.7.139 Authentication unsuccessful, basic "
	    "authentication is disabled. [xxx.prod.outlook.com]",
	    "smtp_auth_disabled" },
	{ EXPLAIN_SMTP, "550 5.7.30 Basic authentication is not supported for "
	    "Client Submission.", "basic_auth_unsupported" },
	{ EXPLAIN_SMTP, "535 5.7.3 Authentication unsuccessful "
	    "[BN9PR03CA0123.namprd03.prod.outlook.com]",
	    "app_permission_missing" },
	{ EXPLAIN_SMTP, "530 5.7.57 Client not authenticated to send mail. "
	    "[DB8PR04CA0012.eurprd04.prod.outlook.com]", "not_authenticated" },
	{ EXPLAIN_SMTP, "550 5.7.68 TenantInboundAttribution; Direct Send not "
	    "allowed for this organization from unauthorized sources",
	    "direct_send_rejected" },
	{ EXPLAIN_SMTP, "550 5.7.60 SMTP; Client does not have permissions to "
	    "send as this sender", "send_as_denied" },
	{ EXPLAIN_SMTP, "550 5.7.64 TenantAttribution; Relay Access Denied "
	    "[AM4PEPF00027A5C.eurprd04.prod.outlook.com]", "relay_denied" },
	{ EXPLAIN_IMAP, "a1 NO AUTHENTICATE failed.", "imap_logon_denied" },
	{ EXPLAIN_IMAP, "t2 NO [AUTHENTICATIONFAILED] AuthFailed:LogonDenied",
	    "imap_logon_denied" },
	{ EXPLAIN_POP3, "-ERR Authentication failure: unknown user name or bad "
	    "password.", "pop3_logon_denied" },
	{ EXPLAIN_TOKEN, "AADSTS700016: Application with identifier "
	    "'00000000-1111-2222-3333-444444444444' was not found in the "
	    "directory 'Contoso'.", "token_unknown_app" },
	{ EXPLAIN_TOKEN, "AADSTS7000215: Invalid client secret provided. "
	    "Ensure the secret being sent in the request is the client secret "
	    "value, not the client secret ID.", "token_invalid_secret" },
	{ EXPLAIN_TOKEN, "AADSTS7000222: The provided client secret keys for "
	    "app '00000000-1111-2222-3333-444444444444' are expired. Visit the "
	    "Azure portal to create new keys for your app.",
	    "token_expired_secret" },
	{ EXPLAIN_TOKEN, "AADSTS700027: Client assertion failed signature "
	    "validation.", "token_bad_assertion" },
	{ EXPLAIN_TOKEN, "AADSTS90002: Tenant 'contoso.example' not found.",
	    "token_unknown_tenant" },
	{ EXPLAIN_TOKEN, "AADSTS7000222", "token_expired_secret" },
};

/* Look a reply up and compare the explanation's code. */
static void
assert_found(enum explain_source src, const char *reply, const char *code)
{
	const struct explanation *e = explain_lookup(src, reply, true);

	ck_assert_msg(e != NULL, "no explanation for \"%s\"", reply);
	ck_assert_str_eq(e->code, code);
	ck_assert_int_eq(e->source, src);
}

/* A reply the table must not explain. */
static void
assert_unknown(enum explain_source src, const char *reply)
{
	const struct explanation *e = explain_lookup(src, reply, true);

	ck_assert_msg(e == NULL, "\"%s\" explained as %s",
	    reply != NULL ? reply : "(null)", e != NULL ? e->code : "");
}

/* The device's reply fits the entry's protocol and its temporary flag. */
static void
assert_device_reply(const struct explanation *e)
{
	static const char *const codes[][2] = {
		[EXPLAIN_POP3] = { "[AUTH] ", "[SYS/TEMP] " },
		[EXPLAIN_IMAP] = { "[AUTHENTICATIONFAILED] ", "[UNAVAILABLE] " },
	};
	regex_t re;
	regmatch_t m[3];

	if (e->source == EXPLAIN_TOKEN) {
		ck_assert_ptr_null(e->device);
		return;
	}
	ck_assert_ptr_nonnull(e->device);
	ck_assert_msg(strstr(e->device, e->match) != NULL,
	    "%s: the device reply does not name %s", e->code, e->match);
	ck_assert_uint_lt(strlen(e->device), 400);
	if (e->source != EXPLAIN_SMTP) {
		ck_assert_msg(strncmp(e->device, codes[e->source][e->temporary],
		    strlen(codes[e->source][e->temporary])) == 0,
		    "%s: device reply \"%s\"", e->code, e->device);
		return;
	}
	ck_assert_int_eq(regcomp(&re, "^([245])[0-9][0-9] ([245])\\.[0-9]{1,3}"
	    "\\.[0-9]{1,3} [^\r\n]+$", REG_EXTENDED), 0);
	ck_assert_msg(regexec(&re, e->device, 3, m, 0) == 0,
	    "%s: \"%s\" is not NNN N.N.N text", e->code, e->device);
	regfree(&re);
	ck_assert_int_eq(e->device[0], e->temporary ? '4' : '5');
	ck_assert_int_eq(e->device[m[2].rm_so], e->device[0]);
}

/* Run explain_log with stderr captured; returns what it wrote (free). */
static char *
explain_log_capture(const char *session, const char *device,
    const struct explanation *e, const char *reply)
{
	FILE *tmp;
	int saved;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_DEBUG);
	saved = stderr_capture_start(&tmp);
	explain_log(session, device, e, reply);
	return stderr_capture_end(tmp, saved);
}

/* Every reply of the issue is found from the text Exchange Online sends. */
START_TEST(test_real_replies)
{
	size_t i;

	for (i = 0; i < nitems(real_replies); i++)
		assert_found(real_replies[i].source, real_replies[i].reply,
		    real_replies[i].code);
}
END_TEST

/* Codes match whole: 5.7.3 is not 5.7.30, 5.7.39 or 15.7.3, and AADSTS
 * numbers are not prefixes of longer ones. */
START_TEST(test_whole_codes)
{
	assert_found(EXPLAIN_SMTP, "535 5.7.30 Basic authentication is not "
	    "supported", "basic_auth_unsupported");
	assert_found(EXPLAIN_SMTP, "535 5.7.3", "app_permission_missing");
	assert_found(EXPLAIN_SMTP, "535 5.7.3: refused",
	    "app_permission_missing");
	assert_found(EXPLAIN_SMTP, "535 5.7.3. Authentication unsuccessful",
	    "app_permission_missing");
	assert_unknown(EXPLAIN_SMTP, "550 5.7.39 Something else");
	assert_unknown(EXPLAIN_SMTP, "550 5.7.300 Not a code we know");
	assert_unknown(EXPLAIN_SMTP, "550 15.7.3 Not a code we know");
	assert_unknown(EXPLAIN_SMTP, "550 5.7.1390 Not a code we know");
	assert_unknown(EXPLAIN_SMTP, "550 5.7.6 Not a code we know");
	assert_unknown(EXPLAIN_SMTP, "421 4.7.660 Not a code we know");
	assert_unknown(EXPLAIN_TOKEN, "AADSTS70001: Application is disabled.");
	assert_unknown(EXPLAIN_TOKEN, "AADSTS7000221: Not a code we know.");
	assert_unknown(EXPLAIN_TOKEN, "AADSTS70002220: Not a code we know.");
	assert_unknown(EXPLAIN_TOKEN, "AADSTS900021: Not a code we know.");
	assert_unknown(EXPLAIN_TOKEN, "XAADSTS7000222");
	assert_found(EXPLAIN_TOKEN, "error AADSTS90002.",
	    "token_unknown_tenant");
}
END_TEST

/* Matching ignores case. */
START_TEST(test_case_insensitive)
{
	assert_found(EXPLAIN_IMAP, "A7 no authenticate FAILED.",
	    "imap_logon_denied");
	assert_found(EXPLAIN_POP3, "-ERR AUTHENTICATION FAILURE",
	    "pop3_logon_denied");
	assert_found(EXPLAIN_TOKEN, "aadsts7000215: invalid client secret",
	    "token_invalid_secret");
}
END_TEST

/* Replies the table does not know, and replies from another source. */
START_TEST(test_unknown_replies)
{
	assert_unknown(EXPLAIN_SMTP, "");
	assert_unknown(EXPLAIN_SMTP, NULL);
	assert_unknown(EXPLAIN_SMTP, "250 2.1.0 Sender OK");
	assert_unknown(EXPLAIN_SMTP, "535 5.7.8 Authentication credentials "
	    "invalid");
	assert_unknown(EXPLAIN_POP3, "-ERR [AUTH] Authentication failed.");
	assert_unknown(EXPLAIN_IMAP, "a1 NO [AUTHENTICATIONFAILED] "
	    "Authentication failed.");
	assert_unknown(EXPLAIN_TOKEN, "AADSTS50027: JWT token is invalid.");
	assert_unknown(EXPLAIN_POP3, "535 5.7.139 Authentication unsuccessful");
	assert_unknown(EXPLAIN_SMTP, "a1 NO AUTHENTICATE failed.");
	assert_unknown(EXPLAIN_IMAP, "-ERR Authentication failure");
	assert_unknown(EXPLAIN_SMTP, "AADSTS7000222: expired");
	assert_unknown(EXPLAIN_TOKEN, "550 5.7.60 SMTP; Client does not have "
	    "permissions to send as this sender");
}
END_TEST

/* Every entry is complete, its device reply fits, and its own match
 * finds it. */
START_TEST(test_table_entries)
{
	const struct explanation *t, *e;
	size_t i, n;

	t = explain_table(&n);
	ck_assert_uint_ge(n, nitems(real_replies) - 2);
	for (i = 0; i < n; i++) {
		e = &t[i];
		ck_assert(e->match[0] != '\0' && e->code[0] != '\0');
		ck_assert_uint_eq(strspn(e->code, "abcdefghijklmnopqrstuvwxyz0123456789_"),
		    strlen(e->code));
		ck_assert_msg(strlen(e->meaning) > 20 &&
		    e->meaning[strlen(e->meaning) - 1] == '.',
		    "%s: meaning \"%s\"", e->code, e->meaning);
		ck_assert_msg(strlen(e->action) > 20 &&
		    e->action[strlen(e->action) - 1] == '.',
		    "%s: action \"%s\"", e->code, e->action);
		assert_device_reply(e);
		ck_assert_ptr_eq(explain_lookup(e->source, e->match, true), e);
		ck_assert_ptr_eq(explain_lookup(e->source, e->match, false),
		    e->token_login ? NULL : e);
		ck_assert_str_ne(explain_source_name(e->source), "");
	}
}
END_TEST

/* A refused password login is no app-permission problem: 535 5.7.3 and
 * the POP3/IMAP logon refusals are explained only for the relay's own
 * XOAUTH2 login; the others for any login. */
START_TEST(test_token_login_only)
{
	ck_assert_ptr_null(explain_lookup(EXPLAIN_SMTP, "535 5.7.3 "
	    "Authentication unsuccessful", false));
	ck_assert_ptr_null(explain_lookup(EXPLAIN_IMAP, "a1 NO AUTHENTICATE "
	    "failed.", false));
	ck_assert_ptr_null(explain_lookup(EXPLAIN_POP3, "-ERR Authentication "
	    "failure: unknown user name or bad password.", false));
	ck_assert_ptr_nonnull(explain_lookup(EXPLAIN_SMTP, "535 5.7.3 "
	    "Authentication unsuccessful", true));
	ck_assert_ptr_nonnull(explain_lookup(EXPLAIN_SMTP, "535 5.7.139 "
	    "Authentication unsuccessful", false));
}
END_TEST

/* Only the Send As refusal is permanent: the device's own sender is
 * wrong there; everything else is fixed by the admin. */
START_TEST(test_temporary_rule)
{
	size_t i, n;
	const struct explanation *t = explain_table(&n);

	for (i = 0; i < n; i++)
		ck_assert_msg(t[i].temporary ==
		    (strcmp(t[i].code, "send_as_denied") != 0),
		    "%s: temporary is %d", t[i].code, t[i].temporary);
}
END_TEST

/* The log line names the session, device, code, the reply escaped, the
 * meaning and the action. */
START_TEST(test_log_line)
{
	const struct explanation *e = explain_lookup(EXPLAIN_SMTP,
	    "550 5.7.60 x", false);
	char *out;

	ck_assert_ptr_nonnull(e);
	out = explain_log_capture("00112233aabbccdd", "mfp-1", e,
	    "550 5.7.60 SMTP; Client does not\r\n\x01 \"send as\"");
	ck_assert_ptr_nonnull(strstr(out, ": warning: session=00112233aabbccdd "
	    "event=upstream_refusal device=mfp-1 code=send_as_denied "
	    "reply=\"550 5.7.60 SMTP; Client does not\\\\r\\\\n\\\\x01 "
	    "\\\"send as\\\"\" meaning=\"The mailbox "));
	ck_assert_ptr_nonnull(strstr(out, " action=\"Make the device send "));
	ck_assert_ptr_nonnull(strstr(out, "-AccessRights SendAs\\\" and list"));
	ck_assert_ptr_null(strchr(out, '\r'));
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	free(out);
}
END_TEST

/* Without a session or device (the token endpoint) those keys are left
 * out. */
START_TEST(test_log_line_token)
{
	const struct explanation *e = explain_lookup(EXPLAIN_TOKEN,
	    "AADSTS7000222", true);
	char *out;

	ck_assert_ptr_nonnull(e);
	out = explain_log_capture(NULL, NULL, e, "AADSTS7000222: The provided "
	    "client secret keys for app 'x' are expired.");
	ck_assert_ptr_nonnull(strstr(out, ": warning: event=upstream_refusal "
	    "code=token_expired_secret reply=\"AADSTS7000222: The provided "));
	ck_assert_ptr_null(strstr(out, "session="));
	ck_assert_ptr_null(strstr(out, "device="));
	ck_assert_ptr_nonnull(strstr(out, "oauth2.client_secret_file"));
	free(out);
}
END_TEST

/* Build the explain suite. */
Suite *
explain_suite(void)
{
	Suite *s = suite_create("explain");
	TCase *tc;

	tc = tcase_create("lookup");
	tcase_add_test(tc, test_real_replies);
	tcase_add_test(tc, test_whole_codes);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_unknown_replies);
	suite_add_tcase(s, tc);

	tc = tcase_create("table");
	tcase_add_test(tc, test_table_entries);
	tcase_add_test(tc, test_token_login_only);
	tcase_add_test(tc, test_temporary_rule);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_line);
	tcase_add_test(tc, test_log_line_token);
	suite_add_tcase(s, tc);
	return s;
}
