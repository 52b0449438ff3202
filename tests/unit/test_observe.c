/* Unit tests for observe.c: the Message-ID scanner over any split of the
 * data, the SMTP transaction, POP3 counts and the IMAP stream observer. */
#include <stdio.h>
#include <string.h>

#include "observe.h"
#include "suites.h"

static void	feed_split(struct header_scan *h, const char *text,
		    size_t piece);
static void	imap_lan(struct imap_observe *o, const char *text);
static void	imap_up(struct imap_observe *o, const char *text);
static enum smtp_observe_event say(struct smtp_observe *o,
		    const char *command, int code);

/* Feed text in pieces of piece bytes. */
static void
feed_split(struct header_scan *h, const char *text, size_t piece)
{
	size_t len = strlen(text), i, n;

	for (i = 0; i < len; i += n) {
		n = len - i < piece ? len - i : piece;
		header_scan_feed(h, text + i, n);
	}
}

/* One SMTP command and the upstream's reply code: the observer's event. */
static enum smtp_observe_event
say(struct smtp_observe *o, const char *command, int code)
{
	smtp_observe_command(o, command);
	return smtp_observe_reply(o, code);
}

/* Feed a device text to the IMAP observer. */
static void
imap_lan(struct imap_observe *o, const char *text)
{
	imap_observe_lan(o, text, strlen(text));
}

/* Feed an upstream text to the IMAP observer. */
static void
imap_up(struct imap_observe *o, const char *text)
{
	imap_observe_up(o, text, strlen(text));
}

/* The Message-ID is found whatever the pieces: one byte at a time, a
 * header split across reads, CR LF split apart. */
START_TEST(test_msgid_any_split)
{
	static const char msg[] = "From: a@b\r\nSubject: hi\r\n"
	    "Message-ID: <abc.123@example.test>\r\nTo: c@d\r\n\r\n"
	    "Message-ID: <body@not.this>\r\n";
	struct header_scan h;
	size_t piece;

	for (piece = 1; piece <= sizeof(msg); piece++) {
		header_scan_init(&h);
		feed_split(&h, msg, piece);
		ck_assert_str_eq(h.message_id, "<abc.123@example.test>");
		ck_assert(h.done);
	}
}
END_TEST

/* A folded Message-ID (value on the next line) and odd case. */
START_TEST(test_msgid_folded)
{
	struct header_scan h;

	header_scan_init(&h);
	feed_split(&h, "message-id:\r\n\t <fold@x.test>  \r\nX: y\r\n\r\n", 7);
	ck_assert_str_eq(h.message_id, "<fold@x.test>");
}
END_TEST

/* No Message-ID in the header; one in the body does not count; a last
 * header ended by the empty line is seen. */
START_TEST(test_msgid_absent_or_last)
{
	struct header_scan h;

	header_scan_init(&h);
	feed_split(&h, "Subject: x\r\n\r\nMessage-ID: <b@x>\r\n", 3);
	ck_assert_str_eq(h.message_id, "");
	header_scan_init(&h);
	feed_split(&h, "Subject: x\nMessage-Id: <last@x>\n\n", 1);
	ck_assert_str_eq(h.message_id, "<last@x>");
	header_scan_init(&h);
	feed_split(&h, "Message-IDs: <no@x>\r\n\r\n", 4);
	ck_assert_str_eq(h.message_id, "");
}
END_TEST

/* A transaction: sender, two of three recipients taken, a message whose
 * size excludes dot-stuffing and the end marker, and the verdict. */
START_TEST(test_smtp_transaction)
{
	static const char body[] = "Message-ID: <m1@x>\r\n\r\n..dot\r\n.\r\n";
	struct smtp_observe o;
	size_t i;

	smtp_observe_init(&o);
	ck_assert_int_eq(say(&o, "MAIL FROM:<scan@example.test> SIZE=10", 250),
	    SMTP_OBSERVE_NOTHING);
	say(&o, "RCPT TO:<a@x>", 250);
	say(&o, "RCPT TO:<b@x>", 550);
	say(&o, "RCPT TO:<c@x>", 251);
	say(&o, "DATA", 354);
	for (i = 0; i < sizeof(body) - 1; i++)
		smtp_observe_data(&o, body + i, 1);
	ck_assert_str_eq(o.sender, "scan@example.test");
	ck_assert_uint_eq(o.recipients, 2);
	ck_assert_uint_eq(o.size, strlen("Message-ID: <m1@x>\r\n\r\n.dot\r\n"));
	ck_assert_str_eq(o.headers.message_id, "<m1@x>");
	ck_assert_int_eq(smtp_observe_reply(&o, 250), SMTP_OBSERVE_ACCEPTED);
	smtp_observe_command(&o, "RSET");
	ck_assert_str_eq(o.sender, "");
}
END_TEST

/* Message data in pieces of every size: the same size (stuffing removed,
 * up to the end marker after a bare LF too), Message-ID and verdict. */
START_TEST(test_smtp_body_any_split)
{
	static const char body[] = "Subject: x\r\nMessage-ID: <m2@x>\r\n\r\n"
	    "line one. with. dots.\r\n..stuffed\r\n.x\r\nlast\n.\r\nAFTER";
	static const char unstuffed[] = "Subject: x\r\nMessage-ID: <m2@x>\r\n"
	    "\r\nline one. with. dots.\r\n.stuffed\r\nx\r\nlast\n";
	struct smtp_observe o;
	size_t piece, i, n;

	for (piece = 1; piece < sizeof(body); piece++) {
		smtp_observe_init(&o);
		say(&o, "MAIL FROM:<scan@example.test>", 250);
		say(&o, "RCPT TO:<a@x>", 250);
		say(&o, "DATA", 354);
		for (i = 0; i < sizeof(body) - 1; i += n) {
			n = sizeof(body) - 1 - i < piece ?
			    sizeof(body) - 1 - i : piece;
			smtp_observe_data(&o, body + i, n);
		}
		ck_assert_uint_eq(o.size, strlen(unstuffed));
		ck_assert_str_eq(o.headers.message_id, "<m2@x>");
		ck_assert_int_eq(smtp_observe_reply(&o, 250),
		    SMTP_OBSERVE_ACCEPTED);
	}
}
END_TEST

/* A refused DATA and a refused message; a refused MAIL keeps no sender. */
START_TEST(test_smtp_refusals)
{
	struct smtp_observe o;

	smtp_observe_init(&o);
	say(&o, "MAIL FROM:<x@y>", 550);
	ck_assert_str_eq(o.sender, "");
	ck_assert_int_eq(say(&o, "DATA", 503), SMTP_OBSERVE_NOTHING);
	say(&o, "MAIL FROM:<>", 250);
	say(&o, "DATA", 354);
	smtp_observe_data(&o, "x\r\n.\r\n", 6);
	ck_assert_int_eq(smtp_observe_reply(&o, 554), SMTP_OBSERVE_REJECTED);
}
END_TEST

/* Queue ids from Postfix and Exchange Online replies. */
START_TEST(test_queue_id)
{
	char id[64];

	ck_assert(smtp_observe_queue_id("250 2.0.0 Ok: queued as 4Fq1Zx3k9Bz1",
	    id, sizeof(id)));
	ck_assert_str_eq(id, "4Fq1Zx3k9Bz1");
	ck_assert(smtp_observe_queue_id("250 2.6.0 <a@b> [InternalId=1529008"
	    "1234, Hostname=AM0PR] Queued mail for delivery", id, sizeof(id)));
	ck_assert_str_eq(id, "15290081234");
	ck_assert(!smtp_observe_queue_id("250 OK", id, sizeof(id)));
}
END_TEST

/* POP3: only +OK answers count, and only a RETR's body adds bytes. */
START_TEST(test_pop3_counts)
{
	struct pop3_observe o = { 0 };

	pop3_observe_command(&o, POP3_VERB_STAT);
	pop3_observe_status(&o, true);
	pop3_observe_command(&o, POP3_VERB_RETR);
	pop3_observe_status(&o, true);
	pop3_observe_body(&o, 100);
	pop3_observe_body(&o, 20);
	pop3_observe_command(&o, POP3_VERB_RETR);
	pop3_observe_status(&o, false);
	pop3_observe_command(&o, POP3_VERB_LIST);
	pop3_observe_status(&o, true);
	pop3_observe_body(&o, 50);
	pop3_observe_command(&o, POP3_VERB_DELE);
	pop3_observe_status(&o, true);
	pop3_observe_command(&o, POP3_VERB_TOP);
	pop3_observe_status(&o, true);
	ck_assert_uint_eq(o.stat, 1);
	ck_assert_uint_eq(o.retr, 1);
	ck_assert_uint_eq(o.retr_bytes, 120);
	ck_assert_uint_eq(o.list, 1);
	ck_assert_uint_eq(o.dele, 1);
	ck_assert_uint_eq(o.top, 1);
}
END_TEST

/* IMAP: SELECT and EXAMINE completed OK name folders; a FETCH counts only
 * when a body came back (its literal skipped) and it completed OK. */
START_TEST(test_imap_select_fetch)
{
	struct imap_observe o;

	memset(&o, 0, sizeof(o));
	imap_lan(&o, "a1 SELECT INBOX\r\na2 EXAMINE \"Sent Items\"\r\n");
	imap_up(&o, "* 3 EXISTS\r\na1 OK [READ-WRITE] done\r\n");
	imap_up(&o, "a2 OK [READ-ONLY] done\r\n");
	imap_lan(&o, "a3 UID FETCH 1 (BODY.PEEK[])\r\n");
	imap_up(&o, "* 1 FETCH (UID 1 BODY[] {12}\r\na3 OK x\r\n\r\n)\r\n");
	imap_up(&o, "a3 OK Fetch completed\r\n");
	imap_lan(&o, "a4 FETCH 1 (BODY.PEEK[HEADER])\r\n");
	imap_up(&o, "* 1 FETCH (BODY[HEADER] {4}\r\nX\r\n\r\n)\r\na4 OK y\r\n");
	imap_lan(&o, "a5 FETCH 9 BODY[]\r\n");
	imap_up(&o, "a5 NO no such message\r\n");
	ck_assert_uint_eq(o.nfolders, 2);
	ck_assert_str_eq(o.folders[0].name, "INBOX");
	ck_assert_uint_eq(o.folders[0].selects, 1);
	ck_assert_str_eq(o.folders[1].name, "Sent Items");
	ck_assert_uint_eq(o.folders[1].examines, 1);
	ck_assert_uint_eq(o.fetches, 1);
	ck_assert_uint_eq(o.npending, 0);
	ck_assert_ptr_null(o.pending);
	imap_observe_free(&o);
}
END_TEST

/* IMAP: an APPEND's literal is skipped (its bytes are not commands), in
 * any pieces; a folder given as a literal is read from it. */
START_TEST(test_imap_append_literal)
{
	static const char lan[] = "b1 APPEND Drafts {20}\r\n"
	    "b9 SELECT Fake\r\n1234\r\nb2 SELECT {6}\r\nOutbox\r\n";
	struct imap_observe o;
	size_t i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < sizeof(lan) - 1; i++)
		imap_observe_lan(&o, lan + i, 1);
	imap_up(&o, "+ Ready\r\nb1 OK [APPENDUID 1 2] Append completed\r\n");
	imap_up(&o, "b2 OK [READ-WRITE] Select completed\r\n");
	ck_assert_uint_eq(o.appends, 1);
	ck_assert_uint_eq(o.nfolders, 1);
	ck_assert_str_eq(o.folders[0].name, "Outbox");
	imap_observe_free(&o);
}
END_TEST

/* IMAP: at most OBSERVE_PENDING commands in flight (the oldest are
 * forgotten) and OBSERVE_FOLDERS folders; the list of commands in flight
 * is freed once none is left. */
START_TEST(test_imap_limits)
{
	struct imap_observe o;
	char line[64];
	int i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "t%d SELECT F%d\r\n", i, i);
		imap_lan(&o, line);
	}
	ck_assert_uint_eq(o.npending, OBSERVE_PENDING);
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof(line), "t%d OK done\r\n", i);
		imap_up(&o, line);
	}
	ck_assert_uint_eq(o.nfolders, OBSERVE_FOLDERS);
	ck_assert_str_eq(o.folders[0].name, "F4");
	ck_assert_uint_eq(o.npending, 0);
	ck_assert_ptr_null(o.pending);
	imap_lan(&o, "u1 SELECT Other\r\nu2 EXAMINE F4\r\n");
	imap_up(&o, "u1 OK x\r\nu2 OK y\r\n");
	ck_assert_uint_eq(o.nfolders, OBSERVE_FOLDERS);
	ck_assert_uint_eq(o.folders[0].selects, 1);
	ck_assert_uint_eq(o.folders[0].examines, 1);
	imap_observe_free(&o);
	ck_assert_ptr_null(o.folders);
}
END_TEST

/* The observer suite. */
Suite *
observe_suite(void)
{
	Suite *s = suite_create("observe");
	TCase *tc = tcase_create("observe");

	tcase_add_test(tc, test_msgid_any_split);
	tcase_add_test(tc, test_msgid_folded);
	tcase_add_test(tc, test_msgid_absent_or_last);
	tcase_add_test(tc, test_smtp_transaction);
	tcase_add_test(tc, test_smtp_body_any_split);
	tcase_add_test(tc, test_smtp_refusals);
	tcase_add_test(tc, test_queue_id);
	tcase_add_test(tc, test_pop3_counts);
	tcase_add_test(tc, test_imap_select_fetch);
	tcase_add_test(tc, test_imap_append_literal);
	tcase_add_test(tc, test_imap_limits);
	suite_add_tcase(s, tc);
	return s;
}
