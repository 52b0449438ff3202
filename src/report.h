/* tlsrelayctl's register rows and their formats: pure functions over rows
 * already read from the databases and the configuration. */
#ifndef TLSRELAY_REPORT_H
#define TLSRELAY_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define REPORT_STALE_DAYS	30	/* a path unused this long is stale */
#define REPORT_TEXT		512

/* Flags of a register row. */
enum {
	FLAG_DIRECT = 1 << 0,	/* offered TLS 1.2+: could reach Exchange */
	FLAG_RETEST_OVERDUE = 1 << 1,
	FLAG_NO_EVIDENCE = 1 << 2,	/* no session of this path worked */
	FLAG_UNUSED = 1 << 3,	/* allowed, unused for REPORT_STALE_DAYS */
};

/* One device and protocol path: the configuration's facts and the
 * evidence merged from every database. Times are Unix seconds, 0: never. */
struct report_row {
	const struct device *dev;
	enum proto	 proto;
	bool		 allowed;
	long long	 sessions, ok_sessions, first_seen, last_seen, last_ok;
	long long	 last_refused, last_failure_time, best_rank;
	long long	 messages, last_message_time;
	long long	 stat, list, retr, retr_bytes, top, dele;
	long long	 selects, fetches, appends;
	char		 tls_used[64], best_offered[16], up_tls[16];
	char		 last_message_id[256], last_queue_id[64];
	char		 last_sender[256], last_failure[REPORT_TEXT];
	char		 folders[REPORT_TEXT];
	unsigned	 flags;
};

/* Set a row's flags as of today (a civil day number) and now. */
void	report_flag(struct report_row *r, int32_t today, long long now);
/* The flags as words ("direct,retest-overdue"), "" if none. */
void	report_flag_names(unsigned flags, char *dst, size_t len);

/* A device's status over its rows: "expired", "expiring", "never seen",
 * "stale" or "ok". */
const char *report_device_status(const struct device *dev,
	    const struct report_row *rows, size_t n, int32_t today,
	    unsigned warn_days, long long now);

/* What tlsrelayctl expiring says of a device: 0 nothing, 1 expires within
 * days (or expired, quiet), 2 expired and still connecting (a session or
 * a refusal after its sunset day, in local time as the daemon counts). */
int	report_expiry_level(const struct device *dev,
	    const struct report_row *rows, size_t n, int32_t today,
	    unsigned days);

/* The register as text (one block per row), CSV (a header line, then
 * RFC 4180 rows) or JSON (an array of objects). */
void	report_write_text(FILE *out, const struct report_row *rows, size_t n,
	    int32_t today);
void	report_write_csv(FILE *out, const struct report_row *rows, size_t n,
	    int32_t today);
void	report_write_json(FILE *out, const struct report_row *rows, size_t n,
	    int32_t today);

/* A time as "YYYY-MM-DD HH:MM" UTC, or "never" for 0. */
void	report_time(long long t, char *dst, size_t len);

#endif
