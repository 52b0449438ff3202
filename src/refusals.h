/* A rate limit for the log lines of refused client addresses. */
#ifndef TLSRELAY_REFUSALS_H
#define TLSRELAY_REFUSALS_H

#include <stdbool.h>
#include <time.h>

#define REFUSALS_WINDOW	60	/* seconds: one line per address per window */
#define REFUSALS_SLOTS	256	/* addresses remembered at once */

/* One remembered address: when its last line was logged, and how many
 * refusals were not logged since. */
struct refusal_slot {
	char		 client[64];
	time_t		 logged;
	unsigned	 suppressed;
};

struct refusals {
	struct refusal_slot slot[REFUSALS_SLOTS];
};

/*
 * Should the refusal of client at now be logged? True at most once per
 * REFUSALS_WINDOW per address, with *suppressed set to the refusals left
 * unlogged since its last line; false (and counted) otherwise. An address
 * pushed out of the table by another is logged again at once.
 */
bool	refusals_log_due(struct refusals *r, const char *client, time_t now,
	    unsigned *suppressed);

#endif
