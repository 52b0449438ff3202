/* Owner notices: the one due for a device, and the message that tells its
 * owner the sunset, the days left, the register's rows and what to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "devices.h"
#include "notice.h"
#include "util.h"

#define NOTICE_DATE_MAX		64
#define NOTICE_SUBJECT_MAX	512

static void	notice_headers(FILE *f, const struct notice *n);
static void	notice_subject(char *dst, size_t len, const struct notice *n);
static void	notice_opening(FILE *f, const struct notice *n);
static void	notice_rows(FILE *f, const struct notice *n);
static void	notice_advice(FILE *f, const struct notice *n);

/* What to do, by the device's remediation. */
static const char *const advice[] = {
	[REMEDIATION_UNDECIDED] = "Decide whether the device is to be "
	    "reconfigured, replaced or retired, and tell the mail "
	    "administrators.",
	[REMEDIATION_RECONFIGURE] = "Configure the device to use TLS 1.2 or "
	    "later with the mail service directly, test each path listed "
	    "above, and tell the mail administrators so that its exception "
	    "can be removed.",
	[REMEDIATION_REPLACE] = "Replace the device with one that speaks TLS "
	    "1.2 or later, test each path listed above with the new one, and "
	    "tell the mail administrators.",
	[REMEDIATION_RETIRE] = "Retire the device, or move its work elsewhere, "
	    "and tell the mail administrators.",
};

/* The notice due today for a sunset day. */
int
notice_due(const struct notices_conf *nc, int32_t sunset, int32_t today)
{
	long left = (long)sunset - today;
	int due = NOTICE_NONE;
	size_t i;

	if (left < 0)
		return NOTICE_REFUSED;
	for (i = 0; i < nc->ndays; i++)
		if (left <= (long)nc->days[i])
			due = (int)nc->days[i];
	return due;
}

/* "30", "refused" or "digest". */
const char *
notice_threshold_name(int threshold, char *dst, size_t len)
{
	if (threshold == NOTICE_REFUSED)
		snprintf(dst, len, "refused");
	else if (threshold == NOTICE_DIGEST)
		snprintf(dst, len, "digest");
	else
		snprintf(dst, len, "%d", threshold);
	return dst;
}

/* A device notice is named by its device, sunset and threshold; the
 * digest by its week, Monday to Sunday. */
void
notice_key_make(struct notice_key *k, const struct device *d, int threshold,
    int32_t today)
{
	int32_t day = d != NULL ? d->sunset : today - (today + 3) % 7;

	k->device = d != NULL ? d->name : "";
	date_format(day, k->sunset, sizeof(k->sunset));
	notice_threshold_name(threshold, k->threshold, sizeof(k->threshold));
}

/* The whole message to the device's owner. */
char *
notice_compose(const struct notice *n)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		fatal("out of memory");
	notice_headers(f, n);
	notice_opening(f, n);
	notice_rows(f, n);
	notice_advice(f, n);
	fprintf(f, "-- \r\ntlsrelayd on %s\r\n", n->cfg->server_name);
	if (fclose(f) != 0)
		fatal("out of memory");
	return text;
}

/* The owner's notice: its subject, and an id of device, sunset and
 * threshold. */
static void
notice_headers(FILE *f, const struct notice *n)
{
	struct notice_key k;
	char subject[NOTICE_SUBJECT_MAX], id[NOTICE_SUBJECT_MAX];

	notice_key_make(&k, n->dev, n->threshold, n->today);
	notice_subject(subject, sizeof(subject), n);
	snprintf(id, sizeof(id), "notice.%s.%s.%s", k.device, k.sunset,
	    k.threshold);
	notice_headers_write(f, n, n->dev->owner, subject, id);
}

/* From, To, Subject, Date, Message-ID and the plain-text MIME headers. */
void
notice_headers_write(FILE *f, const struct notice *n, const char *to,
    const char *subject, const char *id)
{
	char date[NOTICE_DATE_MAX];
	struct tm tm;

	gmtime_r(&n->now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	fprintf(f, "From: tlsrelayd <%s>\r\nTo: %s\r\nSubject: %s\r\n"
	    "Date: %s\r\nMessage-ID: <%s@%s>\r\n"
	    "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", n->cfg->notices.from,
	    to, subject, date, id, n->cfg->server_name);
}

/* The subject names the device, the sunset and the days left. */
static void
notice_subject(char *dst, size_t len, const struct notice *n)
{
	char sunset[16];
	long left = (long)n->dev->sunset - n->today;

	date_format(n->dev->sunset, sunset, sizeof(sunset));
	if (n->threshold == NOTICE_REFUSED)
		snprintf(dst, len, "%s: refused by the TLS relay since the day "
		    "after %s", n->dev->name, sunset);
	else
		snprintf(dst, len, "%s: TLS relay access ends %s (%ld day%s "
		    "left)", n->dev->name, sunset, left, left == 1 ? "" : "s");
}

/* Which device, its function, and when its exception ends (or ended). */
static void
notice_opening(FILE *f, const struct notice *n)
{
	const struct device *d = n->dev;
	char sunset[16];
	long left = (long)d->sunset - n->today;

	date_format(d->sunset, sunset, sizeof(sunset));
	fprintf(f, "The device \"%s\"%s%s%s reaches the mail service through "
	    "the TLS relay %s, because it does not use TLS 1.2 itself. You "
	    "are its owner.\r\n\r\n", d->name,
	    d->function != NULL ? " (" : "",
	    d->function != NULL ? d->function : "",
	    d->function != NULL ? ")" : "", n->cfg->server_name);
	if (n->threshold == NOTICE_REFUSED)
		fprintf(f, "Its exception ended on %s: since the day after, "
		    "the relay refuses it (%ld day%s ago).\r\n\r\n", sunset,
		    -left - 1, -left - 1 == 1 ? "" : "s");
	else
		fprintf(f, "Its exception ends on %s, %ld day%s from today. "
		    "After that day the relay refuses it.\r\n\r\n", sunset,
		    left, left == 1 ? "" : "s");
}

/* One line per protocol path of the register. */
static void
notice_rows(FILE *f, const struct notice *n)
{
	size_t i;

	fprintf(f, "What the relay has seen of it, per path:\r\n");
	for (i = 0; i < n->nrows; i++)
		notice_row_write(f, &n->rows[i]);
	fprintf(f, "\r\n");
}

/* A path: last seen, sessions, evidence and TLS versions, or never. */
void
notice_row_write(FILE *f, const struct report_row *r)
{
	char last[32];

	if (r->sessions == 0) {
		fprintf(f, "  %-4s %s\r\n", proto_name(r->proto), r->allowed ?
		    "allowed, never used" : "not allowed, never used");
		return;
	}
	report_time(r->last_seen, last, sizeof(last));
	fprintf(f, "  %-4s last seen %s UTC, %lld session%s (%lld ok), "
	    "TLS %s, best offered %s\r\n", proto_name(r->proto), last,
	    r->sessions, r->sessions == 1 ? "" : "s", r->ok_sessions,
	    r->tls_used[0] != '\0' ? r->tls_used : "none",
	    r->best_offered[0] != '\0' ? r->best_offered : "none");
}

/* What to do, a hint when the device could already reach the service
 * directly, and the retest date. */
static void
notice_advice(FILE *f, const struct notice *n)
{
	const struct device *d = n->dev;
	char retest[16];
	size_t i;

	fprintf(f, "What to do: %s\r\n", advice[d->remediation]);
	for (i = 0; i < n->nrows; i++)
		if (n->rows[i].flags & FLAG_DIRECT) {
			fprintf(f, "It has offered TLS 1.2 or later: pointing it "
			    "at the mail service directly may be enough.\r\n");
			break;
		}
	if (d->retest != 0) {
		date_format(d->retest, retest, sizeof(retest));
		fprintf(f, "Its paths are due to be tested again on %s.\r\n",
		    retest);
	}
	fprintf(f, "\r\n");
}
