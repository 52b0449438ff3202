/* The register's rows read from a database and the configuration: shared
 * by tlsrelayctl and the daemon's owner notices. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "register_read.h"
#include "util.h"

static struct report_row *rows_row(struct register_rows *rr,
		    const struct device *dev, enum proto proto);
static int	 rows_merge_paths(struct register_rows *rr, sqlite3 *db);
static void	 rows_merge_path(struct report_row *r, sqlite3_stmt *st);
static void	 rows_merge_texts(struct report_row *r, sqlite3_stmt *st);
static int	 rows_merge_folders(struct register_rows *rr, sqlite3 *db);
static void	 folder_add(struct report_row *r, const char *folder);
static void	 list_merge(char *dst, size_t len, const char *items);
static void	 keep_later(char *dst, size_t len, const char *text,
		    bool later);

/* A row for every device's allowed protocol. */
void
register_rows_allowed(struct register_rows *rr)
{
	const struct device *d;
	size_t i;
	int p;

	for (i = 0; i < rr->cfg->ndevices; i++) {
		d = &rr->cfg->devices[i];
		for (p = 0; p < PROTO_COUNT; p++)
			if (d->protocols & (1u << p))
				rows_row(rr, d, p)->allowed = true;
	}
}

/* Merge one database's summaries and folders. */
bool
register_rows_read(struct register_rows *rr, sqlite3 *db, char *err,
    size_t len)
{
	if (rows_merge_paths(rr, db) == SQLITE_OK &&
	    rows_merge_folders(rr, db) == SQLITE_OK)
		return true;
	snprintf(err, len, "%s", sqlite3_errmsg(db));
	return false;
}

/* Every row's flags. */
void
register_rows_flag(struct register_rows *rr, int32_t today, long long now)
{
	size_t i;

	for (i = 0; i < rr->n; i++)
		report_flag(&rr->rows[i], today, now);
}

/* One device's rows. */
size_t
register_rows_of(const struct register_rows *rr, const struct device *d,
    struct report_row *out)
{
	size_t i, n = 0;

	for (i = 0; i < rr->n; i++)
		if (rr->rows[i].dev == d)
			out[n++] = rr->rows[i];
	return n;
}

/* Sent, tried today, or neither. */
enum notice_state
register_notice_state(sqlite3 *db, const struct notice_key *k, int32_t today)
{
	enum notice_state state = NOTICE_UNSENT;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT sent, last_attempt FROM notices "
	    "WHERE device = ?1 AND sunset = ?2 AND threshold = ?3", -1, &st,
	    NULL) != SQLITE_OK)
		return NOTICE_UNSENT;	/* no such table yet */
	sqlite3_bind_text(st, 1, k->device, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->sunset, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->threshold, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			state = NOTICE_SENT;
		else if (date_today((time_t)sqlite3_column_int64(st, 1)) ==
		    today)
			state = NOTICE_TRIED_TODAY;
	}
	sqlite3_finalize(st);
	return state;
}

/* The configured device called name, or NULL. */
const struct device *
register_device(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		if (strcmp(cfg->devices[i].name, name) == 0)
			return &cfg->devices[i];
	return NULL;
}

/* A named column of the current row as a number (0 if NULL or absent). */
long long
register_col_num(sqlite3_stmt *st, const char *name)
{
	int i;

	for (i = 0; st != NULL && i < sqlite3_column_count(st); i++)
		if (strcmp(sqlite3_column_name(st, i), name) == 0)
			return sqlite3_column_int64(st, i);
	return 0;
}

/* A named column of the current row as text ("" if NULL or absent). */
const char *
register_col_text(sqlite3_stmt *st, const char *name)
{
	const unsigned char *t;
	int i;

	for (i = 0; i < sqlite3_column_count(st); i++)
		if (strcmp(sqlite3_column_name(st, i), name) == 0) {
			t = sqlite3_column_text(st, i);
			return t != NULL ? (const char *)t : "";
		}
	return "";
}

/* The row of a device and protocol, added if new. */
static struct report_row *
rows_row(struct register_rows *rr, const struct device *dev,
    enum proto proto)
{
	size_t i;

	for (i = 0; i < rr->n; i++)
		if (rr->rows[i].dev == dev && rr->rows[i].proto == proto)
			return &rr->rows[i];
	rr->rows = xreallocarray(rr->rows, rr->n + 1, sizeof(*rr->rows));
	memset(&rr->rows[rr->n], 0, sizeof(*rr->rows));
	rr->rows[rr->n].dev = dev;
	rr->rows[rr->n].proto = proto;
	return &rr->rows[rr->n++];
}

/* Add one database's per-path summaries to the rows of known devices. */
static int
rows_merge_paths(struct register_rows *rr, sqlite3 *db)
{
	sqlite3_stmt *st;
	const struct device *d;
	int p, rc;

	if ((rc = sqlite3_prepare_v2(db, "SELECT * FROM paths", -1, &st,
	    NULL)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d = register_device(rr->cfg, register_col_text(st, "device"));
		for (p = 0; d != NULL && p < PROTO_COUNT; p++)
			if (strcmp(proto_name(p),
			    register_col_text(st, "protocol")) == 0)
				rows_merge_path(rows_row(rr, d, p), st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Merge one summary row: counts add up, times and texts keep the latest. */
static void
rows_merge_path(struct report_row *r, sqlite3_stmt *st)
{
	static const struct { const char *name; size_t off; } sums[] = {
#define SUM(f) { #f, offsetof(struct report_row, f) }
		SUM(sessions), SUM(ok_sessions), SUM(messages), SUM(stat),
		SUM(list), SUM(retr), SUM(retr_bytes), SUM(top), SUM(dele),
		SUM(selects), SUM(fetches), SUM(appends),
#undef SUM
	};
	long long first = register_col_num(st, "first_seen");
	size_t i;

	for (i = 0; i < nitems(sums); i++)
		*(long long *)((char *)r + sums[i].off) +=
		    register_col_num(st, sums[i].name);
	if (first != 0 && (r->first_seen == 0 || first < r->first_seen))
		r->first_seen = first;
	rows_merge_texts(r, st);
#define LATEST(f) \
	if (register_col_num(st, #f) > r->f) r->f = register_col_num(st, #f)
	LATEST(last_seen);
	LATEST(last_ok);
	LATEST(last_refused);
#undef LATEST
}

/* Merge the texts of a summary row where its time is the later one. */
static void
rows_merge_texts(struct report_row *r, sqlite3_stmt *st)
{
	keep_later(r->up_tls, sizeof(r->up_tls),
	    register_col_text(st, "up_tls"),
	    register_col_num(st, "last_seen") > r->last_seen);
	list_merge(r->tls_used, sizeof(r->tls_used),
	    register_col_text(st, "tls_used"));
	if (register_col_num(st, "best_offered_rank") > r->best_rank) {
		r->best_rank = register_col_num(st, "best_offered_rank");
		keep_later(r->best_offered, sizeof(r->best_offered),
		    register_col_text(st, "best_offered"), true);
	}
	if (register_col_num(st, "last_message_time") >
	    r->last_message_time) {
		r->last_message_time = register_col_num(st,
		    "last_message_time");
		keep_later(r->last_message_id, sizeof(r->last_message_id),
		    register_col_text(st, "last_message_id"), true);
		keep_later(r->last_queue_id, sizeof(r->last_queue_id),
		    register_col_text(st, "last_queue_id"), true);
		keep_later(r->last_sender, sizeof(r->last_sender),
		    register_col_text(st, "last_sender"), true);
	}
	if (register_col_num(st, "last_failure_time") >
	    r->last_failure_time) {
		r->last_failure_time = register_col_num(st,
		    "last_failure_time");
		keep_later(r->last_failure, sizeof(r->last_failure),
		    register_col_text(st, "last_failure"), true);
	}
}

/* Add the items of a comma-separated list that dst does not have yet. */
static void
list_merge(char *dst, size_t len, const char *items)
{
	char item[64], have[256];
	size_t n, used;

	for (; *items != '\0'; items += n + (items[n] == ',')) {
		n = strcspn(items, ",");
		snprintf(item, sizeof(item), ",%.*s,", (int)n, items);
		snprintf(have, sizeof(have), ",%s,", dst);
		if (n == 0 || strstr(have, item) != NULL)
			continue;
		used = strlen(dst);
		snprintf(dst + used, len - used, "%s%.*s", used > 0 ? "," : "",
		    (int)n, items);
	}
}

/* Copy text into dst when it is the later value and not empty. */
static void
keep_later(char *dst, size_t len, const char *text, bool later)
{
	if (later && text[0] != '\0')
		snprintf(dst, len, "%s", text);
}

/* Add one database's IMAP folders to the devices' imap rows. */
static int
rows_merge_folders(struct register_rows *rr, sqlite3 *db)
{
	sqlite3_stmt *st;
	const struct device *d;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "SELECT device, folder FROM folders "
	    "ORDER BY device, folder", -1, &st, NULL)) != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		d = register_device(rr->cfg, register_col_text(st, "device"));
		if (d != NULL)
			folder_add(rows_row(rr, d, PROTO_IMAP),
			    register_col_text(st, "folder"));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* Add a folder to the row's list unless it is there already. */
static void
folder_add(struct report_row *r, const char *folder)
{
	size_t used = strlen(r->folders);

	if (strstr(r->folders, folder) == NULL)
		snprintf(r->folders + used, sizeof(r->folders) - used, "%s%s",
		    used > 0 ? "," : "", folder);
}
