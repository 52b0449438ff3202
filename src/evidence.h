/* The exit register's store: records queued on the loop, written to SQLite
 * in batches by a thread of its own. */
#ifndef TLSRELAY_EVIDENCE_H
#define TLSRELAY_EVIDENCE_H

#include <stdbool.h>
#include <time.h>

#include <sqlite3.h>

#include "evidence_sql.h"

#define EVIDENCE_DB_NAME	"evidence.db"
#define EVIDENCE_QUEUE_MAX	20000	/* records held while the disk lags */
#define EVIDENCE_WARN_SECONDS	60	/* at most one store warning a minute */

struct evidence;
struct evidence_record;


/*
 * Start the writer thread, which creates state_dir if it is missing, opens
 * (or moves aside a corrupt file and recreates) state_dir/evidence.db,
 * migrates its schema and prunes per-session rows older than days. Nothing
 * on the caller's thread touches the file. Never fails: while the file
 * cannot be written, records are dropped and a warning is logged at most
 * once a minute.
 */
struct evidence	*evidence_start(const char *state_dir, unsigned days);
/* Write what is queued, stop the thread and free everything. NULL is
 * ignored. */
void		 evidence_stop(struct evidence *ev);
/* Block until every record queued so far is written or dropped (tests and
 * tlsrelayctl's own writes). */
void		 evidence_flush(struct evidence *ev);

/* A new record of kind, time-stamped now. */
struct evidence_record *evidence_record_new(enum evidence_kind kind);
/* Set a named text value (NULL stores SQL NULL); the text is copied. */
void		 evidence_record_text(struct evidence_record *r,
		    const char *name, const char *value);
/* Set a named integer value. */
void		 evidence_record_num(struct evidence_record *r,
		    const char *name, long long value);
/* Queue the record for the writer (it takes the record); with ev NULL, or
 * the queue full, the record is dropped. Only takes a lock. */
void		 evidence_submit(struct evidence *ev, struct evidence_record *r);
void		 evidence_record_free(struct evidence_record *r);

/* Bring db's schema up to version target (at most the current one) in one
 * transaction; false with the SQLite message in err. */
bool		 evidence_migrate(sqlite3 *db, int target, char *err,
		    size_t errlen);
/* Delete per-session rows older than days before now; false on error. */
bool		 evidence_prune(sqlite3 *db, unsigned days, time_t now);

/* The TLS protocol version number of a name ("TLSv1.2" -> 0x0303), 0 if
 * unknown; and of the offered_max= of a ClientHello summary. */
int		 evidence_tls_rank(const char *name);
int		 evidence_offered_rank(const char *hello, char *name,
		    size_t len);

#endif
