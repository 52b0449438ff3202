/* Unit tests for owner notices: the notices section (its errors are in
 * test_config.c), which notice is due, and the messages composed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "notice.h"
#include "register_read.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define TODAY	20790		/* a civil day number: 2026-12-03 */
#define NOW	(TODAY * 86400LL + 43200)
#define DEVICES	\
	"devices = ( { name = \"copier\"; addresses = [ \"192.0.2.10\" ]; " \
	"protocols = [ \"smtp\" ]; sunset = \"2030-06-30\"; } );\n"

static struct config *notices_load(const char *main_text,
		    struct config_errors *errs);

/* Load a main text with the one-device devices text. */
static struct config *
notices_load(const char *main_text, struct config_errors *errs)
{
	return config_load_string(main_text, DEVICES, NOW, errs);
}

/* Without a notices section: not configured, days [30, 7, 1]. */
START_TEST(test_defaults)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = notices_load(TEXT_MAIN, &errs);

	ck_assert_ptr_nonnull(cfg);
	ck_assert(!cfg->notices.configured);
	ck_assert_uint_eq(cfg->notices.ndays, 3);
	ck_assert_uint_eq(cfg->notices.days[0], 30);
	ck_assert_uint_eq(cfg->notices.days[2], 1);
	config_unref(cfg);
}
END_TEST

/* A full section over the smtp route loads as written. */
START_TEST(test_section)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = notices_load(TEXT_MAIN TEXT_OAUTH2 "notices = { "
	    "from = \"relay@example.org\"; days = [ 14, 2 ]; "
	    "route = \"smtp\"; "
	    "mailbox = \"relay@example.org\"; };\n", &errs);

	ck_assert_ptr_nonnull(cfg);
	ck_assert(cfg->notices.configured);
	ck_assert_str_eq(cfg->notices.from, "relay@example.org");
	ck_assert_str_eq(cfg->notices.mailbox, "relay@example.org");
	ck_assert_int_eq(cfg->notices.route, NOTICE_ROUTE_SMTP);
	ck_assert_uint_eq(cfg->notices.ndays, 2);
	ck_assert_uint_eq(cfg->notices.days[1], 2);
	config_unref(cfg);
}
END_TEST

/* The most urgent threshold reached is due; after the sunset, refused. */
START_TEST(test_due)
{
	struct notices_conf nc = { .days = { 30, 7, 1 }, .ndays = 3 };

	ck_assert_int_eq(notice_due(&nc, TODAY + 31, TODAY), NOTICE_NONE);
	ck_assert_int_eq(notice_due(&nc, TODAY + 30, TODAY), 30);
	ck_assert_int_eq(notice_due(&nc, TODAY + 8, TODAY), 30);
	ck_assert_int_eq(notice_due(&nc, TODAY + 7, TODAY), 7);
	ck_assert_int_eq(notice_due(&nc, TODAY + 2, TODAY), 7);
	ck_assert_int_eq(notice_due(&nc, TODAY + 1, TODAY), 1);
	ck_assert_int_eq(notice_due(&nc, TODAY, TODAY), 1);
	ck_assert_int_eq(notice_due(&nc, TODAY - 1, TODAY), NOTICE_REFUSED);
	ck_assert_int_eq(notice_due(&nc, TODAY - 40, TODAY), NOTICE_REFUSED);
}
END_TEST

/* A device, one SMTP path seen and one IMAP path never used, and the
 * relay's sender and name. */
static struct device	copier;
static struct report_row rows[2];
static struct config	relay = { .server_name = "relay.example.org",
	.notices = { .from = "relay@example.org" } };

/* Fill the device and its rows. */
static void
rows_setup(void)
{
	memset(&copier, 0, sizeof(copier));
	copier.name = "copier-2f";
	copier.owner = "facilities@example.org";
	copier.function = "scan to mail";
	copier.sunset = TODAY + 7;
	copier.retest = TODAY + 3;
	copier.remediation = REMEDIATION_REPLACE;
	memset(rows, 0, sizeof(rows));
	rows[0].dev = rows[1].dev = &copier;
	rows[0].proto = PROTO_SMTP;
	rows[1].proto = PROTO_IMAP;
	rows[0].allowed = rows[1].allowed = true;
	rows[0].sessions = 4;
	rows[0].ok_sessions = 3;
	rows[0].last_seen = NOW - 3600;
	strcpy(rows[0].tls_used, "TLSv1");
	strcpy(rows[0].best_offered, "TLSv1.2");
	rows[0].flags = FLAG_DIRECT;
}

/* Compose the notice for a threshold (caller frees). */
static char *
compose(int threshold)
{
	struct notice n = { &relay, &copier, rows, 2, threshold, TODAY, NOW };

	rows_setup();
	return notice_compose(&n);
}

/* A threshold notice names the device, sunset, days left, rows and what
 * to do, with headers a mail service takes. */
START_TEST(test_compose)
{
	char *m = compose(7);

	ck_assert_ptr_nonnull(strstr(m, "From: tlsrelayd <relay@example.org>"
	    "\r\nTo: facilities@example.org\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Subject: copier-2f: TLS relay access "
	    "ends 2026-12-10 (7 days left)\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Date: Thu, 03 Dec 2026 12:00:00 "
	    "+0000\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Message-ID: <notice.copier-2f."
	    "2026-12-10.7@relay.example.org>\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "\r\n\r\nThe device \"copier-2f\" "
	    "(scan to mail) reaches"));
	ck_assert_ptr_nonnull(strstr(m, "ends on 2026-12-10, 7 days from "
	    "today"));
	ck_assert_ptr_nonnull(strstr(m, "  smtp last seen 2026-12-03 11:00 "
	    "UTC, 4 sessions (3 ok), TLS TLSv1, best offered TLSv1.2\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "  imap allowed, never used\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "What to do: Replace the device"));
	ck_assert_ptr_nonnull(strstr(m, "may be enough"));
	ck_assert_ptr_nonnull(strstr(m, "tested again on 2026-12-06"));
	ck_assert_ptr_null(strstr(strstr(m, "\r\n\r\n"), "\n\n"));
	free(m);
}
END_TEST

/* The notice after the sunset says since when the relay refuses it. */
START_TEST(test_compose_refused)
{
	struct notice n = { &relay, &copier, rows, 2, NOTICE_REFUSED, TODAY,
	    NOW };
	char *m;

	rows_setup();
	copier.sunset = TODAY - 3;
	m = notice_compose(&n);
	ck_assert_ptr_nonnull(strstr(m, "Subject: copier-2f: refused by the "
	    "TLS relay since the day after 2026-11-30\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "ended on 2026-11-30: since the day "
	    "after, the relay refuses it (2 days ago)"));
	ck_assert_ptr_nonnull(strstr(m, "Message-ID: <notice.copier-2f."
	    "2026-11-30.refused@relay.example.org>\r\n"));
	free(m);
}
END_TEST

#define DIGEST_DEVICES	\
	"devices = ( { name = \"scanner\"; addresses = [ \"192.0.2.1\" ]; " \
	"protocols = [ \"smtp\" ]; sunset = \"2027-06-30\"; }, " \
	"{ name = \"copier\"; addresses = [ \"192.0.2.2\" ]; " \
	"protocols = [ \"smtp\" ]; sunset = \"2026-12-08\"; " \
	"owner = \"facilities@example.org\"; remediation = \"replace\"; }, " \
	"{ name = \"fax\"; addresses = [ \"192.0.2.3\" ]; " \
	"protocols = [ \"smtp\" ]; sunset = \"2026-11-29\"; } );\n"
#define DIGEST_NOTICES	\
	"notices = { from = \"relay@example.org\"; route = \"smtp\"; " \
	"mailbox = \"relay@example.org\"; admin = \"mail-admins@example.org\"; };\n"

/* Compose the digest of a configuration with three devices, the fax
 * still knocking after its sunset (caller frees). */
static char *
digest_compose(const char *devices_text)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = config_load_string(TEXT_MAIN TEXT_OAUTH2
	    DIGEST_NOTICES, devices_text, NOW - 10 * 86400, &errs);
	struct report_row fax_row = { .proto = PROTO_SMTP, .allowed = true,
	    .sessions = 2, .last_seen = NOW - 600, .last_refused = NOW - 600 };
	struct notice n = { cfg, NULL, &fax_row, 1, NOTICE_DIGEST, TODAY,
	    NOW };
	char *m;

	ck_assert_ptr_nonnull(cfg);
	fax_row.dev = register_device(cfg, "fax");
	m = notice_digest_compose(&n);
	config_unref(cfg);
	return m;
}

/* The digest goes to the admin, counts the devices ending and ended,
 * lists them soonest first with their rows, and leaves out the far one. */
START_TEST(test_digest)
{
	char *m = digest_compose(DIGEST_DEVICES);
	const char *fax = strstr(m, "\r\nfax, owner unknown");
	const char *copier_line = strstr(m, "\r\ncopier, owner "
	    "facilities@example.org, remediation replace\r\n");

	ck_assert_ptr_nonnull(strstr(m, "To: mail-admins@example.org\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Subject: TLS relay relay.example.org: "
	    "1 exception ending, 1 ended (week of 2026-11-30)\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "Message-ID: <digest.2026-11-30@"
	    "relay.example.org>\r\n"));
	ck_assert_ptr_nonnull(fax);
	ck_assert_ptr_nonnull(copier_line);
	ck_assert(fax < copier_line);
	ck_assert_ptr_nonnull(strstr(m, "exception ended 2026-11-29: refused "
	    "since the day after; still tries to connect (last refused "
	    "2026-12-03 11:50 UTC)"));
	ck_assert_ptr_nonnull(strstr(m, "  exception ends 2026-12-08, 5 days "
	    "left\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "  smtp last seen 2026-12-03 11:50"));
	ck_assert_ptr_null(strstr(m, "scanner"));
	ck_assert_ptr_nonnull(strstr(m, "3 devices are configured in all"));
	free(m);
}
END_TEST

/* With nothing ending, the digest still goes out and says so. */
START_TEST(test_digest_none)
{
	char *m = digest_compose(DEVICES);

	ck_assert_ptr_nonnull(strstr(m, "Subject: TLS relay relay.example.org: "
	    "0 exceptions ending, 0 ended"));
	ck_assert_ptr_nonnull(strstr(m, "as of 2026-12-03:\r\n\r\n  none\r\n"));
	ck_assert_ptr_nonnull(strstr(m, "1 device is configured in all"));
	free(m);
}
END_TEST

/* A device's notice is keyed by its sunset; the digest by its week's
 * Monday, the same all week. */
START_TEST(test_key)
{
	struct notice_key k;
	int32_t day;

	rows_setup();
	notice_key_make(&k, &copier, 7, TODAY);
	ck_assert_str_eq(k.device, "copier-2f");
	ck_assert_str_eq(k.sunset, "2026-12-10");
	ck_assert_str_eq(k.threshold, "7");
	for (day = TODAY - 3; day <= TODAY + 3; day++) {
		notice_key_make(&k, NULL, NOTICE_DIGEST, day);
		ck_assert_str_eq(k.device, "");
		ck_assert_str_eq(k.sunset, "2026-11-30");
		ck_assert_str_eq(k.threshold, "digest");
	}
	notice_key_make(&k, NULL, NOTICE_DIGEST, TODAY + 4);
	ck_assert_str_eq(k.sunset, "2026-12-07");
}
END_TEST

/* The notice suite. */
Suite *
notice_suite(void)
{
	Suite *s = suite_create("notice");
	TCase *tc = tcase_create("notice");

	tcase_add_checked_fixture(tc, tz_setup, tz_teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_section);
	tcase_add_test(tc, test_due);
	tcase_add_test(tc, test_compose);
	tcase_add_test(tc, test_compose_refused);
	tcase_add_test(tc, test_digest);
	tcase_add_test(tc, test_digest_none);
	tcase_add_test(tc, test_key);
	suite_add_tcase(s, tc);
	return s;
}
