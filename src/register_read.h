/* The register's rows read from a database and the configuration: shared
 * by tlsrelayctl and the daemon's owner notices. */
#ifndef TLSRELAY_REGISTER_READ_H
#define TLSRELAY_REGISTER_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "config.h"
#include "notice.h"
#include "report.h"

/* The rows of cfg's devices, one per device and protocol path. */
struct register_rows {
	const struct config	*cfg;
	struct report_row	*rows;
	size_t			 n;
};

/* Add a row for every device's allowed protocol. */
void	register_rows_allowed(struct register_rows *rr);
/* Merge one database's per-path summaries and IMAP folders into the rows
 * of configured devices (counts add up, the latest texts win); false with
 * SQLite's message in err. */
bool	register_rows_read(struct register_rows *rr, sqlite3 *db, char *err,
	    size_t len);
/* Set every row's flags as of today (a civil day) and now. */
void	register_rows_flag(struct register_rows *rr, int32_t today,
	    long long now);

/* Copy one device's rows into out (room for rr->n rows); how many. */
size_t	register_rows_of(const struct register_rows *rr,
	    const struct device *d, struct report_row *out);

/* How far an owner notice got, as one database records it. */
enum notice_state {
	NOTICE_UNSENT,		/* never tried, or tried and failed before */
	NOTICE_TRIED_TODAY,	/* tried and failed today: again tomorrow */
	NOTICE_SENT,
};

/* The state of the notice k in db as of today (a register from before
 * notices has none: NOTICE_UNSENT). */
enum notice_state register_notice_state(sqlite3 *db,
	    const struct notice_key *k, int32_t today);

/* The configured device called name, or NULL. */
const struct device *register_device(const struct config *cfg,
	    const char *name);
/* A named column of a statement's current row as a number (0 if NULL or
 * absent) or as text ("" if NULL or absent). */
long long register_col_num(sqlite3_stmt *st, const char *name);
const char *register_col_text(sqlite3_stmt *st, const char *name);

#endif
