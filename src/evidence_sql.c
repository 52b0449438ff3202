/* The exit register's schema, its migrations and the statements each kind
 * of record runs: SQL only, shared by the daemon's writer and its tests. */
#include <stddef.h>

#include "evidence_sql.h"
#include "util.h"

/* Migration n brings the schema from version n to n + 1. */
static const char *const migrations[] = {
	/* 1: sessions and their SMTP messages (pruned), per-path summaries
	 * and the census of unknown clients (kept). */
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES (0);"
	"CREATE TABLE sessions (session TEXT, device TEXT NOT NULL,"
	" listener TEXT, protocol TEXT NOT NULL, client TEXT, lan_tls TEXT,"
	" lan_cipher TEXT, offered_tls TEXT, upstream TEXT, up_tls TEXT,"
	" auth TEXT, mailbox TEXT, start INTEGER NOT NULL,"
	" duration_ms INTEGER, result TEXT, reason TEXT, messages INTEGER,"
	" stat INTEGER, list INTEGER, retr INTEGER, retr_bytes INTEGER,"
	" top INTEGER, dele INTEGER, selects INTEGER, fetches INTEGER,"
	" appends INTEGER);"
	"CREATE TABLE messages (session TEXT, device TEXT NOT NULL,"
	" time INTEGER NOT NULL, reply TEXT, queue_id TEXT, sender TEXT,"
	" recipients INTEGER, size INTEGER, message_id TEXT);"
	"CREATE TABLE paths (device TEXT NOT NULL, protocol TEXT NOT NULL,"
	" first_seen INTEGER, last_seen INTEGER,"
	" sessions INTEGER NOT NULL DEFAULT 0,"
	" ok_sessions INTEGER NOT NULL DEFAULT 0, last_ok INTEGER,"
	" tls_used TEXT, best_offered TEXT,"
	" best_offered_rank INTEGER NOT NULL DEFAULT 0, up_tls TEXT,"
	" last_mailbox TEXT, messages INTEGER NOT NULL DEFAULT 0,"
	" last_message_time INTEGER, last_message_id TEXT,"
	" last_queue_reply TEXT, last_queue_id TEXT, last_sender TEXT,"
	" stat INTEGER NOT NULL DEFAULT 0, list INTEGER NOT NULL DEFAULT 0,"
	" retr INTEGER NOT NULL DEFAULT 0,"
	" retr_bytes INTEGER NOT NULL DEFAULT 0,"
	" top INTEGER NOT NULL DEFAULT 0, dele INTEGER NOT NULL DEFAULT 0,"
	" selects INTEGER NOT NULL DEFAULT 0,"
	" fetches INTEGER NOT NULL DEFAULT 0,"
	" appends INTEGER NOT NULL DEFAULT 0,"
	" last_failure_time INTEGER, last_failure TEXT, last_refused INTEGER,"
	" PRIMARY KEY (device, protocol));"
	"CREATE TABLE census (client TEXT NOT NULL, listener TEXT NOT NULL,"
	" protocol TEXT, offered_tls TEXT,"
	" offered_rank INTEGER NOT NULL DEFAULT 0, first_seen INTEGER,"
	" last_seen INTEGER, count INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (client, listener));",
	/* 2: IMAP folders per device (kept); indexes for pruning and for
	 * tlsrelayctl sessions. */
	"CREATE TABLE folders (device TEXT NOT NULL, folder TEXT NOT NULL,"
	" selects INTEGER NOT NULL DEFAULT 0,"
	" examines INTEGER NOT NULL DEFAULT 0, last_seen INTEGER,"
	" PRIMARY KEY (device, folder));"
	"CREATE INDEX sessions_start ON sessions (start);"
	"CREATE INDEX messages_time ON messages (time);",
	/* 3: owner notices, one row per device, sunset and threshold
	 * ("30", "refused"); sent stays NULL until a send succeeds. */
	"CREATE TABLE notices (device TEXT NOT NULL, sunset TEXT NOT NULL,"
	" threshold TEXT NOT NULL, owner TEXT, sent INTEGER,"
	" attempts INTEGER NOT NULL DEFAULT 0, last_attempt INTEGER,"
	" last_error TEXT, PRIMARY KEY (device, sunset, threshold));",
};

/* Later of two nullable times, as SQL: a column and excluded's. */
#define LATER(col) "coalesce(max(" col ", excluded." col "), " col \
	", excluded." col ")"
#define EARLIER(col) "coalesce(min(" col ", excluded." col "), " col \
	", excluded." col ")"
#define ADD(col) col " = " col " + excluded." col
#define N0(name) "coalesce(:" name ", 0)"

static const char *const session_sql[] = {
	"INSERT INTO sessions VALUES (:session, :device, :listener,"
	" :protocol, :client, :lan_tls, :lan_cipher, :offered_tls, :upstream,"
	" :up_tls, :auth, :mailbox, :start, :duration_ms, :result, :reason,"
	" :messages, :stat, :list, :retr, :retr_bytes, :top, :dele, :selects,"
	" :fetches, :appends)",
	"INSERT INTO paths (device, protocol, first_seen, last_seen, sessions,"
	" ok_sessions, last_ok, tls_used, best_offered, best_offered_rank,"
	" up_tls, last_mailbox, stat, list, retr, retr_bytes, top, dele,"
	" selects, fetches, appends, last_failure_time, last_failure,"
	" last_refused) VALUES (:device, :protocol,"
	" CASE WHEN :refused THEN NULL ELSE :start END,"
	" CASE WHEN :refused THEN NULL ELSE :start END, 1 - :refused, :ok,"
	" CASE WHEN :ok THEN :start END,"
	" CASE WHEN :refused THEN NULL ELSE :lan_tls END,"
	" :offered_tls, coalesce(:offered_rank, 0),"
	" CASE WHEN :up_tls <> 'none' THEN :up_tls END, :mailbox,"
	" " N0("stat") ", " N0("list") ", " N0("retr") ", " N0("retr_bytes") ","
	" " N0("top") ", " N0("dele") ", " N0("selects") ", " N0("fetches") ","
	" " N0("appends") ", CASE WHEN :failed THEN :start END,"
	" CASE WHEN :failed THEN :failure END,"
	" CASE WHEN :refused THEN :start END)"
	" ON CONFLICT (device, protocol) DO UPDATE SET"
	" first_seen = " EARLIER("first_seen") ","
	" last_seen = " LATER("last_seen") ","
	" " ADD("sessions") ", " ADD("ok_sessions") ","
	" last_ok = " LATER("last_ok") ","
	" tls_used = CASE WHEN excluded.tls_used IS NULL THEN tls_used"
	" WHEN tls_used IS NULL THEN excluded.tls_used"
	" WHEN instr(',' || tls_used || ',', ',' || excluded.tls_used || ',')"
	" > 0 THEN tls_used ELSE tls_used || ',' || excluded.tls_used END,"
	" best_offered = CASE WHEN excluded.best_offered_rank >"
	" best_offered_rank THEN excluded.best_offered ELSE best_offered END,"
	" best_offered_rank = max(best_offered_rank,"
	" excluded.best_offered_rank),"
	" up_tls = coalesce(excluded.up_tls, up_tls),"
	" last_mailbox = coalesce(excluded.last_mailbox, last_mailbox),"
	" " ADD("stat") ", " ADD("list") ", " ADD("retr") ","
	" " ADD("retr_bytes") ", " ADD("top") ", " ADD("dele") ","
	" " ADD("selects") ", " ADD("fetches") ", " ADD("appends") ","
	" last_failure = CASE WHEN excluded.last_failure_time IS NULL"
	" THEN last_failure ELSE excluded.last_failure END,"
	" last_failure_time = coalesce(excluded.last_failure_time,"
	" last_failure_time),"
	" last_refused = " LATER("last_refused"),
};

static const char *const message_sql[] = {
	"INSERT INTO messages VALUES (:session, :device, :time, :reply,"
	" :queue_id, :sender, :recipients, :size, :message_id)",
	"INSERT INTO paths (device, protocol, messages, last_message_time,"
	" last_message_id, last_queue_reply, last_queue_id, last_sender)"
	" VALUES (:device, 'smtp', 1, :time, :message_id, :reply, :queue_id,"
	" :sender) ON CONFLICT (device, protocol) DO UPDATE SET"
	" messages = messages + 1,"
	" last_message_time = excluded.last_message_time,"
	" last_message_id = excluded.last_message_id,"
	" last_queue_reply = excluded.last_queue_reply,"
	" last_queue_id = excluded.last_queue_id,"
	" last_sender = excluded.last_sender",
};

static const char *const failure_sql[] = {
	"INSERT INTO paths (device, protocol, last_failure_time, last_failure)"
	" VALUES (:device, :protocol, :time, :failure)"
	" ON CONFLICT (device, protocol) DO UPDATE SET"
	" last_failure_time = excluded.last_failure_time,"
	" last_failure = excluded.last_failure",
};

static const char *const folder_sql[] = {
	"INSERT INTO folders VALUES (:device, :folder, " N0("selects") ","
	" " N0("examines") ", :time) ON CONFLICT (device, folder) DO UPDATE SET"
	" " ADD("selects") ", " ADD("examines") ","
	" last_seen = " LATER("last_seen"),
};

/* An attempt at a notice: :sent is its time when it went out, else NULL
 * with :error; a sent notice stays sent. */
static const char *const notice_sql[] = {
	"INSERT INTO notices (device, sunset, threshold, owner, sent,"
	" attempts, last_attempt, last_error) VALUES (:device, :sunset,"
	" :threshold, :owner, :sent, 1, :time, :error)"
	" ON CONFLICT (device, sunset, threshold) DO UPDATE SET"
	" owner = excluded.owner, sent = coalesce(sent, excluded.sent),"
	" attempts = attempts + 1, last_attempt = excluded.last_attempt,"
	" last_error = excluded.last_error",
};

static const char *const census_sql[] = {
	"INSERT INTO census VALUES (:client, :listener, :protocol,"
	" :offered_tls, coalesce(:offered_rank, 0), :time, :time, 1)"
	" ON CONFLICT (client, listener) DO UPDATE SET"
	" protocol = excluded.protocol,"
	" offered_tls = CASE WHEN excluded.offered_rank > offered_rank"
	" THEN excluded.offered_tls ELSE offered_tls END,"
	" offered_rank = max(offered_rank, excluded.offered_rank),"
	" last_seen = " LATER("last_seen") ", count = count + 1",
};

_Static_assert(nitems(session_sql) <= EVIDENCE_SQL_MAX &&
    nitems(message_sql) <= EVIDENCE_SQL_MAX, "EVIDENCE_SQL_MAX too small");

static const struct evidence_statements kind_statements[] = {
	[EVIDENCE_SESSION] = { session_sql, nitems(session_sql) },
	[EVIDENCE_MESSAGE] = { message_sql, nitems(message_sql) },
	[EVIDENCE_FAILURE] = { failure_sql, nitems(failure_sql) },
	[EVIDENCE_FOLDER] = { folder_sql, nitems(folder_sql) },
	[EVIDENCE_CENSUS] = { census_sql, nitems(census_sql) },
	[EVIDENCE_NOTICE] = { notice_sql, nitems(notice_sql) },
};

/* Per-session rows, pruned after evidence_days: table and time column. */
const char *const evidence_prune_sql[] = {
	"DELETE FROM sessions WHERE start < ?1",
	"DELETE FROM messages WHERE time < ?1",
};
const size_t evidence_prune_count = nitems(evidence_prune_sql);

/* The schema version this build writes and reads. */
int
evidence_schema_version(void)
{
	return (int)nitems(migrations);
}

/* The SQL that brings the schema from version to version + 1. */
const char *
evidence_migration(int version)
{
	return migrations[version];
}

/* The statements a record of kind runs, in order. */
const struct evidence_statements *
evidence_kind_statements(enum evidence_kind kind)
{
	return &kind_statements[kind];
}
