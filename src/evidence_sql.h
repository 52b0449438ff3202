/* The exit register's SQL: schema migrations and per-kind statements. */
#ifndef TLSRELAY_EVIDENCE_SQL_H
#define TLSRELAY_EVIDENCE_SQL_H

#include <stddef.h>

#include "evidence.h"

/* The statements one kind of record runs, each with :named parameters
 * bound from the record's values. */
struct evidence_statements {
	const char *const	*sql;
	size_t			 n;
};

extern const char *const evidence_prune_sql[];	/* ?1: the cut-off time */
extern const size_t	 evidence_prune_count;

/* The SQL bringing the schema from version to version + 1. */
const char	*evidence_migration(int version);
const struct evidence_statements *evidence_kind_statements(
		    enum evidence_kind kind);

#endif
