/* Logging to journald, syslog or stderr; key=value session lines. */
#ifndef TLSRELAY_LOG_H
#define TLSRELAY_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>
#include <syslog.h>

enum log_target {
	LOG_TARGET_AUTO,	/* journald when running under systemd, else syslog */
	LOG_TARGET_JOURNALD,
	LOG_TARGET_SYSLOG,
	LOG_TARGET_STDERR,
};

/* One key=value pair of a structured log line. */
struct log_field {
	const char	*key;	/* lower case, [a-z_]: "device", "days_left" */
	const char	*value;	/* already escaped if it came from a peer */
};

void	log_init(enum log_target target, int facility, int max_priority);
void	log_set_level(int max_priority);
enum log_target log_current_target(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/*
 * Emit one structured line at priority: the text is "k1=v1 k2=v2 ..." (values
 * with spaces, quotes or '=' are double-quoted), and journald also receives
 * each pair as a field TLSRELAY_<KEY in upper case>=value.
 */
void	log_fields(int priority, const struct log_field *fields, size_t n);

/*
 * Emit a structured line like log_fields; journald also receives msgid (one
 * of msgid.h, NULL for none) as MESSAGE_ID, which journalctl -x explains.
 */
void	log_event(int priority, const char *msgid,
	    const struct log_field *fields, size_t n);

/* One journald entry: "NAME=value" items as sd_journal_sendv takes them. */
struct log_entry {
	struct iovec	*iov;
	size_t		 n;
};

/*
 * Build the journald entry of a line: MESSAGE=text, PRIORITY,
 * SYSLOG_FACILITY, SYSLOG_IDENTIFIER, MESSAGE_ID (when msgid is not NULL)
 * and TLSRELAY_<KEY>=value for each field with a value. False (nothing to
 * free) when out of memory.
 */
bool	log_entry_build(struct log_entry *e, int priority,
	    const char *msgid, const char *text,
	    const struct log_field *fields, size_t n);
void	log_entry_free(struct log_entry *e);

/* Format the text form of fields into dst (always NUL-terminated). */
size_t	log_format_fields(char *dst, size_t dstlen,
	    const struct log_field *fields, size_t n);

/*
 * Escape bytes a peer sent so they are safe in a log line: printable ASCII
 * except backslash passes, \r \n \t and backslash become C escapes, others
 * become \xNN. Returns dst, always NUL-terminated, truncated with "..." if
 * dst is too small.
 */
char	*log_escape(char *dst, size_t dstlen, const void *src, size_t srclen);

#endif
