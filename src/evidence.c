/*
 * The exit register's store. The loop only builds records and queues them
 * under a lock; a thread of its own opens the database, migrates it, and
 * writes each batch of queued records in one transaction. The file is in
 * WAL mode with synchronous=NORMAL: a crash of the process (kill -9) loses
 * nothing committed and at most the batch being written; a power failure
 * may also lose the batches since the last checkpoint, never the file's
 * consistency. FULL would add an fsync per batch for evidence that is a
 * record of traffic, not the traffic itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "evidence.h"
#include "evidence_sql.h"
#include "log.h"
#include "util.h"

#define RECORD_FIELDS_MAX	32
#define EVIDENCE_BUSY_MS	5000	/* a reader's checkpoint lock */
#define PRUNE_SECONDS		86400
#define BATCH_WINDOW_NS		200000000L /* gather records this long */
#define BATCH_FULL		1000	/* or until this many are queued */

enum field_type {
	FIELD_NULL,
	FIELD_TEXT,
	FIELD_NUM,
};

struct field {
	const char	*name;		/* a literal, without the ':' */
	enum field_type	 type;
	char		*text;
	long long	 num;
};

/* What opening found. */
enum check_result {
	CHECK_OK,
	CHECK_CORRUPT,		/* moved aside, a new file started */
	CHECK_FAILED,		/* unusable for now (locked, newer, I/O) */
};

struct evidence_record {
	enum evidence_kind kind;
	struct field	 fields[RECORD_FIELDS_MAX];
	size_t		 n;
};

struct evidence {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* work queued, or stop */
	pthread_cond_t		 written;	/* a batch was taken and ended */
	struct evidence_record	**queue;
	size_t			 nqueued;
	unsigned long long	 submitted;	/* records ever queued */
	unsigned long long	 finished;	/* records written or dropped */
	bool			 stopping;

	/* The writer thread's own. */
	char			*dir;
	char			*path;
	unsigned		 days;
	sqlite3			*db;
	sqlite3_stmt		*stmts[EVIDENCE_KIND_COUNT][EVIDENCE_SQL_MAX];
	time_t			 next_open;
	time_t			 next_prune;
	time_t			 last_warn;
	unsigned long		 dropped;	/* since the last warning */
};

static void	*evidence_main(void *arg);
static size_t	 evidence_wait(struct evidence *ev, struct evidence_record ***batch);
static void	 evidence_batch(struct evidence *ev,
		    struct evidence_record **batch, size_t n);
static void	 evidence_finish(struct evidence *ev, size_t n);
static bool	 evidence_ready(struct evidence *ev, time_t now);
static bool	 evidence_open(struct evidence *ev);
static enum check_result evidence_check(sqlite3 *db, char *err,
		    size_t errlen);
static bool	 evidence_corrupt(int rc);
static bool	 evidence_move_aside(struct evidence *ev);
static void	 evidence_close(struct evidence *ev);
static void	 evidence_warn(struct evidence *ev, const char *what,
		    const char *detail);
static bool	 evidence_exec(sqlite3 *db, const char *sql, char *err,
		    size_t errlen);
static int	 evidence_version(sqlite3 *db);
static int	 evidence_write(struct evidence *ev,
		    struct evidence_record **recs, size_t n, char *err,
		    size_t errlen);
static int	 record_run(struct evidence *ev, sqlite3_stmt **cached,
		    const char *sql, const struct evidence_record *r);
static void	 evidence_gather(struct evidence *ev);
static void	 record_bind(sqlite3_stmt *st, const struct evidence_record *r);
static const struct field *record_field(const struct evidence_record *r,
		    const char *name);
static struct field *record_slot(struct evidence_record *r,
		    const char *name);

/* TLS versions by name, with their protocol numbers. */
static const struct {
	const char	*name;
	int		 rank;
} tls_ranks[] = {
	{ "SSLv3", 0x0300 },
	{ "TLSv1", 0x0301 },
	{ "TLSv1.1", 0x0302 },
	{ "TLSv1.2", 0x0303 },
	{ "TLSv1.3", 0x0304 },
};

/* Start the writer thread; it opens the database itself. */
struct evidence *
evidence_start(const char *state_dir, unsigned days)
{
	struct evidence *ev = xcalloc(1, sizeof(*ev));

	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->wake, NULL);
	pthread_cond_init(&ev->written, NULL);
	ev->queue = xcalloc(EVIDENCE_QUEUE_MAX, sizeof(*ev->queue));
	ev->dir = xstrdup(state_dir);
	xasprintf(&ev->path, "%s/%s", state_dir, EVIDENCE_DB_NAME);
	ev->days = days;
	if (pthread_create(&ev->thread, NULL, evidence_main, ev) != 0)
		fatalx("evidence: cannot start the writer thread");
	return ev;
}

/* Write what is queued, stop the thread and free everything. */
void
evidence_stop(struct evidence *ev)
{
	if (ev == NULL)
		return;
	pthread_mutex_lock(&ev->lock);
	ev->stopping = true;
	pthread_cond_signal(&ev->wake);
	pthread_mutex_unlock(&ev->lock);
	pthread_join(ev->thread, NULL);
	evidence_close(ev);
	pthread_mutex_destroy(&ev->lock);
	pthread_cond_destroy(&ev->wake);
	pthread_cond_destroy(&ev->written);
	free(ev->queue);
	free(ev->dir);
	free(ev->path);
	free(ev);
}

/* Block until every record queued so far is written or dropped. */
void
evidence_flush(struct evidence *ev)
{
	unsigned long long target;

	pthread_mutex_lock(&ev->lock);
	target = ev->submitted;
	while (ev->finished < target)
		pthread_cond_wait(&ev->written, &ev->lock);
	pthread_mutex_unlock(&ev->lock);
}

/* Queue a record for the writer, or drop it when the queue is full. */
void
evidence_submit(struct evidence *ev, struct evidence_record *r)
{
	bool queued = false;

	if (ev == NULL) {
		evidence_record_free(r);
		return;
	}
	pthread_mutex_lock(&ev->lock);
	if (ev->nqueued < EVIDENCE_QUEUE_MAX) {
		ev->queue[ev->nqueued++] = r;
		ev->submitted++;
		queued = true;
		pthread_cond_signal(&ev->wake);
	} else
		ev->dropped++;
	pthread_mutex_unlock(&ev->lock);
	if (!queued)
		evidence_record_free(r);
}

/* The writer: take what is queued, write it as one batch, until stopped. */
static void *
evidence_main(void *arg)
{
	struct evidence *ev = arg;
	struct evidence_record **batch;
	size_t n;

	batch = xcalloc(EVIDENCE_QUEUE_MAX, sizeof(*batch));
	evidence_ready(ev, time(NULL));
	while ((n = evidence_wait(ev, &batch)) != (size_t)-1) {
		evidence_batch(ev, batch, n);
		evidence_finish(ev, n);
	}
	free(batch);
	return NULL;
}

/* Wait for records or the daily prune; move the queue into batch. Returns
 * the number taken, or -1 once stopped with nothing left. */
static size_t
evidence_wait(struct evidence *ev, struct evidence_record ***batch)
{
	struct timespec until = { ev->next_prune > 0 ? ev->next_prune :
	    time(NULL) + PRUNE_SECONDS, 0 };
	size_t n;

	pthread_mutex_lock(&ev->lock);
	while (ev->nqueued == 0 && !ev->stopping && time(NULL) < until.tv_sec)
		pthread_cond_timedwait(&ev->wake, &ev->lock, &until);
	evidence_gather(ev);
	n = ev->nqueued;
	memcpy(*batch, ev->queue, n * sizeof(**batch));
	ev->nqueued = 0;
	pthread_mutex_unlock(&ev->lock);
	return n == 0 && ev->stopping ? (size_t)-1 : n;
}

/* With the lock held and records queued, let more join the batch for a
 * moment: one transaction for many sessions instead of one each. */
static void
evidence_gather(struct evidence *ev)
{
	struct timespec until;

	if (ev->nqueued == 0)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += BATCH_WINDOW_NS;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	while (!ev->stopping && ev->nqueued < BATCH_FULL &&
	    pthread_cond_timedwait(&ev->wake, &ev->lock, &until) == 0)
		;
}

/* Write one batch in one transaction (or drop it), and prune when due. */
static void
evidence_batch(struct evidence *ev, struct evidence_record **batch, size_t n)
{
	char err[256];
	size_t i;
	int rc = SQLITE_OK;

	if (!evidence_ready(ev, time(NULL)))
		rc = SQLITE_CANTOPEN;
	else if (n > 0)
		rc = evidence_write(ev, batch, n, err, sizeof(err));
	if (rc != SQLITE_OK && n > 0) {
		pthread_mutex_lock(&ev->lock);
		ev->dropped += n;
		pthread_mutex_unlock(&ev->lock);
	}
	if (evidence_corrupt(rc))
		evidence_move_aside(ev);
	else if (rc != SQLITE_OK && rc != SQLITE_CANTOPEN)
		evidence_warn(ev, "cannot write", err);
	for (i = 0; i < n; i++)
		evidence_record_free(batch[i]);
}

/* Count a finished batch and wake anyone waiting in evidence_flush. */
static void
evidence_finish(struct evidence *ev, size_t n)
{
	pthread_mutex_lock(&ev->lock);
	ev->finished += n;
	pthread_cond_broadcast(&ev->written);
	pthread_mutex_unlock(&ev->lock);
}

/* Have an open database (retrying at most once a minute) and prune it when
 * a day has passed; false if there is none. */
static bool
evidence_ready(struct evidence *ev, time_t now)
{
	if (ev->db == NULL && now >= ev->next_open && !evidence_open(ev))
		ev->next_open = now + EVIDENCE_WARN_SECONDS;
	if (ev->db == NULL)
		return false;
	if (now >= ev->next_prune) {
		if (!evidence_prune(ev->db, ev->days, now))
			evidence_warn(ev, "cannot prune", sqlite3_errmsg(ev->db));
		ev->next_prune = now + PRUNE_SECONDS;
	}
	return true;
}

/* Open the file in WAL mode and migrate it; a corrupt file is moved aside
 * and a new one started. */
static bool
evidence_open(struct evidence *ev)
{
	char err[256];

	if (mkdir(ev->dir, 0750) == -1 && errno != EEXIST) {
		evidence_warn(ev, "cannot create", strerror(errno));
		return false;
	}
	if (sqlite3_open_v2(ev->path, &ev->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		evidence_warn(ev, "cannot open", sqlite3_errmsg(ev->db));
		evidence_close(ev);
		return false;
	}
	sqlite3_busy_timeout(ev->db, EVIDENCE_BUSY_MS);
	switch (evidence_check(ev->db, err, sizeof(err))) {
	case CHECK_OK:
		return true;
	case CHECK_CORRUPT:
		if (evidence_move_aside(ev))
			return evidence_open(ev);
		break;
	case CHECK_FAILED:
		break;
	}
	evidence_warn(ev, "cannot use", err);
	evidence_close(ev);
	return false;
}

/* Check the file, set WAL and NORMAL sync, and migrate its schema; the
 * reason in err when it is not OK. */
static enum check_result
evidence_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	bool ok;

	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return evidence_corrupt(sqlite3_errcode(db)) ? CHECK_CORRUPT :
		    CHECK_FAILED;
	}
	ok = sqlite3_step(st) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
	sqlite3_finalize(st);
	if (!ok) {
		snprintf(err, errlen, "integrity check failed");
		return CHECK_CORRUPT;
	}
	if (evidence_exec(db, "PRAGMA journal_mode=WAL;"
	    "PRAGMA synchronous=NORMAL", err, errlen) &&
	    evidence_migrate(db, evidence_schema_version(), err, errlen))
		return CHECK_OK;
	return evidence_corrupt(sqlite3_errcode(db)) ? CHECK_CORRUPT :
	    CHECK_FAILED;
}

/* Does an SQLite result code say the file is damaged? */
static bool
evidence_corrupt(int rc)
{
	return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

/* Rename a corrupt file (and its WAL) with a time stamp, and say so;
 * false if the file could not be renamed. */
static bool
evidence_move_aside(struct evidence *ev)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char stamp[32], *from, *to;
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	bool moved = false;

	evidence_close(ev);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < nitems(suffixes); i++) {
		xasprintf(&from, "%s%s", ev->path, suffixes[i]);
		xasprintf(&to, "%s.corrupt-%s%s", ev->path, stamp,
		    suffixes[i]);
		if (rename(from, to) == 0 && i == 0) {
			log_warnx("evidence: %s is corrupt: moved to %s, "
			    "starting a new one", from, to);
			moved = true;
		} else if (i == 0)
			evidence_warn(ev, "cannot move aside", strerror(errno));
		free(from);
		free(to);
	}
	return moved;
}

/* Close the database, if open, with the statements prepared on it. */
static void
evidence_close(struct evidence *ev)
{
	size_t k, i;

	for (k = 0; k < EVIDENCE_KIND_COUNT; k++)
		for (i = 0; i < EVIDENCE_SQL_MAX; i++) {
			sqlite3_finalize(ev->stmts[k][i]);
			ev->stmts[k][i] = NULL;
		}
	if (ev->db != NULL)
		sqlite3_close(ev->db);
	ev->db = NULL;
}

/* Warn about the store at most once a minute; sessions go on. */
static void
evidence_warn(struct evidence *ev, const char *what, const char *detail)
{
	time_t now = time(NULL);
	unsigned long dropped;

	if (now - ev->last_warn < EVIDENCE_WARN_SECONDS && ev->last_warn != 0)
		return;
	ev->last_warn = now;
	pthread_mutex_lock(&ev->lock);
	dropped = ev->dropped;
	ev->dropped = 0;
	pthread_mutex_unlock(&ev->lock);
	log_warnx("evidence: %s %s: %s (sessions go on; %lu records not "
	    "kept)", what, ev->path, detail, dropped);
}

/* Run SQL without results; false with the message in err. */
static bool
evidence_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return true;
	snprintf(err, errlen, "%s", msg != NULL ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return false;
}

/* The schema version of db: 0 when it has no schema_version table, -1 on
 * error. */
static int
evidence_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int v = -1, rc;

	rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1,
	    &st, NULL);
	if (rc != SQLITE_OK)
		return strstr(sqlite3_errmsg(db), "no such table") != NULL ?
		    0 : -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Bring the schema up to version target in one transaction. */
bool
evidence_migrate(sqlite3 *db, int target, char *err, size_t errlen)
{
	char *sql;
	int v;
	bool ok = true;

	if (!evidence_exec(db, "BEGIN IMMEDIATE", err, errlen))
		return false;
	if ((v = evidence_version(db)) < 0) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		ok = false;
	} else if (v > evidence_schema_version()) {
		snprintf(err, errlen, "schema version %d is newer than this "
		    "build's %d", v, evidence_schema_version());
		ok = false;
	}
	for (; ok && v < target; v++) {
		xasprintf(&sql, "%s; UPDATE schema_version SET version = %d",
		    evidence_migration(v), v + 1);
		ok = evidence_exec(db, sql, err, errlen);
		free(sql);
	}
	if (!ok) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return false;
	}
	return evidence_exec(db, "COMMIT", err, errlen);
}

/* Delete per-session rows older than days; summaries stay. */
bool
evidence_prune(sqlite3 *db, unsigned days, time_t now)
{
	sqlite3_stmt *st;
	size_t i;
	bool ok = true;

	for (i = 0; ok && i < evidence_prune_count; i++) {
		if (sqlite3_prepare_v2(db, evidence_prune_sql[i], -1, &st,
		    NULL) != SQLITE_OK)
			return false;
		sqlite3_bind_int64(st, 1, (sqlite3_int64)now -
		    (sqlite3_int64)days * 86400);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_finalize(st);
	}
	return ok;
}

/* Write one batch of records in one transaction; SQLITE_OK or the code
 * of the error, whose text is in err. */
static int
evidence_write(struct evidence *ev, struct evidence_record **recs, size_t n,
    char *err, size_t errlen)
{
	const struct evidence_statements *sts;
	sqlite3 *db = ev->db;
	size_t i, j;
	int rc;

	if ((rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) !=
	    SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return rc;
	}
	for (i = 0; rc == SQLITE_OK && i < n; i++) {
		sts = evidence_kind_statements(recs[i]->kind);
		for (j = 0; rc == SQLITE_OK && j < sts->n; j++)
			rc = record_run(ev, &ev->stmts[recs[i]->kind][j],
			    sts->sql[j], recs[i]);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return rc;
	snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Run one statement (prepared once per connection, in *cached) with the
 * record's values bound by name; SQLITE_OK or the error's code. */
static int
record_run(struct evidence *ev, sqlite3_stmt **cached, const char *sql,
    const struct evidence_record *r)
{
	int rc;

	if (*cached == NULL && (rc = sqlite3_prepare_v3(ev->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, cached, NULL)) != SQLITE_OK)
		return rc;
	record_bind(*cached, r);
	rc = sqlite3_step(*cached);
	sqlite3_reset(*cached);
	sqlite3_clear_bindings(*cached);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Bind each :name of the statement to the record's value (NULL if none). */
static void
record_bind(sqlite3_stmt *st, const struct evidence_record *r)
{
	const struct field *f;
	const char *name;
	int i;

	for (i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		name = sqlite3_bind_parameter_name(st, i);
		if (name == NULL || (f = record_field(r, name + 1)) == NULL)
			continue;
		if (f->type == FIELD_TEXT)
			sqlite3_bind_text(st, i, f->text, -1, SQLITE_STATIC);
		else if (f->type == FIELD_NUM)
			sqlite3_bind_int64(st, i, f->num);
	}
}

/* The record's value called name, or NULL. */
static const struct field *
record_field(const struct evidence_record *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->fields[i].name, name) == 0)
			return &r->fields[i];
	return NULL;
}

/* A new record of kind, time-stamped now. */
struct evidence_record *
evidence_record_new(enum evidence_kind kind)
{
	struct evidence_record *r = xcalloc(1, sizeof(*r));

	r->kind = kind;
	evidence_record_num(r, "time", (long long)time(NULL));
	return r;
}

/* The slot for name: its old value cleared, or a new one. */
static struct field *
record_slot(struct evidence_record *r, const char *name)
{
	struct field *f = (struct field *)record_field(r, name);

	if (f == NULL) {
		if (r->n == RECORD_FIELDS_MAX)
			fatalx("evidence: more than %d fields in a record",
			    RECORD_FIELDS_MAX);
		f = &r->fields[r->n++];
		f->name = name;
	}
	free(f->text);
	f->text = NULL;
	f->type = FIELD_NULL;
	return f;
}

/* Set a named text value (NULL: SQL NULL). */
void
evidence_record_text(struct evidence_record *r, const char *name,
    const char *value)
{
	struct field *f = record_slot(r, name);

	if (value != NULL) {
		f->type = FIELD_TEXT;
		f->text = xstrdup(value);
	}
}

/* Set a named integer value. */
void
evidence_record_num(struct evidence_record *r, const char *name,
    long long value)
{
	struct field *f = record_slot(r, name);

	f->type = FIELD_NUM;
	f->num = value;
}

/* Free a record and its values. */
void
evidence_record_free(struct evidence_record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->fields[i].text);
	free(r);
}

/* The protocol number of a TLS version name, 0 if unknown. */
int
evidence_tls_rank(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < nitems(tls_ranks); i++)
		if (strcmp(tls_ranks[i].name, name) == 0)
			return tls_ranks[i].rank;
	return 0;
}

/* The offered_max= version of a ClientHello summary, copied into name;
 * 0 (name "") when there is none. */
int
evidence_offered_rank(const char *hello, char *name, size_t len)
{
	const char *p = hello != NULL ? strstr(hello, "offered_max=") : NULL;
	size_t n;

	name[0] = '\0';
	if (p == NULL)
		return 0;
	p += strlen("offered_max=");
	n = strcspn(p, " ");
	snprintf(name, len, "%.*s", (int)n, p);
	return evidence_tls_rank(name);
}
