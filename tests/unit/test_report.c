/* Unit tests for report.c: flags, device status, the expiring levels
 * (tlsrelayctl's exit status) and the text, CSV and JSON forms. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "report.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define TODAY	20790		/* a civil day number: 2026-12-03 */
#define NOW	(TODAY * 86400LL + 43200)

static struct device	copier;
static struct report_row rows[2];

static void	rows_setup(void);
static char	*capture(void (*fn)(FILE *, const struct report_row *,
		    size_t, int32_t));

/* A device with an SMTP path that worked and an IMAP path never used. */
static void
rows_setup(void)
{
	memset(&copier, 0, sizeof(copier));
	copier.name = "copier-2f";
	copier.owner = "facilities@example.org";
	copier.function = "scan, to mail";
	copier.sunset = TODAY + 20;
	copier.retest = TODAY - 1;
	copier.remediation = REMEDIATION_REPLACE;
	memset(rows, 0, sizeof(rows));
	rows[0].dev = rows[1].dev = &copier;
	rows[0].proto = PROTO_SMTP;
	rows[1].proto = PROTO_IMAP;
	rows[0].allowed = rows[1].allowed = true;
	rows[0].sessions = rows[0].ok_sessions = rows[0].messages = 3;
	rows[0].last_seen = rows[0].last_message_time = NOW - 3600;
	rows[0].best_rank = 0x0301;
	strcpy(rows[0].best_offered, "TLSv1");
	strcpy(rows[0].tls_used, "TLSv1");
	strcpy(rows[0].last_queue_id, "4Fq1Zx");
	strcpy(rows[0].last_message_id, "<m1@example.test>");
	report_flag(&rows[0], TODAY, NOW);
	report_flag(&rows[1], TODAY, NOW);
}

/* Run a writer into a string (caller frees). The stream's buffer and
 * size live in static storage: open_memstream() keeps their addresses. */
static char *
capture(void (*fn)(FILE *, const struct report_row *, size_t, int32_t))
{
	static char *buf;
	static size_t len;
	FILE *f;

	buf = NULL;
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	fn(f, rows, 2, TODAY);
	fclose(f);
	return buf;
}

/* Flags: a retest overdue on both; only the unused path lacks evidence and
 * is unused; TLS 1.0 offered cannot reach Exchange directly. */
START_TEST(test_flags)
{
	char names[128];

	rows_setup();
	ck_assert_uint_eq(rows[0].flags, FLAG_RETEST_OVERDUE);
	ck_assert_uint_eq(rows[1].flags, FLAG_RETEST_OVERDUE |
	    FLAG_NO_EVIDENCE | FLAG_UNUSED);
	rows[0].best_rank = 0x0303;
	report_flag(&rows[0], TODAY, NOW);
	report_flag_names(rows[0].flags, names, sizeof(names));
	ck_assert_str_eq(names, "could-reach-exchange-directly,retest-overdue");
}
END_TEST

/* Status: expiring within warn_days, else stale (IMAP unused), ok when
 * every path is used, expired after the sunset, never seen. */
START_TEST(test_device_status)
{
	rows_setup();
	ck_assert_str_eq(report_device_status(&copier, rows, 2, TODAY, 30,
	    NOW), "expiring");
	ck_assert_str_eq(report_device_status(&copier, rows, 2, TODAY, 7,
	    NOW), "stale");
	rows[1].last_seen = NOW - 60;
	ck_assert_str_eq(report_device_status(&copier, rows, 2, TODAY, 7,
	    NOW), "ok");
	ck_assert_str_eq(report_device_status(&copier, rows, 0, TODAY, 7,
	    NOW), "never seen");
	copier.sunset = TODAY - 1;
	ck_assert_str_eq(report_device_status(&copier, rows, 2, TODAY, 7,
	    NOW), "expired");
}
END_TEST

/* expiring: 0 beyond the days, 1 within them or expired and quiet, 2
 * expired and still connecting after the sunset day. */
START_TEST(test_expiry_levels)
{
	rows_setup();
	ck_assert_int_eq(report_expiry_level(&copier, rows, 2, TODAY, 7), 0);
	ck_assert_int_eq(report_expiry_level(&copier, rows, 2, TODAY, 20), 1);
	copier.sunset = TODAY - 2;
	rows[0].last_seen = (TODAY - 3) * 86400LL;
	rows[0].last_refused = (TODAY - 2) * 86400LL + 3600;
	ck_assert_int_eq(report_expiry_level(&copier, rows, 2, TODAY, 7), 1);
	rows[0].last_refused = (TODAY - 1) * 86400LL + 60;
	ck_assert_int_eq(report_expiry_level(&copier, rows, 2, TODAY, 7), 2);
}
END_TEST

/* Text: one block per path, the protocol's own evidence only. */
START_TEST(test_text)
{
	char *out;

	rows_setup();
	out = capture(report_write_text);
	ck_assert_ptr_nonnull(strstr(out, "copier-2f smtp\n"));
	ck_assert_ptr_nonnull(strstr(out, "  last_queue_id      4Fq1Zx\n"));
	ck_assert_ptr_nonnull(strstr(out, "  remediation        replace\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ncopier-2f imap\n"));
	ck_assert_ptr_null(strstr(strstr(out, "copier-2f imap"),
	    "last_queue_id"));
	ck_assert_ptr_null(strstr(out, "retr_bytes"));
	free(out);
}
END_TEST

/* CSV: a header, CRLF lines, a field with a comma quoted. */
START_TEST(test_csv)
{
	char *out;

	rows_setup();
	out = capture(report_write_csv);
	ck_assert(strncmp(out, "device,owner,function,protocol,", 31) == 0);
	ck_assert_ptr_nonnull(strstr(out, "\r\ncopier-2f,facilities@example.org,"
	    "\"scan, to mail\",smtp,2026-12-23,20,replace,2026-12-02,"
	    "retest-overdue,3,3,"));
	free(out);
}
END_TEST

/* JSON: parses back; numbers are numbers, never is null. */
START_TEST(test_json)
{
	json_error_t err;
	json_t *all, *smtp;
	char *out;

	rows_setup();
	out = capture(report_write_json);
	all = json_loads(out, 0, &err);
	ck_assert_ptr_nonnull(all);
	ck_assert_uint_eq(json_array_size(all), 2);
	smtp = json_array_get(all, 0);
	ck_assert_str_eq(json_string_value(json_object_get(smtp,
	    "last_queue_id")), "4Fq1Zx");
	ck_assert_int_eq(json_integer_value(json_object_get(smtp,
	    "messages")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(smtp,
	    "days_left")), 20);
	ck_assert(json_is_null(json_object_get(smtp, "last_failure_time")));
	ck_assert(json_is_true(json_object_get(smtp, "allowed")));
	json_decref(all);
	free(out);
}
END_TEST

/* The report suite. */
Suite *
report_suite(void)
{
	const TTest *tests[] = { test_flags, test_device_status,
	    test_expiry_levels, test_text, test_csv, test_json };

	return suite_of_tests("report", tz_setup, tz_teardown, tests,
	    nitems(tests));
}
