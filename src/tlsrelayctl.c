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
#include "notice.h"
#include "register_read.h"
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
	bool		 dry_run;
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
static sqlite3_stmt *ctl_query(sqlite3 *db, const char *sql);
static sqlite3_stmt *ctl_next(sqlite3_stmt *st);
static bool	 device_wanted(const struct ctl *c, const struct device *d);
static command_fn cmd_devices, cmd_report, cmd_expiring, cmd_unknown,
		    cmd_sessions, cmd_notify;
static void	 notify_device(struct ctl *c, const struct device *d);
static void	 notify_print(struct ctl *c, const struct device *d,
		    int threshold, const char *name);
static bool	 notice_sent(const struct ctl *c, const struct device *d,
		    int threshold);
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
	{ "notify", cmd_notify },
};

static const struct option long_options[] = {
	{ "db", required_argument, NULL, 'b' },
	{ "device", required_argument, NULL, 'D' },
	{ "format", required_argument, NULL, 'F' },
	{ "days", required_argument, NULL, 'N' },
	{ "since", required_argument, NULL, 'S' },
	{ "dry-run", no_argument, NULL, 'n' },
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
	    "  notify --dry-run [--device name]\n"
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
		case 'n':
			c->dry_run = true;
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
	if (c->device != NULL && register_device(c->cfg, c->device) == NULL)
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
		v = (int)register_col_num(st, "version");
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

/* One row per device and allowed protocol, merged from every database. */
static void
ctl_rows(struct ctl *c)
{
	struct register_rows rr = { c->cfg, NULL, 0 };
	char err[256];
	size_t db;

	register_rows_allowed(&rr);
	for (db = 0; db < c->ndbs; db++)
		if (!register_rows_read(&rr, c->db[db], err, sizeof(err)))
			die("%s: %s", c->dbs[db], err);
	register_rows_flag(&rr, c->today, c->now);
	c->rows = rr.rows;
	c->nrows = rr.n;
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
			report_time(register_col_num(st, "first_seen"), first,
			    sizeof(first));
			report_time(register_col_num(st, "last_seen"), last,
			    sizeof(last));
			printf("%s listener=%s protocol=%s offered_tls=%s "
			    "first_seen=\"%s\" last_seen=\"%s\" count=%lld\n",
			    register_col_text(st, "client"),
			    register_col_text(st, "listener"),
			    register_col_text(st, "protocol"),
			    *register_col_text(st, "offered_tls") != '\0' ?
			    register_col_text(st, "offered_tls") : "none",
			    first, last, register_col_num(st, "count"));
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
			if (register_col_num(st, "start") <
			    (long long)day * 86400 || (c->device != NULL &&
			    strcmp(c->device,
			    register_col_text(st, "device")) != 0))
				continue;
			report_time(register_col_num(st, "start"), start,
			    sizeof(start));
			printf("%s device=%s protocol=%s client=%s lan_tls=%s "
			    "offered=%s upstream_tls=%s result=%s messages=%lld "
			    "reason=\"%s\"\n", start,
			    register_col_text(st, "device"),
			    register_col_text(st, "protocol"),
			    register_col_text(st, "client"),
			    register_col_text(st, "lan_tls"),
			    register_col_text(st, "offered_tls"),
			    register_col_text(st, "up_tls"),
			    register_col_text(st, "result"),
			    register_col_num(st, "messages"),
			    register_col_text(st, "reason"));
		}
	}
	return 0;
}

/* notify --dry-run: each owner notice tlsrelayd would send today, in
 * full; the daemon itself sends them. */
static int
cmd_notify(struct ctl *c)
{
	size_t i;

	if (!c->dry_run)
		die("notify takes --dry-run: tlsrelayd sends the notices "
		    "itself");
	if (!c->cfg->notices.configured) {
		printf("no notices section in %s: nothing is sent\n",
		    c->cfg->file);
		return 0;
	}
	for (i = 0; i < c->cfg->ndevices; i++)
		if (device_wanted(c, &c->cfg->devices[i]))
			notify_device(c, &c->cfg->devices[i]);
	if (c->cfg->notices.admin != NULL && c->device == NULL &&
	    !notice_sent(c, NULL, NOTICE_DIGEST))
		notify_print(c, NULL, NOTICE_DIGEST, "digest");
	return 0;
}

/* The notice due for one device, unless already sent or it has no
 * owner address. */
static void
notify_device(struct ctl *c, const struct device *d)
{
	int threshold = notice_due(&c->cfg->notices, d->sunset, c->today);
	char name[16];

	if (threshold == NOTICE_NONE || notice_sent(c, d, threshold))
		return;
	notice_threshold_name(threshold, name, sizeof(name));
	if (d->owner == NULL || strchr(d->owner, '@') == NULL)
		printf("# %s: notice %s due, but no owner address to send it "
		    "to\n\n", d->name, name);
	else
		notify_print(c, d, threshold, name);
}

/* Print one notice as tlsrelayd would send it, with the device's rows
 * (the digest, d NULL: every row). */
static void
notify_print(struct ctl *c, const struct device *d, int threshold,
    const char *name)
{
	struct register_rows rr = { c->cfg, c->rows, c->nrows };
	struct report_row *rows = xcalloc(c->nrows + 1, sizeof(*rows));
	struct notice n = { c->cfg, d, c->rows, c->nrows, threshold, c->today,
	    (time_t)c->now };
	char *text;

	if (d == NULL) {
		text = notice_digest_compose(&n);
		printf("# digest to %s\n%s\n", c->cfg->notices.admin, text);
	} else {
		n.rows = rows;
		n.nrows = register_rows_of(&rr, d, rows);
		text = notice_compose(&n);
		printf("# %s: notice %s to %s\n%s\n", d->name, name, d->owner,
		    text);
	}
	free(text);
	free(rows);
}

/* Does any database record this notice (a device's, or the digest of this
 * week) as sent? */
static bool
notice_sent(const struct ctl *c, const struct device *d, int threshold)
{
	struct notice_key k;
	size_t i;

	notice_key_make(&k, d, threshold, c->today);
	for (i = 0; i < c->ndbs; i++)
		if (register_notice_state(c->db[i], &k, c->today) ==
		    NOTICE_SENT)
			return true;
	return false;
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
