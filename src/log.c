/* Logging to journald, syslog or stderr; key=value session lines. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#define SD_JOURNAL_SUPPRESS_LOCATION	/* CODE_FILE= would always be log.c */
#include <systemd/sd-journal.h>

#include "log.h"
#include "util.h"

#define LOG_IDENT		"tlsrelayd"
#define LOG_LINE_MAX		8192	/* bytes of one message, incl. NUL */
#define LOG_FIELD_PREFIX	"TLSRELAY_"
#define LOG_FIELD_NAME_MAX	64	/* journald's limit on field names */
#define LOG_ENTRY_FIXED		5	/* MESSAGE, PRIORITY, ... MESSAGE_ID */
#define LOG_JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define LOG_TRUNCATED		"..."

/* A growing string in a caller's fixed buffer; full once a write failed. */
struct log_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
	bool	 full;
};

static enum log_target	 log_auto_target(void);
static void		 log_libevent(int, const char *);
static void		 log_vlog(int, const char *, const char *, va_list)
			    __attribute__((format(printf, 3, 0)));
static void		 log_emit(int, const char *, const char *,
			    const struct log_field *, size_t);
static void		 log_stderr(int, const char *);
static bool		 log_journal(int, const char *, const char *,
			    const struct log_field *, size_t);
static bool		 log_entry_add(struct log_entry *, const char *,
			    const char *);
static void		 log_journal_name(const char *, char *, size_t);
static bool		 log_byte_passes(unsigned char, bool);
static size_t		 log_escape_byte(unsigned char, bool, char *);
static char		*log_escape_bytes(char *, size_t, const void *, size_t,
			    bool);
static bool		 log_value_needs_quotes(const char *);
static void		 log_buf_add(struct log_buf *, const char *, size_t);
static void		 log_buf_add_field(struct log_buf *,
			    const struct log_field *);

/* Level names for the stderr form, indexed by syslog priority. */
static const char *const log_levels[] = {
	[LOG_EMERG] = "error",
	[LOG_ALERT] = "error",
	[LOG_CRIT] = "error",
	[LOG_ERR] = "error",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* C escapes for the control bytes that have one, and for backslash. */
static const struct {
	unsigned char	 c;
	const char	*esc;
} log_named_escapes[] = {
	{ '\\', "\\\\" },
	{ '\r', "\\r" },
	{ '\n', "\\n" },
	{ '\t', "\\t" },
};

static enum log_target	log_target = LOG_TARGET_STDERR;
static int		log_facility = LOG_DAEMON;
static int		log_max_priority = LOG_INFO;

/* Choose where log lines go and which priorities are kept. */
void
log_init(enum log_target target, int facility, int max_priority)
{
	if (log_target == LOG_TARGET_SYSLOG)
		closelog();
	log_target = target == LOG_TARGET_AUTO ? log_auto_target() : target;
	log_facility = facility;
	log_max_priority = max_priority;
	if (log_target == LOG_TARGET_SYSLOG)
		openlog(LOG_IDENT, LOG_PID | LOG_NDELAY, facility);
	event_set_log_callback(log_libevent);
}

/* A message of libevent's own, at the priority its severity maps to. */
static void
log_libevent(int severity, const char *msg)
{
	static const int priorities[] = {
		[EVENT_LOG_DEBUG] = LOG_DEBUG,
		[EVENT_LOG_MSG] = LOG_INFO,
		[EVENT_LOG_WARN] = LOG_WARNING,
		[EVENT_LOG_ERR] = LOG_ERR,
	};
	int priority = LOG_ERR;
	char text[LOG_LINE_MAX];

	if (severity >= 0 && (size_t)severity < nitems(priorities))
		priority = priorities[severity];
	if (LOG_PRI(priority) > log_max_priority)
		return;
	snprintf(text, sizeof(text), "libevent: %s", msg);
	log_emit(priority, NULL, text, NULL, 0);
}

/* Drop messages numerically above max_priority from now on. */
void
log_set_level(int max_priority)
{
	log_max_priority = max_priority;
}

/* Tell where log lines currently go (never LOG_TARGET_AUTO). */
enum log_target
log_current_target(void)
{
	return log_target;
}

/* Pick journald when systemd runs this process, syslog otherwise. */
static enum log_target
log_auto_target(void)
{
	if (getenv("JOURNAL_STREAM") != NULL)
		return LOG_TARGET_JOURNALD;
	if (getenv("INVOCATION_ID") != NULL &&
	    access(LOG_JOURNAL_SOCKET, F_OK) == 0)
		return LOG_TARGET_JOURNALD;
	return LOG_TARGET_SYSLOG;
}

/* Log a warning followed by the text of errno. */
void
log_warn(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, err, fmt, ap);
	va_end(ap);
}

/* Log a warning. */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, NULL, fmt, ap);
	va_end(ap);
}

/* Log an informational message. */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
}

/* Log a debugging message. */
void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
}

/* Log a critical message followed by the text of errno, then exit. */
void
fatal(const char *fmt, ...)
{
	const char *err = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Log a critical message, then exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Emit one structured line of key=value pairs at priority. */
void
log_fields(int priority, const struct log_field *fields, size_t n)
{
	log_event(priority, NULL, fields, n);
}

/* Emit one structured line, tagged with a MESSAGE_ID for journald. */
void
log_event(int priority, const char *msgid, const struct log_field *fields,
    size_t n)
{
	char text[LOG_LINE_MAX];

	if (LOG_PRI(priority) > log_max_priority)
		return;
	log_format_fields(text, sizeof text, fields, n);
	log_emit(priority, msgid, text, fields, n);
}

/* Format a message, append ": suffix" if given, and emit it. */
static void
log_vlog(int priority, const char *suffix, const char *fmt, va_list ap)
{
	char text[LOG_LINE_MAX];
	size_t len;

	if (LOG_PRI(priority) > log_max_priority)
		return;
	vsnprintf(text, sizeof text, fmt, ap);
	if (suffix != NULL) {
		len = strlen(text);
		snprintf(text + len, sizeof text - len, ": %s", suffix);
	}
	log_emit(priority, NULL, text, NULL, 0);
}

/* Send text (and journald fields) to the current target, keeping errno. */
static void
log_emit(int priority, const char *msgid, const char *text,
    const struct log_field *fields, size_t n)
{
	char msg[LOG_LINE_MAX];
	int level = LOG_PRI(priority), saved_errno = errno;

	log_escape_bytes(msg, sizeof msg, text, strlen(text), true);
	if (log_target == LOG_TARGET_SYSLOG)
		syslog(level, "%s", msg);
	else if (log_target != LOG_TARGET_JOURNALD ||
	    !log_journal(level, msgid, msg, fields, n))
		log_stderr(level, msg);
	errno = saved_errno;
}

/* Write one timestamped line to stderr. */
static void
log_stderr(int level, const char *msg)
{
	char stamp[sizeof("YYYY-MM-DDTHH:MM:SS")];
	time_t now = time(NULL);
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		stamp[0] = '\0';
	fprintf(stderr, "%s %s[%ld]: %s: %s\n", stamp, LOG_IDENT,
	    (long)getpid(), log_levels[level], msg);
}

/* Send one entry to journald; false on failure. */
static bool
log_journal(int level, const char *msgid, const char *msg,
    const struct log_field *fields, size_t n)
{
	struct log_entry e;
	int rc;

	if (!log_entry_build(&e, level, msgid, msg, fields, n))
		return false;
	rc = sd_journal_sendv(e.iov, (int)e.n);
	log_entry_free(&e);
	return rc >= 0;
}

/* Build the journald entry of a line; false when out of memory. */
bool
log_entry_build(struct log_entry *e, int priority, const char *msgid,
    const char *text, const struct log_field *fields, size_t n)
{
	char prio[sizeof("-2147483648")], fac[sizeof(prio)];
	char name[LOG_FIELD_NAME_MAX];
	bool ok;
	size_t i;

	e->n = 0;
	if ((e->iov = calloc(n + LOG_ENTRY_FIXED, sizeof(*e->iov))) == NULL)
		return false;
	snprintf(prio, sizeof prio, "%d", LOG_PRI(priority));
	snprintf(fac, sizeof fac, "%d", LOG_FAC(log_facility));
	ok = log_entry_add(e, "MESSAGE", text) &&
	    log_entry_add(e, "PRIORITY", prio) &&
	    log_entry_add(e, "SYSLOG_FACILITY", fac) &&
	    log_entry_add(e, "SYSLOG_IDENTIFIER", LOG_IDENT) &&
	    (msgid == NULL || log_entry_add(e, "MESSAGE_ID", msgid));
	for (i = 0; ok && i < n; i++) {
		if (fields[i].value == NULL)
			continue;
		log_journal_name(fields[i].key, name, sizeof name);
		ok = log_entry_add(e, name, fields[i].value);
	}
	if (!ok)
		log_entry_free(e);
	return ok;
}

/* Free the items of a journald entry. */
void
log_entry_free(struct log_entry *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->iov[i].iov_base);
	free(e->iov);
	e->iov = NULL;
	e->n = 0;
}

/* Append "name=value" to an entry; false when out of memory. */
static bool
log_entry_add(struct log_entry *e, const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	char *item;

	if ((item = malloc(nlen + 1 + vlen + 1)) == NULL)
		return false;
	memcpy(item, name, nlen);
	item[nlen] = '=';
	memcpy(item + nlen + 1, value, vlen + 1);
	e->iov[e->n++] = (struct iovec){ item, nlen + 1 + vlen };
	return true;
}

/* Write "TLSRELAY_<KEY>": key upper-cased, other than [A-Z0-9] as '_'. */
static void
log_journal_name(const char *key, char *dst, size_t len)
{
	char *c;

	snprintf(dst, len, "%s%s", LOG_FIELD_PREFIX, key);
	for (c = dst + sizeof(LOG_FIELD_PREFIX) - 1; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
		else if (!(*c >= 'A' && *c <= 'Z') && !(*c >= '0' && *c <= '9'))
			*c = '_';
	}
}

/* Format fields as "k1=v1 k2=v2", skipping NULL values; returns the length. */
size_t
log_format_fields(char *dst, size_t dstlen, const struct log_field *fields,
    size_t n)
{
	struct log_buf b = { dst, 0, dstlen, false };
	size_t i, keep = 0;

	if (dstlen == 0)
		return 0;
	dst[0] = '\0';
	for (i = 0; i < n && !b.full; i++) {
		if (fields[i].value == NULL)
			continue;
		if (b.len + sizeof(" " LOG_TRUNCATED) <= dstlen)
			keep = b.len;
		log_buf_add_field(&b, &fields[i]);
	}
	if (!b.full)
		return b.len;
	b = (struct log_buf){ dst, keep, dstlen, false };
	dst[keep] = '\0';
	if (keep > 0)
		log_buf_add(&b, " ", 1);
	log_buf_add(&b, LOG_TRUNCATED, sizeof(LOG_TRUNCATED) - 1);
	return b.len;
}

/* Append " key=value" (no space first), quoting the value when needed. */
static void
log_buf_add_field(struct log_buf *b, const struct log_field *f)
{
	const char *v;

	if (b->len > 0)
		log_buf_add(b, " ", 1);
	log_buf_add(b, f->key, strlen(f->key));
	log_buf_add(b, "=", 1);
	if (!log_value_needs_quotes(f->value)) {
		log_buf_add(b, f->value, strlen(f->value));
		return;
	}
	log_buf_add(b, "\"", 1);
	for (v = f->value; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			log_buf_add(b, "\\", 1);
		log_buf_add(b, v, 1);
	}
	log_buf_add(b, "\"", 1);
}

/* Tell whether a value must be written in double quotes. */
static bool
log_value_needs_quotes(const char *value)
{
	return value[0] == '\0' || strpbrk(value, " \"=\\") != NULL;
}

/* Append n bytes and a NUL, or mark the buffer full if they do not fit. */
static void
log_buf_add(struct log_buf *b, const char *s, size_t n)
{
	if (b->full || n >= b->size - b->len) {
		b->full = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* Escape bytes a peer sent so they are safe in a log line. */
char *
log_escape(char *dst, size_t dstlen, const void *src, size_t srclen)
{
	return log_escape_bytes(dst, dstlen, src, srclen, false);
}

/* Escape src into dst (all unsafe bytes, or only control bytes). */
static char *
log_escape_bytes(char *dst, size_t dstlen, const void *src, size_t srclen,
    bool control_only)
{
	const unsigned char *s = src;
	char esc[sizeof("\\xNN")];
	size_t i, len, off = 0, keep = 0;

	if (dstlen < sizeof(LOG_TRUNCATED)) {
		if (dstlen > 0)
			dst[0] = '\0';
		return dst;
	}
	for (i = 0; i < srclen; i++) {
		if (off + sizeof(LOG_TRUNCATED) <= dstlen)
			keep = off;
		len = log_escape_byte(s[i], control_only, esc);
		if (len >= dstlen - off) {
			memcpy(dst + keep, LOG_TRUNCATED,
			    sizeof(LOG_TRUNCATED));
			return dst;
		}
		memcpy(dst + off, esc, len);
		off += len;
	}
	dst[off] = '\0';
	return dst;
}

/* Tell whether byte c is written as itself. */
static bool
log_byte_passes(unsigned char c, bool control_only)
{
	if (c < 0x20 || c == 0x7f)
		return false;
	return control_only || (c < 0x7f && c != '\\');
}

/* Write the escaped form of c into out (5 bytes); return its length. */
static size_t
log_escape_byte(unsigned char c, bool control_only, char *out)
{
	size_t i;

	if (log_byte_passes(c, control_only)) {
		out[0] = (char)c;
		return 1;
	}
	for (i = 0; i < nitems(log_named_escapes); i++) {
		if (log_named_escapes[i].c == c) {
			memcpy(out, log_named_escapes[i].esc, 2);
			return 2;
		}
	}
	snprintf(out, sizeof("\\xNN"), "\\x%02x", c);
	return 4;
}
