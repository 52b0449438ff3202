/* tlsrelayctl's register rows and their formats. One table of columns
 * drives the text, CSV and JSON forms, so they always agree. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "date.h"
#include "devices.h"
#include "evidence.h"
#include "report.h"
#include "util.h"

#define DAY	86400LL

/* How a column's value is found. */
enum column_kind {
	COL_TEXT,	/* a char array of the row */
	COL_NUM,	/* a long long of the row */
	COL_TIME,	/* a long long of the row, a time */
	COL_DEVICE,	/* from the device's configuration */
};

struct column {
	const char	*name;
	enum column_kind kind;
	size_t		 offset;
};

/* Device facts by column name. */
enum device_fact {
	FACT_NAME, FACT_OWNER, FACT_FUNCTION, FACT_PROTOCOL, FACT_SUNSET,
	FACT_DAYS_LEFT, FACT_REMEDIATION, FACT_RETEST, FACT_FLAGS,
};

#define TEXT(f)	COL_TEXT, offsetof(struct report_row, f)
#define NUM(f)	COL_NUM, offsetof(struct report_row, f)
#define TIME(f)	COL_TIME, offsetof(struct report_row, f)

static const struct column columns[] = {
	{ "device", COL_DEVICE, FACT_NAME },
	{ "owner", COL_DEVICE, FACT_OWNER },
	{ "function", COL_DEVICE, FACT_FUNCTION },
	{ "protocol", COL_DEVICE, FACT_PROTOCOL },
	{ "sunset", COL_DEVICE, FACT_SUNSET },
	{ "days_left", COL_DEVICE, FACT_DAYS_LEFT },
	{ "remediation", COL_DEVICE, FACT_REMEDIATION },
	{ "retest", COL_DEVICE, FACT_RETEST },
	{ "flags", COL_DEVICE, FACT_FLAGS },
	{ "sessions", NUM(sessions) },
	{ "ok_sessions", NUM(ok_sessions) },
	{ "first_seen", TIME(first_seen) },
	{ "last_seen", TIME(last_seen) },
	{ "last_ok", TIME(last_ok) },
	{ "last_refused", TIME(last_refused) },
	{ "lan_tls_used", TEXT(tls_used) },
	{ "best_offered", TEXT(best_offered) },
	{ "upstream_tls", TEXT(up_tls) },
	{ "messages", NUM(messages) },
	{ "last_message", TIME(last_message_time) },
	{ "last_message_id", TEXT(last_message_id) },
	{ "last_queue_id", TEXT(last_queue_id) },
	{ "last_sender", TEXT(last_sender) },
	{ "stat", NUM(stat) },
	{ "list", NUM(list) },
	{ "retr", NUM(retr) },
	{ "retr_bytes", NUM(retr_bytes) },
	{ "top", NUM(top) },
	{ "dele", NUM(dele) },
	{ "folders", TEXT(folders) },
	{ "selects", NUM(selects) },
	{ "fetches", NUM(fetches) },
	{ "appends", NUM(appends) },
	{ "last_failure_time", TIME(last_failure_time) },
	{ "last_failure", TEXT(last_failure) },
};

/* The columns each protocol's text block shows beyond the common ones. */
static const char *const path_columns[PROTO_COUNT] = {
	[PROTO_SMTP] = "messages last_message last_message_id last_queue_id "
	    "last_sender",
	[PROTO_POP3] = "stat list retr retr_bytes top dele",
	[PROTO_IMAP] = "folders selects fetches appends",
};

static const char *const flag_names[] = {
	"could-reach-exchange-directly", "retest-overdue", "no-evidence-yet",
	"path-unused",
};

static bool	 cell(const struct report_row *r, const struct column *c,
		    int32_t today, char *dst, size_t len, long long *num);
static void	 cell_device(const struct report_row *r, enum device_fact f,
		    int32_t today, char *dst, size_t len);
static void	 csv_field(FILE *out, const char *text);
static bool	 text_column_shown(const struct report_row *r,
		    const struct column *c);

/* Set a row's flags as of today and now. */
void
report_flag(struct report_row *r, int32_t today, long long now)
{
	r->flags = 0;
	if (r->best_rank >= evidence_tls_rank("TLSv1.2"))
		r->flags |= FLAG_DIRECT;
	if (r->dev->retest != 0 && today > r->dev->retest)
		r->flags |= FLAG_RETEST_OVERDUE;
	if (r->ok_sessions == 0)
		r->flags |= FLAG_NO_EVIDENCE;
	if (r->allowed && now - r->last_seen > REPORT_STALE_DAYS * DAY)
		r->flags |= FLAG_UNUSED;
}

/* The flags as comma-separated words. */
void
report_flag_names(unsigned flags, char *dst, size_t len)
{
	size_t i, used = 0;

	dst[0] = '\0';
	for (i = 0; i < nitems(flag_names); i++)
		if ((flags & (1u << i)) && used < len)
			used += snprintf(dst + used, len - used, "%s%s",
			    used > 0 ? "," : "", flag_names[i]);
}

/* A device's status over its rows. */
const char *
report_device_status(const struct device *dev, const struct report_row *rows,
    size_t n, int32_t today, unsigned warn_days, long long now)
{
	long long left = (long long)dev->sunset - today;
	bool seen = false, stale = false;
	size_t i;

	if (left < 0)
		return "expired";
	if (left <= warn_days)
		return "expiring";
	for (i = 0; i < n; i++) {
		if (rows[i].dev != dev || !rows[i].allowed)
			continue;
		seen |= rows[i].last_seen != 0;
		stale |= now - rows[i].last_seen > REPORT_STALE_DAYS * DAY;
	}
	if (!seen)
		return "never seen";
	return stale ? "stale" : "ok";
}

/* What tlsrelayctl expiring says of a device. */
int
report_expiry_level(const struct device *dev, const struct report_row *rows,
    size_t n, int32_t today, unsigned days)
{
	long long left = (long long)dev->sunset - today;
	size_t i;

	if (left > (long long)days)
		return 0;
	if (left >= 0)
		return 1;
	for (i = 0; i < n; i++)
		if (rows[i].dev == dev &&
		    (device_expired(dev, (time_t)rows[i].last_refused) ||
		    device_expired(dev, (time_t)rows[i].last_seen)))
			return 2;
	return 1;
}

/* A time as "YYYY-MM-DD HH:MM" UTC, or "never". */
void
report_time(long long t, char *dst, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0) {
		snprintf(dst, len, "never");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(dst, len, "%Y-%m-%d %H:%M", &tm);
}

/* A column's value as text in dst; true with *num set if it is a number
 * (times are text). */
static bool
cell(const struct report_row *r, const struct column *c, int32_t today,
    char *dst, size_t len, long long *num)
{
	const char *base = (const char *)r + c->offset;

	switch (c->kind) {
	case COL_TEXT:
		snprintf(dst, len, "%s", base);
		return false;
	case COL_NUM:
		*num = *(const long long *)base;
		snprintf(dst, len, "%lld", *num);
		return true;
	case COL_TIME:
		report_time(*(const long long *)base, dst, len);
		return false;
	case COL_DEVICE:
		cell_device(r, (enum device_fact)c->offset, today, dst, len);
		*num = (long long)r->dev->sunset - today;
		return c->offset == FACT_DAYS_LEFT;
	}
	return false;
}

/* A fact of the row's device from the configuration. */
static void
cell_device(const struct report_row *r, enum device_fact f, int32_t today,
    char *dst, size_t len)
{
	const struct device *d = r->dev;

	dst[0] = '\0';
	switch (f) {
	case FACT_NAME:
		snprintf(dst, len, "%s", d->name);
		break;
	case FACT_OWNER:
		snprintf(dst, len, "%s", d->owner != NULL ? d->owner : "");
		break;
	case FACT_FUNCTION:
		snprintf(dst, len, "%s", d->function != NULL ? d->function : "");
		break;
	case FACT_PROTOCOL:
		snprintf(dst, len, "%s%s", proto_name(r->proto),
		    r->allowed ? "" : " (not allowed)");
		break;
	case FACT_SUNSET:
		date_format(d->sunset, dst, len);
		break;
	case FACT_DAYS_LEFT:
		snprintf(dst, len, "%ld", (long)d->sunset - today);
		break;
	case FACT_REMEDIATION:
		snprintf(dst, len, "%s", remediation_name(d->remediation));
		break;
	case FACT_RETEST:
		if (d->retest != 0)
			date_format(d->retest, dst, len);
		break;
	case FACT_FLAGS:
		report_flag_names(r->flags, dst, len);
		break;
	}
}

/* Is a column part of this row's text block (the protocol's own columns
 * only for that protocol)? */
static bool
text_column_shown(const struct report_row *r, const struct column *c)
{
	size_t i, n = strlen(c->name);
	const char *p;

	for (i = 0; i < PROTO_COUNT; i++)
		for (p = path_columns[i]; (p = strstr(p, c->name)) != NULL;
		    p += n)
			if ((p[n] == ' ' || p[n] == '\0') &&
			    (p == path_columns[i] || p[-1] == ' '))
				return i == r->proto;
	return true;
}

/* The register as text: one block per row, a "key value" line for each
 * value known ("never" only for last_seen). */
void
report_write_text(FILE *out, const struct report_row *rows, size_t n,
    int32_t today)
{
	char value[REPORT_TEXT];
	long long num;
	size_t i, j;

	for (i = 0; i < n; i++) {
		fprintf(out, "%s%s %s\n", i > 0 ? "\n" : "", rows[i].dev->name,
		    proto_name(rows[i].proto));
		for (j = 1; j < nitems(columns); j++) {
			if ((columns[j].kind == COL_DEVICE &&
			    columns[j].offset == FACT_PROTOCOL) ||
			    !text_column_shown(&rows[i], &columns[j]))
				continue;
			cell(&rows[i], &columns[j], today, value, sizeof(value),
			    &num);
			if (value[0] != '\0' && (strcmp(value, "never") != 0 ||
			    strcmp(columns[j].name, "last_seen") == 0))
				fprintf(out, "  %-18s %s\n", columns[j].name,
				    value);
		}
	}
}

/* One CSV field, quoted when it holds a comma, a quote or a line end. */
static void
csv_field(FILE *out, const char *text)
{
	const char *p;

	if (strpbrk(text, ",\"\r\n") == NULL) {
		fputs(text, out);
		return;
	}
	fputc('"', out);
	for (p = text; *p != '\0'; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

/* The register as CSV: a header line, then one line per row. */
void
report_write_csv(FILE *out, const struct report_row *rows, size_t n,
    int32_t today)
{
	char value[REPORT_TEXT];
	long long num;
	size_t i, j;

	for (j = 0; j < nitems(columns); j++)
		fprintf(out, "%s%s", j > 0 ? "," : "", columns[j].name);
	fputs("\r\n", out);
	for (i = 0; i < n; i++) {
		for (j = 0; j < nitems(columns); j++) {
			cell(&rows[i], &columns[j], today, value, sizeof(value),
			    &num);
			if (j > 0)
				fputc(',', out);
			csv_field(out, value);
		}
		fputs("\r\n", out);
	}
}

/* The register as a JSON array of objects; numbers are numbers, times
 * "YYYY-MM-DD HH:MM" UTC or null, empty text null. */
void
report_write_json(FILE *out, const struct report_row *rows, size_t n,
    int32_t today)
{
	json_t *all = json_array(), *obj, *v;
	char value[REPORT_TEXT];
	long long num;
	size_t i, j;

	for (i = 0; i < n; i++) {
		obj = json_object();
		for (j = 0; j < nitems(columns); j++) {
			if (cell(&rows[i], &columns[j], today, value,
			    sizeof(value), &num))
				v = json_integer(num);
			else if (value[0] == '\0' ||
			    strcmp(value, "never") == 0)
				v = json_null();
			else
				v = json_string(value);
			json_object_set_new(obj, columns[j].name, v);
		}
		json_object_set_new(obj, "protocol",
		    json_string(proto_name(rows[i].proto)));
		json_object_set_new(obj, "allowed",
		    json_boolean(rows[i].allowed));
		json_array_append_new(all, obj);
	}
	json_dumpf(all, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(all);
}
