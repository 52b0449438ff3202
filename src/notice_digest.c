/* The weekly digest to the mail administrators: every device whose
 * exception ends within the largest notice threshold or has ended, with
 * its register rows, soonest sunset first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "devices.h"
#include "notice.h"
#include "util.h"

#define DIGEST_SUBJECT_MAX	256

static size_t	digest_devices(const struct notice *n,
		    const struct device **out);
static int	digest_by_sunset(const void *a, const void *b);
static void	digest_headers(FILE *f, const struct notice *n,
		    const struct device *const *due, size_t ndue);
static void	digest_device(FILE *f, const struct notice *n,
		    const struct device *d);
static void	digest_state(FILE *f, const struct notice *n,
		    const struct device *d);

/* The digest: headers, the due devices or a line saying there are none,
 * and where the whole register is. */
char *
notice_digest_compose(const struct notice *n)
{
	const struct device **due = xcalloc(n->cfg->ndevices + 1,
	    sizeof(*due));
	size_t ndue = digest_devices(n, due), i;
	char *text = NULL, today[16];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		fatal("out of memory");
	digest_headers(f, n, due, ndue);
	date_format(n->today, today, sizeof(today));
	fprintf(f, "Devices on the TLS relay %s whose exception ends within "
	    "%u days, or has ended, as of %s:\r\n\r\n", n->cfg->server_name,
	    n->cfg->notices.days[0], today);
	for (i = 0; i < ndue; i++)
		digest_device(f, n, due[i]);
	if (ndue == 0)
		fprintf(f, "  none\r\n\r\n");
	fprintf(f, "%zu device%s configured in all; `tlsrelayctl report` shows "
	    "the whole register.\r\n-- \r\ntlsrelayd on %s\r\n",
	    n->cfg->ndevices, n->cfg->ndevices == 1 ? " is" : "s are",
	    n->cfg->server_name);
	free(due);
	if (fclose(f) != 0)
		fatal("out of memory");
	return text;
}

/* The devices with a notice due today, by sunset; how many. */
static size_t
digest_devices(const struct notice *n, const struct device **out)
{
	const struct device *d;
	size_t i, nout = 0;

	for (i = 0; i < n->cfg->ndevices; i++) {
		d = &n->cfg->devices[i];
		if (notice_due(&n->cfg->notices, d->sunset, n->today) !=
		    NOTICE_NONE)
			out[nout++] = d;
	}
	qsort(out, nout, sizeof(*out), digest_by_sunset);
	return nout;
}

/* qsort: the earlier sunset first, then by name. */
static int
digest_by_sunset(const void *a, const void *b)
{
	const struct device *da = *(const struct device *const *)a;
	const struct device *db = *(const struct device *const *)b;

	if (da->sunset != db->sunset)
		return da->sunset < db->sunset ? -1 : 1;
	return strcmp(da->name, db->name);
}

/* The subject counts the devices ending and ended; the id names the
 * week. */
static void
digest_headers(FILE *f, const struct notice *n,
    const struct device *const *due, size_t ndue)
{
	char subject[DIGEST_SUBJECT_MAX], id[64];
	struct notice_key k;
	size_t i, ended = 0;

	for (i = 0; i < ndue; i++)
		if (due[i]->sunset < n->today)
			ended++;
	notice_key_make(&k, NULL, NOTICE_DIGEST, n->today);
	snprintf(subject, sizeof(subject), "TLS relay %s: %zu exception%s "
	    "ending, %zu ended (week of %s)", n->cfg->server_name,
	    ndue - ended, ndue - ended == 1 ? "" : "s", ended, k.sunset);
	snprintf(id, sizeof(id), "digest.%s", k.sunset);
	notice_headers_write(f, n, n->cfg->notices.admin, subject, id);
}

/* A device: owner, sunset and what it means, then its rows. */
static void
digest_device(FILE *f, const struct notice *n, const struct device *d)
{
	size_t i;

	fprintf(f, "%s%s%s%s, owner %s, remediation %s\r\n", d->name,
	    d->function != NULL ? " (" : "",
	    d->function != NULL ? d->function : "",
	    d->function != NULL ? ")" : "",
	    d->owner != NULL ? d->owner : "unknown",
	    remediation_name(d->remediation));
	digest_state(f, n, d);
	for (i = 0; i < n->nrows; i++)
		if (n->rows[i].dev == d)
			notice_row_write(f, &n->rows[i]);
	fprintf(f, "\r\n");
}

/* The sunset and the days left, or since when it is refused and whether
 * it still tries to connect. */
static void
digest_state(FILE *f, const struct notice *n, const struct device *d)
{
	long left = (long)d->sunset - n->today;
	long long tried = 0;
	char sunset[16], last[32];
	size_t i;

	date_format(d->sunset, sunset, sizeof(sunset));
	if (left >= 0) {
		fprintf(f, "  exception ends %s, %ld day%s left\r\n", sunset,
		    left, left == 1 ? "" : "s");
		return;
	}
	for (i = 0; i < n->nrows; i++)
		if (n->rows[i].dev == d && n->rows[i].last_refused > tried)
			tried = n->rows[i].last_refused;
	fprintf(f, "  exception ended %s: refused since the day after", sunset);
	if (tried != 0 && device_expired(d, (time_t)tried)) {
		report_time(tried, last, sizeof(last));
		fprintf(f, "; still tries to connect (last refused %s UTC): "
		    "remove it from the devices file once it is retired", last);
	}
	fprintf(f, "\r\n");
}
