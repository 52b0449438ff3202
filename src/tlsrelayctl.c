/* tlsrelayctl: the exit register read from tlsrelayd's databases (read
 * only, while the daemon writes) and its configuration. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sqlite3.h>

#include "config.h"
#include "date.h"
#include "devices.h"
#include "evidence.h"
#include "report.h"
#include "util.h"

#define EXIT_USAGE	2	/* also an unreadable database */
#define DEFAULT_CONFIG	SYSCONFDIR "/tlsrelay/tlsrelayd.conf"
#define DBS_MAX		32

/* What the command line asked for. */
struct ctl {
	const char	*config_path;
	const char	*dbs[DBS_MAX];
	size_t		 ndbs;
	const char	*device;
	const char	*format;
	const char	*since;
	long		 days;		/* -1: warn_days */
	struct config	*cfg;
	sqlite3		*db[DBS_MAX];
	struct report_row *rows;
	size_t		 nrows;
	int32_t		 today;
	long long	 now;
};

typedef int	 command_fn(struct ctl *c);

static void	 usage(void) __attribute__((noreturn));
static void	 die(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	 ctl_options(struct ctl *c, int argc, char *argv[]);
static void	 ctl_load(struct ctl *c);
static void	 ctl_open(struct ctl *c);
static void	 ctl_rows(struct ctl *c);
static struct report_row *ctl_row(struct ctl *c, const struct device *dev,
		    enum proto proto);
static void	 ctl_merge_paths(struct ctl *c, sqlite3 *db);
static void	 ctl_merge_path(struct report_row *r, sqlite3_stmt *st);
static void	 ctl_merge_texts(struct report_row *r, sqlite3_stmt *st);
static void	 ctl_merge_folders(struct ctl *c, sqlite3 *db);
static sqlite3_stmt *ctl_query(sqlite3 *db, const char *sql);
static sqlite3_stmt *ctl_next(sqlite3_stmt *st);
static const struct device *ctl_device(const struct config *cfg,
		    const char *name);
static long long col_num(sqlite3_stmt *st, const char *name);
static const char *col_text(sqlite3_stmt *st, const char *name);
static void	 keep_later(char *dst, size_t len, const char *text,
		    bool later);
static void	 list_merge(char *dst, size_t len, const char *items);
static bool	 device_wanted(const struct ctl *c, const struct device *d);
static command_fn cmd_devices, cmd_report, cmd_expiring, cmd_unknown,
		    cmd_sessions;
static void	 print_device(struct ctl *c, const struct device *d);

static const struct {
	const char	*name;
	command_fn	*fn;
} commands[] = {
	{ "devices", cmd_devices },
	{ "report", cmd_report },
	{ "expiring", cmd_expiring },
	{ "unknown", cmd_unknown },
	{ "sessions", cmd_sessions },
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, 'b' },
	{ "device", required_argument, NULL, 'D' },
	{ "format", required_argument, NULL, 'F' },
	{ "days", required_argument, NULL, 'N' },
	{ "since", required_argument, NULL, 'S' },
	{ NULL, 0, NULL, 0 }
};

/* Say how to use the tool and exit 2. */
static void
usage(void)
{
	fprintf(stderr, "usage: tlsrelayctl [-c file] [--db file]... command\n"
	    "  devices\n"
	    "  report [--device name] [--format text|csv|json]\n"
	    "  expiring [--days n]\n"
	    "  unknown\n"
	    "  sessions [--device name] [--since YYYY-MM-DD]\n"
	    "  -c file    configuration file (default %s)\n"
	    "  --db file  a database to read (repeatable; default "
	    "state_dir/%s)\n", DEFAULT_CONFIG, EVIDENCE_DB_NAME);
	exit(EXIT_USAGE);
}

/* Print an error and exit 2. */
static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tlsrelayctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_USAGE);
}

/* Read the command line's options into c. */
static void
ctl_options(struct ctl *c, int argc, char *argv[])
{
	char *end;
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:", long_options, NULL)) != -1)
		switch (ch) {
		case 'c':
			c->config_path = optarg;
			break;
		case 'b':
			if (c->ndbs == DBS_MAX)
				die("at most %d --db files", DBS_MAX);
			c->dbs[c->ndbs++] = optarg;
			break;
		case 'D':
			c->device = optarg;
			break;
		case 'F':
			c->format = optarg;
			break;
		case 'N':
			c->days = strtol(optarg, &end, 10);
			if (*end != '\0' || c->days < 0)
				die("--days needs a number of days, not '%s'",
				    optarg);
			break;
		case 'S':
			c->since = optarg;
			break;
		default:
			usage();
		}
}

/* Load the configuration, as tlsrelayd -t would. */
static void
ctl_load(struct ctl *c)
{
	struct config_errors errs = { 0 };
	size_t i;

	c->cfg = config_load(c->config_path, &errs);
	for (i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	config_errors_clear(&errs);
	if (c->cfg == NULL)
		die("%s: configuration has errors", c->config_path);
	if (c->device != NULL && ctl_device(c->cfg, c->device) == NULL)
		die("no device '%s' in %s", c->device, c->cfg->devices_file);
	c->now = (long long)time(NULL);
	c->today = date_today((time_t)c->now);
}

/* Open every database read-only; the daemon may be writing it. */
static void
ctl_open(struct ctl *c)
{
	static char path[4096];
	sqlite3_stmt *st;
	size_t i;
	int v;

	if (c->ndbs == 0) {
		snprintf(path, sizeof(path), "%s/%s", c->cfg->state_dir,
		    EVIDENCE_DB_NAME);
		c->dbs[c->ndbs++] = path;
	}
	for (i = 0; i < c->ndbs; i++) {
		if (sqlite3_open_v2(c->dbs[i], &c->db[i],
		    SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
			die("%s: cannot open: %s", c->dbs[i],
			    sqlite3_errmsg(c->db[i]));
		sqlite3_busy_timeout(c->db[i], 5000);
		st = ctl_query(c->db[i], "SELECT version FROM schema_version");
		v = (int)col_num(st, "version");
		sqlite3_finalize(st);
		if (v < 1 || v > evidence_schema_version())
			die("%s: not a tlsrelayd register of schema 1 to %d",
			    c->dbs[i], evidence_schema_version());
	}
}

/* Prepare a query, or exit 2 naming the database's error. */
static sqlite3_stmt *
ctl_query(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		die("%s: %s", sqlite3_db_filename(db, "main"),
		    sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		return st;
	sqlite3_finalize(st);
	return NULL;
}

/* Step to the next row; NULL (the statement finalized) after the last. */
static sqlite3_stmt *
ctl_next(sqlite3_stmt *st)
{
	if (sqlite3_step(st) == SQLITE_ROW)
		return st;
	sqlite3_finalize(st);
	return NULL;
}

/* The configured device called name, or NULL. */
static const struct device *
ctl_device(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		if (strcmp(cfg->devices[i].name, name) == 0)
			return &cfg->devices[i];
	return NULL;
}

/* A named column of the current row as a number (0 if NULL or absent). */
static long long
col_num(sqlite3_stmt *st, const char *name)
{
	int i;

	for (i = 0; st != NULL && i < sqlite3_column_count(st); i++)
		if (strcmp(sqlite3_column_name(st, i), name) == 0)
			return sqlite3_column_int64(st, i);
	return 0;
}

/* A named column of the current row as text ("" if NULL or absent). */
static const char *
col_text(sqlite3_stmt *st, const char *name)
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

/* One row per device and allowed protocol, merged from every database. */
static void
ctl_rows(struct ctl *c)
{
	const struct device *d;
	size_t i, db;
	int p;

	for (i = 0; i < c->cfg->ndevices; i++) {
		d = &c->cfg->devices[i];
		for (p = 0; p < PROTO_COUNT; p++)
			if (d->protocols & (1u << p))
				ctl_row(c, d, p)->allowed = true;
	}
	for (db = 0; db < c->ndbs; db++) {
		ctl_merge_paths(c, c->db[db]);
		ctl_merge_folders(c, c->db[db]);
	}
	for (i = 0; i < c->nrows; i++)
		report_flag(&c->rows[i], c->today, c->now);
}

/* The row of a device and protocol, added if new. */
static struct report_row *
ctl_row(struct ctl *c, const struct device *dev, enum proto proto)
{
	size_t i;

	for (i = 0; i < c->nrows; i++)
		if (c->rows[i].dev == dev && c->rows[i].proto == proto)
			return &c->rows[i];
	c->rows = xreallocarray(c->rows, c->nrows + 1, sizeof(*c->rows));
	memset(&c->rows[c->nrows], 0, sizeof(*c->rows));
	c->rows[c->nrows].dev = dev;
	c->rows[c->nrows].proto = proto;
	return &c->rows[c->nrows++];
}

/* Add one database's per-path summaries to the rows of known devices. */
static void
ctl_merge_paths(struct ctl *c, sqlite3 *db)
{
	sqlite3_stmt *st;
	const struct device *d;
	int p;

	for (st = ctl_query(db, "SELECT * FROM paths"); st != NULL;
	    st = ctl_next(st)) {
		d = ctl_device(c->cfg, col_text(st, "device"));
		for (p = 0; d != NULL && p < PROTO_COUNT; p++)
			if (strcmp(proto_name(p), col_text(st, "protocol")) == 0)
				ctl_merge_path(ctl_row(c, d, p), st);
	}
}

/* Merge one summary row: counts add up, times and texts keep the latest. */
static void
ctl_merge_path(struct report_row *r, sqlite3_stmt *st)
{
	static const struct { const char *name; size_t off; } sums[] = {
#define SUM(f) { #f, offsetof(struct report_row, f) }
		SUM(sessions), SUM(ok_sessions), SUM(messages), SUM(stat),
		SUM(list), SUM(retr), SUM(retr_bytes), SUM(top), SUM(dele),
		SUM(selects), SUM(fetches), SUM(appends),
#undef SUM
	};
	long long first = col_num(st, "first_seen");
	size_t i;

	for (i = 0; i < nitems(sums); i++)
		*(long long *)((char *)r + sums[i].off) +=
		    col_num(st, sums[i].name);
	if (first != 0 && (r->first_seen == 0 || first < r->first_seen))
		r->first_seen = first;
	ctl_merge_texts(r, st);
#define LATEST(f) if (col_num(st, #f) > r->f) r->f = col_num(st, #f)
	LATEST(last_seen);
	LATEST(last_ok);
	LATEST(last_refused);
#undef LATEST
}

/* Merge the texts of a summary row where its time is the later one. */
static void
ctl_merge_texts(struct report_row *r, sqlite3_stmt *st)
{
	keep_later(r->up_tls, sizeof(r->up_tls), col_text(st, "up_tls"),
	    col_num(st, "last_seen") > r->last_seen);
	list_merge(r->tls_used, sizeof(r->tls_used), col_text(st, "tls_used"));
	if (col_num(st, "best_offered_rank") > r->best_rank) {
		r->best_rank = col_num(st, "best_offered_rank");
		keep_later(r->best_offered, sizeof(r->best_offered),
		    col_text(st, "best_offered"), true);
	}
	if (col_num(st, "last_message_time") > r->last_message_time) {
		r->last_message_time = col_num(st, "last_message_time");
		keep_later(r->last_message_id, sizeof(r->last_message_id),
		    col_text(st, "last_message_id"), true);
		keep_later(r->last_queue_id, sizeof(r->last_queue_id),
		    col_text(st, "last_queue_id"), true);
		keep_later(r->last_sender, sizeof(r->last_sender),
		    col_text(st, "last_sender"), true);
	}
	if (col_num(st, "last_failure_time") > r->last_failure_time) {
		r->last_failure_time = col_num(st, "last_failure_time");
		keep_later(r->last_failure, sizeof(r->last_failure),
		    col_text(st, "last_failure"), true);
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
static void
ctl_merge_folders(struct ctl *c, sqlite3 *db)
{
	sqlite3_stmt *st;
	struct report_row *r;
	const struct device *d;
	size_t used;

	for (st = ctl_query(db, "SELECT device, folder FROM folders ORDER BY "
	    "device, folder"); st != NULL; st = ctl_next(st)) {
		if ((d = ctl_device(c->cfg, col_text(st, "device"))) == NULL)
			continue;
		r = ctl_row(c, d, PROTO_IMAP);
		used = strlen(r->folders);
		if (strstr(r->folders, col_text(st, "folder")) == NULL)
			snprintf(r->folders + used, sizeof(r->folders) - used,
			    "%s%s", used > 0 ? "," : "", col_text(st, "folder"));
	}
}

/* Is the device one the command is about? */
static bool
device_wanted(const struct ctl *c, const struct device *d)
{
	return c->device == NULL || strcmp(c->device, d->name) == 0;
}

/* devices: one line per device with its status. */
static int
cmd_devices(struct ctl *c)
{
	size_t i;

	for (i = 0; i < c->cfg->ndevices; i++)
		if (device_wanted(c, &c->cfg->devices[i]))
			print_device(c, &c->cfg->devices[i]);
	return 0;
}

/* One device's line: owner, protocols, sunset, last seen per path. */
static void
print_device(struct ctl *c, const struct device *d)
{
	char sunset[16], seen[32];
	size_t i;

	date_format(d->sunset, sunset, sizeof(sunset));
	printf("%s owner=%s sunset=%s days_left=%ld status=\"%s\"", d->name,
	    d->owner != NULL ? d->owner : "-", sunset,
	    (long)d->sunset - c->today, report_device_status(d, c->rows,
	    c->nrows, c->today, c->cfg->warn_days, c->now));
	for (i = 0; i < c->nrows; i++)
		if (c->rows[i].dev == d && c->rows[i].allowed) {
			report_time(c->rows[i].last_seen, seen, sizeof(seen));
			printf(" %s=\"%s\"", proto_name(c->rows[i].proto), seen);
		}
	printf("\n");
}

/* report: the register in the chosen format. */
static int
cmd_report(struct ctl *c)
{
	struct report_row *rows = xcalloc(c->nrows + 1, sizeof(*rows));
	const char *f = c->format != NULL ? c->format : "text";
	size_t i, n = 0;

	for (i = 0; i < c->nrows; i++)
		if (device_wanted(c, c->rows[i].dev))
			rows[n++] = c->rows[i];
	if (strcmp(f, "text") == 0)
		report_write_text(stdout, rows, n, c->today);
	else if (strcmp(f, "csv") == 0)
		report_write_csv(stdout, rows, n, c->today);
	else if (strcmp(f, "json") == 0)
		report_write_json(stdout, rows, n, c->today);
	else
		die("--format must be text, csv or json, not '%s'", f);
	free(rows);
	return 0;
}

/* expiring: 0 nothing within the days, 1 something, 2 an expired device
 * still connecting; one line per device concerned. */
static int
cmd_expiring(struct ctl *c)
{
	static const char *const words[] = { "", "EXPIRING",
	    "EXPIRED, STILL CONNECTING" };
	unsigned days = c->days >= 0 ? (unsigned)c->days : c->cfg->warn_days;
	const struct device *d;
	char sunset[16];
	int level, worst = 0;
	size_t i;

	for (i = 0; i < c->cfg->ndevices; i++) {
		d = &c->cfg->devices[i];
		level = report_expiry_level(d, c->rows, c->nrows, c->today,
		    days);
		if (level == 0)
			continue;
		date_format(d->sunset, sunset, sizeof(sunset));
		printf("%s: %s sunset %s, %ld days left, owner %s\n",
		    level == 1 && d->sunset < c->today ? "EXPIRED" :
		    words[level], d->name, sunset, (long)d->sunset - c->today,
		    d->owner != NULL ? d->owner : "-");
		worst = level > worst ? level : worst;
	}
	if (worst == 0)
		printf("OK: no device's sunset within %u days\n", days);
	return worst;
}

/* unknown: the census of clients refused as unknown, every database. */
static int
cmd_unknown(struct ctl *c)
{
	char first[32], last[32];
	sqlite3_stmt *st;
	size_t i;

	for (i = 0; i < c->ndbs; i++) {
		for (st = ctl_query(c->db[i], "SELECT * FROM census ORDER BY "
		    "last_seen DESC"); st != NULL; st = ctl_next(st)) {
			report_time(col_num(st, "first_seen"), first,
			    sizeof(first));
			report_time(col_num(st, "last_seen"), last,
			    sizeof(last));
			printf("%s listener=%s protocol=%s offered_tls=%s "
			    "first_seen=\"%s\" last_seen=\"%s\" count=%lld\n",
			    col_text(st, "client"), col_text(st, "listener"),
			    col_text(st, "protocol"),
			    *col_text(st, "offered_tls") != '\0' ?
			    col_text(st, "offered_tls") : "none", first, last,
			    col_num(st, "count"));
		}
	}
	return 0;
}

/* sessions: recent history, oldest first, from every database. */
static int
cmd_sessions(struct ctl *c)
{
	int32_t day = c->today - REPORT_STALE_DAYS;
	char start[32];
	sqlite3_stmt *st;
	size_t i;

	if (c->since != NULL && !date_parse(c->since, &day))
		die("--since needs a date as YYYY-MM-DD, not '%s'", c->since);
	for (i = 0; i < c->ndbs; i++) {
		for (st = ctl_query(c->db[i], "SELECT * FROM sessions ORDER BY "
		    "start"); st != NULL; st = ctl_next(st)) {
			if (col_num(st, "start") < (long long)day * 86400 ||
			    (c->device != NULL &&
			    strcmp(c->device, col_text(st, "device")) != 0))
				continue;
			report_time(col_num(st, "start"), start,
			    sizeof(start));
			printf("%s device=%s protocol=%s client=%s lan_tls=%s "
			    "offered=%s upstream_tls=%s result=%s messages=%lld "
			    "reason=\"%s\"\n", start, col_text(st, "device"),
			    col_text(st, "protocol"), col_text(st, "client"),
			    col_text(st, "lan_tls"),
			    col_text(st, "offered_tls"), col_text(st, "up_tls"),
			    col_text(st, "result"), col_num(st, "messages"),
			    col_text(st, "reason"));
		}
	}
	return 0;
}

/* Parse the options, load the configuration, read the databases and run
 * the command. */
int
main(int argc, char *argv[])
{
	struct ctl c = { .config_path = DEFAULT_CONFIG, .days = -1 };
	size_t i;
	int status, cmd;

	ctl_options(&c, argc, argv);
	if ((cmd = optind) >= argc)
		usage();
	for (i = 0; i < nitems(commands); i++)
		if (strcmp(argv[cmd], commands[i].name) == 0)
			break;
	if (i == nitems(commands))
		die("unknown command '%s' (see tlsrelayctl(8))", argv[cmd]);
	optind = 1;
	ctl_options(&c, argc - cmd, argv + cmd);
	if (optind < argc - cmd)
		usage();
	ctl_load(&c);
	ctl_open(&c);
	ctl_rows(&c);
	status = commands[i].fn(&c);
	for (i = 0; i < c.ndbs; i++)
		sqlite3_close(c.db[i]);
	free(c.rows);
	config_unref(c.cfg);
	return status;
}
