/* A rate limit for the log lines of refused client addresses: a flood of
 * connections from one unknown address costs one line a minute. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "refusals.h"

static struct refusal_slot *refusals_slot(struct refusals *r,
		    const char *client);

/* The slot an address hashes to (FNV-1a). */
static struct refusal_slot *
refusals_slot(struct refusals *r, const char *client)
{
	uint32_t h = 2166136261u;

	for (; *client != '\0'; client++)
		h = (h ^ (unsigned char)*client) * 16777619u;
	return &r->slot[h % REFUSALS_SLOTS];
}

/* Log this refusal, or count it for the address's next line. */
bool
refusals_log_due(struct refusals *r, const char *client, time_t now,
    unsigned *suppressed)
{
	struct refusal_slot *s = refusals_slot(r, client);

	if (strcmp(s->client, client) == 0 &&
	    now - s->logged < REFUSALS_WINDOW) {
		s->suppressed++;
		return false;
	}
	*suppressed = strcmp(s->client, client) == 0 ? s->suppressed : 0;
	snprintf(s->client, sizeof(s->client), "%s", client);
	s->logged = now;
	s->suppressed = 0;
	return true;
}
