/* Unit tests for log.c: escaping, field formatting and the stderr form. */
#include <errno.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "suites.h"
#include "util.h"

static int	stderr_capture_start(FILE **);
static char	*stderr_capture_end(FILE *, int);
static void	assert_escape(const void *, size_t, size_t, const char *);

/* Redirect stderr to a temporary file; returns the saved descriptor. */
static int
stderr_capture_start(FILE **tmp)
{
	int saved;

	fflush(stderr);
	*tmp = tmpfile();
	ck_assert_ptr_nonnull(*tmp);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(*tmp), STDERR_FILENO), 0);
	return saved;
}

/* Restore stderr and return what was written to it (caller frees). */
static char *
stderr_capture_end(FILE *tmp, int saved)
{
	char *text = xcalloc(1, 16384);
	size_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, 16383, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}

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

	tc = tcase_create("output");
	tcase_add_test(tc, test_stderr_format);
	tcase_add_test(tc, test_level_filter);
	tcase_add_test(tc, test_auto_target);
	if (!nofork)
		tcase_add_exit_test(tc, test_fatalx_exits, 1);
	suite_add_tcase(s, tc);
	return s;
}
