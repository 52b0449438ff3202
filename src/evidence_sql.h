/* The exit register's SQL: schema migrations and per-kind statements. */
#ifndef TLSRELAY_EVIDENCE_SQL_H
#define TLSRELAY_EVIDENCE_SQL_H

#include <stddef.h>

#define EVIDENCE_SQL_MAX	2	/* statements one kind of record runs */

/* What a record says; each kind has its statements in evidence_sql.c. */
enum evidence_kind {
	EVIDENCE_SESSION,	/* one session of a known device */
	EVIDENCE_MESSAGE,	/* a message the SMTP upstream accepted */
	EVIDENCE_FAILURE,	/* a failure inside a session (SMTP refusal) */
	EVIDENCE_FOLDER,	/* an IMAP folder selected or examined */
	EVIDENCE_CENSUS,	/* an unknown client refused */
	EVIDENCE_NOTICE,	/* an owner notice sent, or tried */
	EVIDENCE_KIND_COUNT
};

/* The statements one kind of record runs, each with :named parameters
 * bound from the record's values. */
struct evidence_statements {
	const char *const	*sql;
	size_t			 n;
};

extern const char *const evidence_prune_sql[];	/* ?1: the cut-off time */
extern const size_t	 evidence_prune_count;

/* The schema version this build writes and reads. */
int		 evidence_schema_version(void);
/* The SQL bringing the schema from version to version + 1. */
const char	*evidence_migration(int version);
const struct evidence_statements *evidence_kind_statements(
		    enum evidence_kind kind);

#endif
