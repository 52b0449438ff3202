/* Unit tests for evidence.c against temporary databases: the schema and
 * its migrations, batches from the writer thread, per-path summaries,
 * pruning, a corrupt file moved aside and an unwritable state_dir. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "date.h"
#include "evidence.h"
#include "register_read.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

static char	*tmpdir_make(void);
static void	 tmpdir_remove(char *dir);
static sqlite3	*db_open(const char *dir);
static long long db_int(sqlite3 *db, const char *sql);
static char	*db_text(sqlite3 *db, const char *sql);
static struct evidence_record *session_record(const char *device,
		    const char *protocol, long long start, const char *result);

/* A fresh temporary directory. */
static char *
tmpdir_make(void)
{
	char *dir = xstrdup("/tmp/tlsrelay-evidence-XXXXXX");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

/* Remove a temporary directory and what is in it. */
static void
tmpdir_remove(char *dir)
{
	char *cmd;

	xasprintf(&cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(dir);
}

/* Open dir's evidence.db for the test's own queries. */
static sqlite3 *
db_open(const char *dir)
{
	sqlite3 *db;
	char *path;

	xasprintf(&path, "%s/%s", dir, EVIDENCE_DB_NAME);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	return db;
}

/* The first column of the first row as an integer (-1 if none). */
static long long
db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The first column of the first row as text (caller frees; NULL if none). */
static char *
db_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	char *v = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_text(st, 0) != NULL)
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* A session record as evidence_session.c builds one. */
static struct evidence_record *
session_record(const char *device, const char *protocol, long long start,
    const char *result)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_SESSION);
	bool ok = strcmp(result, "ok") == 0;
	bool refused = strcmp(result, "refused") == 0;

	evidence_record_text(r, "device", device);
	evidence_record_text(r, "protocol", protocol);
	evidence_record_text(r, "lan_tls", "TLSv1");
	evidence_record_text(r, "offered_tls", "TLSv1");
	evidence_record_num(r, "offered_rank", 0x0301);
	evidence_record_text(r, "up_tls", "TLSv1.3");
	evidence_record_num(r, "start", start);
	evidence_record_text(r, "result", result);
	evidence_record_num(r, "ok", ok);
	evidence_record_num(r, "refused", refused);
	evidence_record_num(r, "failed", !ok && !refused);
	evidence_record_text(r, "failure", ok ? NULL : "upstream_error: 535");
	evidence_record_num(r, "retr", 2);
	evidence_record_num(r, "retr_bytes", 300);
	return r;
}

/* A new file gets the current schema: the version row and every table. */
START_TEST(test_schema_fresh)
{
	char *dir = tmpdir_make();
	struct evidence *ev = evidence_start(dir, 400);
	sqlite3 *db;

	evidence_flush(ev);
	evidence_submit(ev, session_record("copier", "pop3", time(NULL),
	    "ok"));
	evidence_flush(ev);
	db = db_open(dir);
	ck_assert_int_eq(db_int(db, "SELECT version FROM schema_version"),
	    evidence_schema_version());
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name IN ('sessions', 'messages', 'paths', 'census', 'folders')"),
	    5);
	ck_assert_str_eq(db_text(db, "PRAGMA journal_mode"), "wal");
	sqlite3_close(db);
	evidence_stop(ev);
	tmpdir_remove(dir);
}
END_TEST

/* Records queued together land in one batch; the summary adds them up,
 * keeps the best offered version and the last failure. */
START_TEST(test_batch_summary)
{
	char *dir = tmpdir_make();
	struct evidence *ev = evidence_start(dir, 400);
	struct evidence_record *r;
	time_t now = time(NULL);
	sqlite3 *db;
	int i;

	for (i = 0; i < 100; i++)
		evidence_submit(ev, session_record("copier", "pop3", now - i,
		    "ok"));
	r = session_record("copier", "pop3", now - 500, "upstream_error");
	evidence_record_text(r, "offered_tls", "TLSv1.2");
	evidence_record_num(r, "offered_rank", 0x0303);
	evidence_submit(ev, r);
	evidence_flush(ev);
	db = db_open(dir);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sessions"), 101);
	ck_assert_int_eq(db_int(db, "SELECT sessions FROM paths"), 101);
	ck_assert_int_eq(db_int(db, "SELECT ok_sessions FROM paths"), 100);
	ck_assert_int_eq(db_int(db, "SELECT retr FROM paths"), 202);
	ck_assert_int_eq(db_int(db, "SELECT retr_bytes FROM paths"), 30300);
	ck_assert_int_eq(db_int(db, "SELECT last_ok FROM paths"), now);
	ck_assert_int_eq(db_int(db, "SELECT first_seen FROM paths"),
	    now - 500);
	ck_assert_str_eq(db_text(db, "SELECT best_offered FROM paths"),
	    "TLSv1.2");
	ck_assert_str_eq(db_text(db, "SELECT tls_used FROM paths"), "TLSv1");
	ck_assert_str_eq(db_text(db, "SELECT last_failure FROM paths"),
	    "upstream_error: 535");
	sqlite3_close(db);
	evidence_stop(ev);
	tmpdir_remove(dir);
}
END_TEST

/* Messages, folders and the census keep their own summaries. */
START_TEST(test_other_kinds)
{
	char *dir = tmpdir_make();
	struct evidence *ev = evidence_start(dir, 400);
	struct evidence_record *r;
	sqlite3 *db;
	int i;

	for (i = 0; i < 2; i++) {
		r = evidence_record_new(EVIDENCE_MESSAGE);
		evidence_record_text(r, "device", "scanner");
		evidence_record_text(r, "queue_id", i == 0 ? "4AB" : "5CD");
		evidence_record_text(r, "message_id", "<m@x>");
		evidence_submit(ev, r);
		r = evidence_record_new(EVIDENCE_FOLDER);
		evidence_record_text(r, "device", "scanner");
		evidence_record_text(r, "folder", "INBOX");
		evidence_record_num(r, "selects", 1);
		evidence_record_num(r, "examines", 0);
		evidence_submit(ev, r);
		r = evidence_record_new(EVIDENCE_CENSUS);
		evidence_record_text(r, "client", "10.0.0.9");
		evidence_record_text(r, "listener", "smtp");
		evidence_record_text(r, "offered_tls", i ? "TLSv1.1" : NULL);
		evidence_record_num(r, "offered_rank", i ? 0x0302 : 0);
		evidence_submit(ev, r);
	}
	evidence_flush(ev);
	db = db_open(dir);
	ck_assert_int_eq(db_int(db, "SELECT messages FROM paths WHERE "
	    "protocol = 'smtp'"), 2);
	ck_assert_str_eq(db_text(db, "SELECT last_queue_id FROM paths"), "5CD");
	ck_assert_int_eq(db_int(db, "SELECT selects FROM folders"), 2);
	ck_assert_int_eq(db_int(db, "SELECT count FROM census"), 2);
	ck_assert_str_eq(db_text(db, "SELECT offered_tls FROM census"),
	    "TLSv1.1");
	sqlite3_close(db);
	evidence_stop(ev);
	tmpdir_remove(dir);
}
END_TEST

/* A version 1 file is migrated at start, keeping its rows; a file from a
 * newer build is refused. */
START_TEST(test_migration)
{
	char *dir = tmpdir_make();
	char err[256];
	struct evidence *ev;
	sqlite3 *db = db_open(dir);

	ck_assert(evidence_migrate(db, 1, err, sizeof(err)));
	ck_assert_int_eq(db_int(db, "SELECT version FROM schema_version"), 1);
	ck_assert_int_eq(sqlite3_exec(db, "INSERT INTO census (client, "
	    "listener, count) VALUES ('10.1.1.1', 'smtp', 7)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	ev = evidence_start(dir, 400);
	evidence_flush(ev);
	evidence_stop(ev);
	db = db_open(dir);
	ck_assert_int_eq(db_int(db, "SELECT version FROM schema_version"),
	    evidence_schema_version());
	ck_assert_int_eq(db_int(db, "SELECT count FROM census"), 7);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM folders"), 0);
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE schema_version SET "
	    "version = 99", NULL, NULL, NULL), SQLITE_OK);
	ck_assert(!evidence_migrate(db, evidence_schema_version(), err,
	    sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "newer"));
	sqlite3_close(db);
	tmpdir_remove(dir);
}
END_TEST

/* Pruning drops sessions and messages older than the limit; the per-path
 * summary and the census stay. */
START_TEST(test_prune)
{
	char *dir = tmpdir_make();
	struct evidence *ev = evidence_start(dir, 400);
	time_t now = time(NULL);
	sqlite3 *db;

	evidence_submit(ev, session_record("ups", "smtp", now - 401 * 86400,
	    "ok"));
	evidence_submit(ev, session_record("ups", "smtp", now - 10, "ok"));
	evidence_flush(ev);
	evidence_stop(ev);
	db = db_open(dir);
	ck_assert(evidence_prune(db, 400, now));
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sessions"), 1);
	ck_assert_int_eq(db_int(db, "SELECT sessions FROM paths"), 2);
	ck_assert_int_eq(db_int(db, "SELECT first_seen FROM paths"),
	    now - 401 * 86400);
	sqlite3_close(db);
	tmpdir_remove(dir);
}
END_TEST

/* A corrupt file is renamed with a time stamp, a new one is started and
 * records go on being written. */
START_TEST(test_corrupt_moved_aside)
{
	char *dir = tmpdir_make(), *path, *out;
	struct evidence *ev;
	struct dirent *de;
	FILE *f, *tmp;
	DIR *d;
	bool moved = false;
	sqlite3 *db;
	int saved;

	xasprintf(&path, "%s/%s", dir, EVIDENCE_DB_NAME);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "%4096s", "this is not an SQLite database");
	fclose(f);
	saved = stderr_capture_start(&tmp);
	ev = evidence_start(dir, 400);
	evidence_submit(ev, session_record("copier", "imap", time(NULL),
	    "ok"));
	evidence_flush(ev);
	evidence_stop(ev);
	out = stderr_capture_end(tmp, saved);
	ck_assert_ptr_nonnull(strstr(out, "is corrupt: moved to"));
	ck_assert_ptr_nonnull(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		moved |= strncmp(de->d_name, "evidence.db.corrupt-", 20) == 0;
	closedir(d);
	ck_assert(moved);
	db = db_open(dir);
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sessions"), 1);
	sqlite3_close(db);
	free(out);
	free(path);
	tmpdir_remove(dir);
}
END_TEST

/* A state_dir that cannot be created: records are dropped, submitting
 * never blocks, and one warning is logged, not one per batch. */
START_TEST(test_unwritable_dir)
{
	char *dir = tmpdir_make(), *file, *state, *out;
	struct evidence *ev;
	FILE *f, *tmp;
	int saved, i;
	const char *p;
	unsigned warnings = 0;

	xasprintf(&file, "%s/file", dir);
	xasprintf(&state, "%s/file/state", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fclose(f);
	saved = stderr_capture_start(&tmp);
	ev = evidence_start(state, 400);
	for (i = 0; i < 5; i++) {
		evidence_submit(ev, session_record("copier", "smtp",
		    time(NULL), "ok"));
		evidence_flush(ev);
	}
	evidence_stop(ev);
	out = stderr_capture_end(tmp, saved);
	for (p = out; (p = strstr(p, "evidence: cannot")) != NULL; p++)
		warnings++;
	ck_assert_uint_eq(warnings, 1);
	ck_assert_ptr_nonnull(strstr(out, "sessions go on"));
	free(out);
	free(file);
	free(state);
	tmpdir_remove(dir);
}
END_TEST

/* The offered version is read from the ClientHello summary tls.c keeps. */
START_TEST(test_offered_rank)
{
	char name[16];

	ck_assert_int_eq(evidence_offered_rank("offered_max=TLSv1.2 "
	    "offered_ciphers=AES128-SHA", name, sizeof(name)), 0x0303);
	ck_assert_str_eq(name, "TLSv1.2");
	ck_assert_int_eq(evidence_offered_rank(NULL, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "");
	ck_assert_int_eq(evidence_tls_rank("TLSv1"), 0x0301);
	ck_assert_int_eq(evidence_tls_rank("none"), 0);
}
END_TEST

/* An owner notice's attempt as notice_run.c records one. */
static void
notice_submit(struct evidence *ev, const char *threshold, bool ok,
    const char *error)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_NOTICE);

	evidence_record_text(r, "device", "copier");
	evidence_record_text(r, "sunset", "2026-12-10");
	evidence_record_text(r, "threshold", threshold);
	evidence_record_text(r, "owner", "facilities@example.org");
	if (ok)
		evidence_record_num(r, "sent", (long long)time(NULL));
	evidence_record_text(r, "error", error);
	evidence_submit(ev, r);
	evidence_flush(ev);
}

/* A notice row counts attempts and keeps the last error; once sent it
 * stays sent, and register_notice_state reads it so. */
START_TEST(test_notice_rows)
{
	char *dir = tmpdir_make();
	struct evidence *ev = evidence_start(dir, 400);
	struct notice_key k = { "copier", "2026-12-10", "7" };
	int32_t today = date_today(time(NULL));
	sqlite3 *db;
	char *error;

	evidence_flush(ev);
	db = db_open(dir);
	ck_assert_int_eq(register_notice_state(db, &k, today), NOTICE_UNSENT);
	notice_submit(ev, "7", false, "451 4.3.0 try later");
	ck_assert_int_eq(register_notice_state(db, &k, today),
	    NOTICE_TRIED_TODAY);
	ck_assert_int_eq(register_notice_state(db, &k, today + 1),
	    NOTICE_UNSENT);
	notice_submit(ev, "7", true, NULL);
	notice_submit(ev, "7", false, "421 4.4.2 lost");
	ck_assert_int_eq(register_notice_state(db, &k, today + 1),
	    NOTICE_SENT);
	ck_assert_int_eq(db_int(db, "SELECT attempts FROM notices"), 3);
	error = db_text(db, "SELECT last_error FROM notices");
	ck_assert_str_eq(error, "421 4.4.2 lost");
	free(error);
	notice_submit(ev, "1", false, "550 5.7.1 no");
	ck_assert_int_eq(db_int(db, "SELECT count(*) FROM notices"), 2);
	sqlite3_close(db);
	evidence_stop(ev);
	tmpdir_remove(dir);
}
END_TEST

/* The evidence store suite. */
Suite *
evidence_suite(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("evidence");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_schema_fresh);
	tcase_add_test(tc, test_batch_summary);
	tcase_add_test(tc, test_other_kinds);
	tcase_add_test(tc, test_migration);
	tcase_add_test(tc, test_prune);
	tcase_add_test(tc, test_corrupt_moved_aside);
	tcase_add_test(tc, test_unwritable_dir);
	tcase_add_test(tc, test_offered_rank);
	tcase_add_test(tc, test_notice_rows);
	suite_add_tcase(s, tc);
	return s;
}
