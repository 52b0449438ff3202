/* Unit tests for log.c: escaping, field formatting, the stderr form and the
 * journald entry (fields and MESSAGE_ID). */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "msgid.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

static void	assert_escape(const void *, size_t, size_t, const char *);
static const char *entry_get(const struct log_entry *, const char *);

/* Every MESSAGE_ID of msgid.h, for the format and uniqueness checks. */
static const char *const all_msgids[] = {
	MSGID_SESSION_END, MSGID_REFUSED_UNKNOWN, MSGID_REFUSED_EXPIRED,
	MSGID_REFUSED_PROTOCOL, MSGID_REFUSED_BUSY, MSGID_DEVICE_EXPIRING,
	MSGID_DEVICE_EXPIRED, MSGID_UPSTREAM_TLS_FAILED, MSGID_LAN_TLS_FAILED,
	MSGID_UPSTREAM_REFUSAL,
};

/* The keys of session lines and the journald field each becomes. */
static const struct {
	const char	*key;
	const char	*field;
} session_keys[] = {
	{ "session", "TLSRELAY_SESSION" }, { "event", "TLSRELAY_EVENT" },
	{ "device", "TLSRELAY_DEVICE" }, { "client", "TLSRELAY_CLIENT" },
	{ "protocol", "TLSRELAY_PROTOCOL" },
	{ "listener", "TLSRELAY_LISTENER" },
	{ "lan_tls", "TLSRELAY_LAN_TLS" },
	{ "lan_cipher", "TLSRELAY_LAN_CIPHER" },
	{ "upstream", "TLSRELAY_UPSTREAM" },
	{ "upstream_tls", "TLSRELAY_UPSTREAM_TLS" },
	{ "upstream_cipher", "TLSRELAY_UPSTREAM_CIPHER" },
	{ "user", "TLSRELAY_USER" }, { "result", "TLSRELAY_RESULT" },
	{ "reason", "TLSRELAY_REASON" }, { "bytes_in", "TLSRELAY_BYTES_IN" },
	{ "bytes_out", "TLSRELAY_BYTES_OUT" },
	{ "messages", "TLSRELAY_MESSAGES" },
	{ "duration", "TLSRELAY_DURATION" }, { "sunset", "TLSRELAY_SUNSET" },
	{ "days_left", "TLSRELAY_DAYS_LEFT" },
};



/* Escape src into a dstlen buffer and compare with want. */
static void
assert_escape(const void *src, size_t srclen, size_t dstlen, const char *want)
{
	char dst[256];

	memset(dst, 'Z', sizeof dst);
	ck_assert_ptr_eq(log_escape(dst, dstlen, src, srclen), dst);
	ck_assert_str_eq(dst, want);
	ck_assert_uint_lt(strlen(dst), dstlen);
}

/* The value of the "NAME=" item of an entry, or NULL; fails on a
 * duplicate. */
static const char *
entry_get(const struct log_entry *e, const char *name)
{
	const char *found = NULL, *item;
	size_t i, len = strlen(name);

	for (i = 0; i < e->n; i++) {
		item = e->iov[i].iov_base;
		ck_assert_uint_eq(strlen(item), e->iov[i].iov_len);
		if (strncmp(item, name, len) != 0 || item[len] != '=')
			continue;
		ck_assert_msg(found == NULL, "%s appears twice", name);
		found = item + len + 1;
	}
	return found;
}

/* Printable ASCII other than backslash passes unchanged. */
START_TEST(test_escape_printable)
{
	const char *s = "MAIL FROM:<a@b.example> ~!\"#'{|}`";

	assert_escape(s, strlen(s), 64, s);
	assert_escape("", 0, 8, "");
}
END_TEST

/* Backslash and the named control bytes get C escapes. */
START_TEST(test_escape_named)
{
	assert_escape("a\\b", 3, 16, "a\\\\b");
	assert_escape("\r\n\t", 3, 16, "\\r\\n\\t");
}
END_TEST

/* Other control bytes, DEL, high bytes and NUL become \xNN. */
START_TEST(test_escape_hex)
{
	assert_escape("\x00\x01\x1b\x1f", 4, 32, "\\x00\\x01\\x1b\\x1f");
	assert_escape("\x7f\x80\xc3\xa9\xff", 5, 32,
	    "\\x7f\\x80\\xc3\\xa9\\xff");
	assert_escape(" ~", 2, 8, " ~");
}
END_TEST

/* An output that exactly fits is not truncated. */
START_TEST(test_escape_exact_fit)
{
	assert_escape("abc", 3, 4, "abc");
	assert_escape("a\n", 2, 4, "a\\n");
	assert_escape("abcdefg", 7, 8, "abcdefg");
}
END_TEST

/* Truncation ends with "..." on an escape boundary. */
START_TEST(test_escape_truncate)
{
	assert_escape("abcdefgh", 8, 8, "abcd...");
	assert_escape("abcd", 4, 4, "...");
	assert_escape("ab\x01" "cd", 5, 8, "ab...");
	assert_escape("\x01\x02", 2, 8, "\\x01...");
	assert_escape("a\\\\\\", 4, 6, "a...");
	assert_escape("a\\\\\\", 4, 7, "a\\\\...");
}
END_TEST

/* Plain values are written bare, separated by one space. */
START_TEST(test_fields_plain)
{
	const struct log_field f[] = {
		{ "session", "a1b2" }, { "device", "copier-3" },
		{ "days_left", "12" },
	};
	char dst[128];

	ck_assert_uint_eq(log_format_fields(dst, sizeof dst, f, nitems(f)),
	    strlen("session=a1b2 device=copier-3 days_left=12"));
	ck_assert_str_eq(dst, "session=a1b2 device=copier-3 days_left=12");
}
END_TEST

/* Empty values and values with space, quote, '=' or backslash are quoted. */
START_TEST(test_fields_quoting)
{
	const struct log_field f[] = {
		{ "a", "" }, { "b", "x y" }, { "c", "say \"hi\"" },
		{ "d", "k=v" }, { "e", "c:\\dir" }, { "f", "plain" },
	};
	const char *want = "a=\"\" b=\"x y\" c=\"say \\\"hi\\\"\" "
	    "d=\"k=v\" e=\"c:\\\\dir\" f=plain";
	char dst[128];

	ck_assert_uint_eq(log_format_fields(dst, sizeof dst, f, nitems(f)),
	    strlen(want));
	ck_assert_str_eq(dst, want);
}
END_TEST

/* Fields whose value is NULL are left out entirely. */
START_TEST(test_fields_null_skipped)
{
	const struct log_field f[] = {
		{ "user", NULL }, { "device", "ups" }, { "reason", NULL },
		{ "result", "ok" }, { "tls", NULL },
	};
	const struct log_field none[] = { { "user", NULL } };
	char dst[64];

	log_format_fields(dst, sizeof dst, f, nitems(f));
	ck_assert_str_eq(dst, "device=ups result=ok");
	ck_assert_uint_eq(log_format_fields(dst, sizeof dst, none, 1), 0);
	ck_assert_str_eq(dst, "");
	ck_assert_uint_eq(log_format_fields(dst, sizeof dst, f, 0), 0);
	ck_assert_str_eq(dst, "");
}
END_TEST

/* Formatting that does not fit ends on a field boundary with "...". */
START_TEST(test_fields_truncate)
{
	const struct log_field f[] = {
		{ "aa", "11" }, { "bb", "22" }, { "cc", "a long value" },
	};
	char dst[24];
	size_t len;

	len = log_format_fields(dst, sizeof dst, f, nitems(f));
	ck_assert_str_eq(dst, "aa=11 bb=22 ...");
	ck_assert_uint_eq(len, strlen(dst));
	len = log_format_fields(dst, 10, f, nitems(f));
	ck_assert_str_eq(dst, "aa=11 ...");
	ck_assert_uint_eq(len, strlen(dst));
	len = log_format_fields(dst, 6, f, nitems(f));
	ck_assert_str_eq(dst, "...");
	ck_assert_uint_eq(len, 3);
	log_format_fields(dst, 4, f, nitems(f));
	ck_assert_str_eq(dst, "...");
	log_format_fields(dst, 3, f, nitems(f));
	ck_assert_str_eq(dst, "");
}
END_TEST

/* The stderr form is "stamp tlsrelayd[pid]: level: text" on one line. */
START_TEST(test_stderr_format)
{
	char *out, want[64];
	regex_t re;
	FILE *tmp;
	int saved;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_DEBUG);
	saved = stderr_capture_start(&tmp);
	errno = EACCES;
	log_warn("open %s", "x.conf");
	ck_assert_int_eq(errno, EACCES);
	log_info("two\nlines\x01");
	log_debug("dbg");
	out = stderr_capture_end(tmp, saved);
	snprintf(want, sizeof want, " tlsrelayd[%ld]: warning: ",
	    (long)getpid());
	ck_assert_int_eq(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T"
	    "[0-9]{2}:[0-9]{2}:[0-9]{2} tlsrelayd\\[[0-9]+\\]: warning: "
	    "open x\\.conf: Permission denied\n", REG_EXTENDED), 0);
	ck_assert_int_eq(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
	ck_assert_ptr_nonnull(strstr(out, want));
	ck_assert_ptr_nonnull(strstr(out, ": info: two\\nlines\\x01\n"));
	ck_assert_ptr_nonnull(strstr(out, ": debug: dbg\n"));
	free(out);
}
END_TEST

/* Messages above the maximum priority are dropped. */
START_TEST(test_level_filter)
{
	const struct log_field f[] = { { "k", "v" } };
	char *out;
	FILE *tmp;
	int saved;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_INFO);
	saved = stderr_capture_start(&tmp);
	log_debug("hidden");
	log_fields(LOG_DEBUG, f, 1);
	log_fields(LOG_NOTICE, f, 1);
	log_set_level(LOG_WARNING);
	log_info("hidden too");
	log_warnx("shown");
	out = stderr_capture_end(tmp, saved);
	ck_assert_ptr_null(strstr(out, "hidden"));
	ck_assert_ptr_nonnull(strstr(out, ": notice: k=v\n"));
	ck_assert_ptr_nonnull(strstr(out, ": warning: shown\n"));
	free(out);
}
END_TEST

/* LOG_TARGET_AUTO picks journald under systemd and syslog otherwise. */
START_TEST(test_auto_target)
{
	unsetenv("JOURNAL_STREAM");
	unsetenv("INVOCATION_ID");
	log_init(LOG_TARGET_AUTO, LOG_DAEMON, LOG_INFO);
	ck_assert_int_eq(log_current_target(), LOG_TARGET_SYSLOG);
	setenv("JOURNAL_STREAM", "8:12345", 1);
	log_init(LOG_TARGET_AUTO, LOG_DAEMON, LOG_INFO);
	ck_assert_int_eq(log_current_target(), LOG_TARGET_JOURNALD);
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_INFO);
	ck_assert_int_eq(log_current_target(), LOG_TARGET_STDERR);
}
END_TEST

/* Each session key becomes TLSRELAY_<KEY>; NULL values are left out. */
START_TEST(test_entry_session_fields)
{
	struct log_field f[nitems(session_keys)];
	struct log_entry e;
	const char *key, *field;
	size_t i;

	for (i = 0; i < nitems(session_keys); i++) {
		key = session_keys[i].key;
		f[i] = (struct log_field){ key,
		    strcmp(key, "user") == 0 ? NULL : key };
	}
	ck_assert(log_entry_build(&e, LOG_INFO, NULL, "text", f, nitems(f)));
	ck_assert_uint_eq(e.n, 4 + nitems(session_keys) - 1);
	for (i = 0; i < nitems(session_keys); i++) {
		field = session_keys[i].field;
		if (f[i].value == NULL)
			ck_assert_ptr_null(entry_get(&e, field));
		else
			ck_assert_str_eq(entry_get(&e, field), f[i].value);
	}
	log_entry_free(&e);
	ck_assert_ptr_null(e.iov);
	ck_assert_uint_eq(e.n, 0);
}
END_TEST

/* The fixed items: text, priority, facility, identifier, MESSAGE_ID. */
START_TEST(test_entry_fixed_items)
{
	const struct log_field f[] = {
		{ "device", "copier-2f" }, { "days_left", "12" },
	};
	struct log_entry e;

	log_init(LOG_TARGET_STDERR, LOG_LOCAL3, LOG_INFO);
	ck_assert(log_entry_build(&e, LOG_WARNING, MSGID_REFUSED_EXPIRED,
	    "device=copier-2f days_left=12", f, nitems(f)));
	ck_assert_uint_eq(e.n, 7);
	ck_assert_str_eq(entry_get(&e, "MESSAGE"),
	    "device=copier-2f days_left=12");
	ck_assert_str_eq(entry_get(&e, "PRIORITY"), "4");
	ck_assert_str_eq(entry_get(&e, "SYSLOG_FACILITY"), "19");
	ck_assert_str_eq(entry_get(&e, "SYSLOG_IDENTIFIER"), "tlsrelayd");
	ck_assert_str_eq(entry_get(&e, "MESSAGE_ID"), MSGID_REFUSED_EXPIRED);
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_DEVICE"), "copier-2f");
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_DAYS_LEFT"), "12");
	log_entry_free(&e);
	ck_assert(log_entry_build(&e, LOG_INFO | LOG_MAIL, NULL, "", NULL, 0));
	ck_assert_uint_eq(e.n, 4);
	ck_assert_str_eq(entry_get(&e, "PRIORITY"), "6");
	ck_assert_ptr_null(entry_get(&e, "MESSAGE_ID"));
	log_entry_free(&e);
	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_INFO);
}
END_TEST

/* Keys are upper-cased; anything but letters and digits becomes '_'. */
START_TEST(test_entry_field_names)
{
	const struct log_field f[] = {
		{ "tls-v1.0", "a" }, { "x9", "b" }, { "Mixed_Case", "c" },
	};
	struct log_entry e;

	ck_assert(log_entry_build(&e, LOG_INFO, NULL, "t", f, nitems(f)));
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_TLS_V1_0"), "a");
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_X9"), "b");
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_MIXED_CASE"), "c");
	log_entry_free(&e);
}
END_TEST

/* Values go to journald as they are: spaces and quotes need no quoting. */
START_TEST(test_entry_values_verbatim)
{
	const struct log_field f[] = { { "reason", "say \"hi\" = x" } };
	struct log_entry e;

	ck_assert(log_entry_build(&e, LOG_INFO, NULL, "t", f, nitems(f)));
	ck_assert_str_eq(entry_get(&e, "TLSRELAY_REASON"), "say \"hi\" = x");
	log_entry_free(&e);
}
END_TEST

/* Every MESSAGE_ID is 32 lower-case hex digits, and no two are equal. */
START_TEST(test_msgids_wellformed)
{
	size_t i, j;

	for (i = 0; i < nitems(all_msgids); i++) {
		ck_assert_uint_eq(strlen(all_msgids[i]), 32);
		ck_assert_uint_eq(strspn(all_msgids[i], "0123456789abcdef"),
		    32);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(all_msgids[i], all_msgids[j]);
	}
}
END_TEST

/* log_event writes the same text as log_fields; the id is journald's. */
START_TEST(test_event_stderr)
{
	const struct log_field f[] = {
		{ "session", "0a1b" }, { "event", "refused" },
		{ "reason", "unknown" },
	};
	char *out;
	FILE *tmp;
	int saved;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_INFO);
	saved = stderr_capture_start(&tmp);
	log_event(LOG_WARNING, MSGID_REFUSED_UNKNOWN, f, nitems(f));
	log_event(LOG_DEBUG, MSGID_REFUSED_UNKNOWN, f, nitems(f));
	out = stderr_capture_end(tmp, saved);
	ck_assert_ptr_nonnull(strstr(out,
	    ": warning: session=0a1b event=refused reason=unknown\n"));
	ck_assert_ptr_null(strstr(out, MSGID_REFUSED_UNKNOWN));
	ck_assert_ptr_null(strstr(out, "debug"));
	free(out);
}
END_TEST

/* fatalx logs and exits with status 1. */
START_TEST(test_fatalx_exits)
{
	FILE *tmp;

	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_INFO);
	stderr_capture_start(&tmp);
	fatalx("cannot continue");
}
END_TEST

/* Build the log suite; the exit test needs Check to fork. */
Suite *
log_suite(void)
{
	const char *ckfork = getenv("CK_FORK");
	bool nofork = ckfork != NULL && strcmp(ckfork, "no") == 0;
	Suite *s = suite_create("log");
	TCase *tc;

	tc = tcase_create("escape");
	tcase_add_test(tc, test_escape_printable);
	tcase_add_test(tc, test_escape_named);
	tcase_add_test(tc, test_escape_hex);
	tcase_add_test(tc, test_escape_exact_fit);
	tcase_add_test(tc, test_escape_truncate);
	suite_add_tcase(s, tc);

	tc = tcase_create("fields");
	tcase_add_test(tc, test_fields_plain);
	tcase_add_test(tc, test_fields_quoting);
	tcase_add_test(tc, test_fields_null_skipped);
	tcase_add_test(tc, test_fields_truncate);
	suite_add_tcase(s, tc);

	tc = tcase_create("journald");
	tcase_add_test(tc, test_entry_session_fields);
	tcase_add_test(tc, test_entry_fixed_items);
	tcase_add_test(tc, test_entry_field_names);
	tcase_add_test(tc, test_entry_values_verbatim);
	tcase_add_test(tc, test_msgids_wellformed);
	suite_add_tcase(s, tc);

	tc = tcase_create("output");
	tcase_add_test(tc, test_stderr_format);
	tcase_add_test(tc, test_level_filter);
	tcase_add_test(tc, test_auto_target);
	tcase_add_test(tc, test_event_stderr);
	if (!nofork)
		tcase_add_exit_test(tc, test_fatalx_exits, 1);
	suite_add_tcase(s, tc);
	return s;
}
