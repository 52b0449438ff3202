/* Owner notices from the daemon: shortly after start and then every hour,
 * the notices due and neither sent nor tried today go out one at a time;
 * each outcome is recorded in the register. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "date.h"
#include "devices.h"
#include "evidence.h"
#include "log.h"
#include "notice.h"
#include "notice_run.h"
#include "notice_send.h"
#include "register_read.h"
#include "session_env.h"
#include "util.h"

#define NOTICE_FIRST_DELAY	5	/* seconds after start */
#define NOTICE_INTERVAL		3600	/* seconds between runs */
#define NOTICE_KEY_TEXT		320	/* device, sunset and threshold */

/* One notice to send in this run: a device's, or the digest (dev NULL,
 * threshold NOTICE_DIGEST). */
struct pending {
	const struct device	*dev;
	int			 threshold;
};

/* A notice this process sent or tried: the register may be unwritable, and
 * a notice must still not go out twice. */
struct attempt {
	char		 key[NOTICE_KEY_TEXT];
	bool		 sent;
	int32_t		 day;
};

struct notices {
	struct session_env	*env;
	struct config		*cfg;		/* of the run in progress */
	struct event		*timer;
	struct notice_send	*send;		/* the one in flight */
	struct register_rows	 rows;		/* the register, for the text */
	struct pending		*pending;
	size_t			 npending, next;
	int32_t			 today;		/* of the run in progress */
	struct attempt		*attempts;	/* since start */
	size_t			 nattempts;
};

static void	 notices_tick(evutil_socket_t fd, short what, void *arg);
static void	 notices_collect(struct notices *nt, sqlite3 *db,
		    int32_t today);
static void	 notices_add(struct notices *nt, sqlite3 *db,
		    const struct device *d, int threshold, int32_t today);
static void	 notices_next(struct notices *nt);
static char	*notices_compose(struct notices *nt, const struct pending *p);
static void	 notices_sent(bool ok, const char *reason, void *arg);
static void	 notices_record(struct notices *nt,
		    const struct notice_key *k, const char *to, bool ok,
		    const char *reason);
static const char *notices_to(const struct notices *nt,
		    const struct pending *p);
static struct attempt *notices_attempt(struct notices *nt,
		    const struct notice_key *k, bool add);
static void	 notices_end_run(struct notices *nt);

/* Start the hourly runs when the configuration has a notices section. */
struct notices *
notices_start(struct session_env *env)
{
	struct notices *nt = xcalloc(1, sizeof(*nt));
	struct timeval first = { NOTICE_FIRST_DELAY, 0 };

	nt->env = env;
	nt->timer = evtimer_new(env->base, notices_tick, nt);
	if (nt->timer == NULL)
		fatal("out of memory");
	evtimer_add(nt->timer, &first);
	return nt;
}

/* Abandon a run in progress and free everything. NULL is ignored. */
void
notices_stop(struct notices *nt)
{
	if (nt == NULL)
		return;
	if (nt->send != NULL)
		notice_send_cancel(nt->send);
	notices_end_run(nt);
	event_free(nt->timer);
	free(nt->attempts);
	free(nt);
}

/* A run: collect what is due under the current configuration, then send
 * it one notice after the other. */
static void
notices_tick(evutil_socket_t fd, short what, void *arg)
{
	struct notices *nt = arg;
	struct timeval again = { NOTICE_INTERVAL, 0 };
	char path[4096], err[256];
	sqlite3 *db = NULL;

	(void)fd;
	(void)what;
	evtimer_add(nt->timer, &again);
	if (nt->cfg != NULL || !nt->env->cfg->notices.configured)
		return;		/* a run still going, or nothing to send */
	nt->cfg = config_ref(nt->env->cfg);
	nt->today = date_today(time(NULL));
	snprintf(path, sizeof(path), "%s/%s", nt->cfg->state_dir,
	    EVIDENCE_DB_NAME);
	nt->rows = (struct register_rows){ nt->cfg, NULL, 0 };
	register_rows_allowed(&nt->rows);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || !register_rows_read(&nt->rows, db, err, sizeof(err)))
		log_warnx("notices: cannot read %s: %s; none sent this hour",
		    path, sqlite3_errmsg(db));
	else
		notices_collect(nt, db, nt->today);
	register_rows_flag(&nt->rows, nt->today, time(NULL));
	sqlite3_close(db);
	log_info("event=notices_run due=%zu", nt->npending);
	notices_next(nt);
}

/* The devices with an owner address whose due notice is neither sent nor
 * tried today, then the digest of this week if there is an admin. */
static void
notices_collect(struct notices *nt, sqlite3 *db, int32_t today)
{
	const struct device *d;
	size_t i;
	int t;

	for (i = 0; i < nt->cfg->ndevices; i++) {
		d = &nt->cfg->devices[i];
		t = notice_due(&nt->cfg->notices, d->sunset, today);
		if (t != NOTICE_NONE && d->owner != NULL &&
		    strchr(d->owner, '@') != NULL)
			notices_add(nt, db, d, t, today);
	}
	if (nt->cfg->notices.admin != NULL)
		notices_add(nt, db, NULL, NOTICE_DIGEST, today);
}

/* Add a notice to the run's list unless the register has it sent or
 * tried today (a failure is retried the next day). */
static void
notices_add(struct notices *nt, sqlite3 *db, const struct device *d,
    int threshold, int32_t today)
{
	struct notice_key k;

	const struct attempt *a;

	notice_key_make(&k, d, threshold, today);
	a = notices_attempt(nt, &k, false);
	if ((a != NULL && (a->sent || a->day == today)) ||
	    register_notice_state(db, &k, today) != NOTICE_UNSENT)
		return;
	nt->pending = xreallocarray(nt->pending, nt->npending + 1,
	    sizeof(*nt->pending));
	nt->pending[nt->npending++] = (struct pending){ d, threshold };
}

/* Send the next pending notice, or end the run. */
static void
notices_next(struct notices *nt)
{
	const struct pending *p;
	char *text;

	if (nt->next == nt->npending) {
		notices_end_run(nt);
		return;
	}
	p = &nt->pending[nt->next];
	text = notices_compose(nt, p);
	nt->send = notice_send_start(nt->env, nt->cfg, notices_to(nt, p), text,
	    notices_sent, nt);
	free(text);
	if (nt->send == NULL)
		notices_sent(false, "out of memory", nt);
}

/* The message of a pending notice, with the register's rows (the
 * device's, or all of them for the digest). */
static char *
notices_compose(struct notices *nt, const struct pending *p)
{
	struct report_row *rows = xcalloc(nt->rows.n + 1, sizeof(*rows));
	struct notice n = { nt->cfg, p->dev, nt->rows.rows, nt->rows.n,
	    p->threshold, nt->today, time(NULL) };
	char *text;

	if (p->dev == NULL)
		text = notice_digest_compose(&n);
	else {
		n.rows = rows;
		n.nrows = register_rows_of(&nt->rows, p->dev, rows);
		text = notice_compose(&n);
	}
	free(rows);
	return text;
}

/* One notice went out, or did not: record it and go on. */
static void
notices_sent(bool ok, const char *reason, void *arg)
{
	struct notices *nt = arg;
	const struct pending *p = &nt->pending[nt->next];
	const char *to = notices_to(nt, p);
	struct notice_key k;

	nt->send = NULL;
	notice_key_make(&k, p->dev, p->threshold, nt->today);
	if (ok)
		log_info("event=notice_sent device=%s threshold=%s to=%s "
		    "reply=\"%s\"", p->dev != NULL ? k.device : "-",
		    k.threshold, to, reason);
	else
		log_warnx("event=notice_failed device=%s threshold=%s to=%s "
		    "reason=\"%s\" retry=tomorrow",
		    p->dev != NULL ? k.device : "-", k.threshold, to, reason);
	notices_record(nt, &k, to, ok, reason);
	nt->next++;
	notices_next(nt);
}

/* Queue the attempt for the register's writer. */
static void
notices_record(struct notices *nt, const struct notice_key *k,
    const char *to, bool ok, const char *reason)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_NOTICE);
	struct attempt *a = notices_attempt(nt, k, true);

	a->sent = a->sent || ok;
	a->day = nt->today;
	evidence_record_text(r, "device", k->device);
	evidence_record_text(r, "sunset", k->sunset);
	evidence_record_text(r, "threshold", k->threshold);
	evidence_record_text(r, "owner", to);
	if (ok)
		evidence_record_num(r, "sent", (long long)time(NULL));
	evidence_record_text(r, "error", ok ? NULL : reason);
	evidence_submit(nt->env->evidence, r);
}

/* This process's attempt at the notice k, added if asked and new. */
static struct attempt *
notices_attempt(struct notices *nt, const struct notice_key *k, bool add)
{
	char key[NOTICE_KEY_TEXT];
	size_t i;

	snprintf(key, sizeof(key), "%s/%s/%s", k->device, k->sunset,
	    k->threshold);
	for (i = 0; i < nt->nattempts; i++)
		if (strcmp(nt->attempts[i].key, key) == 0)
			return &nt->attempts[i];
	if (!add)
		return NULL;
	nt->attempts = xreallocarray(nt->attempts, nt->nattempts + 1,
	    sizeof(*nt->attempts));
	memset(&nt->attempts[nt->nattempts], 0, sizeof(*nt->attempts));
	memcpy(nt->attempts[nt->nattempts].key, key, sizeof(key));
	return &nt->attempts[nt->nattempts++];
}

/* Where a pending notice goes: the device's owner, or the admin. */
static const char *
notices_to(const struct notices *nt, const struct pending *p)
{
	return p->dev != NULL ? p->dev->owner : nt->cfg->notices.admin;
}

/* Forget the run's list and configuration. */
static void
notices_end_run(struct notices *nt)
{
	free(nt->pending);
	nt->pending = NULL;
	free(nt->rows.rows);
	nt->rows = (struct register_rows){ 0 };
	nt->npending = nt->next = 0;
	config_unref(nt->cfg);
	nt->cfg = NULL;
}
