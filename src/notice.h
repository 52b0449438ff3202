/* Owner notices: which one is due for a device, and the message itself;
 * pure functions over the configuration and the register's rows. */
#ifndef TLSRELAY_NOTICE_H
#define TLSRELAY_NOTICE_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "report.h"

#define NOTICE_NONE	(-1)	/* no notice is due */
#define NOTICE_REFUSED	0	/* the one sent after the sunset */
#define NOTICE_DIGEST	(-2)	/* the weekly digest to notices.admin */

/* Everything a notice says: the configuration (sender, server name), the
 * device (NULL for the digest), its register rows (the digest: every
 * device's), the threshold it is sent for (days before the sunset,
 * NOTICE_REFUSED or NOTICE_DIGEST), today (a civil day) and now (for the
 * Date header). */
struct notice {
	const struct config	*cfg;
	const struct device	*dev;
	const struct report_row	*rows;
	size_t			 nrows;
	int			 threshold;
	int32_t			 today;
	time_t			 now;
};

/* What names a notice in the register: the device ("" for the digest),
 * its sunset (for the digest, the Monday of its week) and the threshold's
 * name. */
struct notice_key {
	const char	*device;
	char		 sunset[16];
	char		 threshold[16];
};

/* The notice due for a device whose sunset is that day: the smallest
 * threshold of nc->days not below the days left, NOTICE_REFUSED once the
 * sunset has passed, else NOTICE_NONE. */
int	notice_due(const struct notices_conf *nc, int32_t sunset,
	    int32_t today);
/* The threshold's name in logs and tlsrelayctl: "30", "refused" or
 * "digest". */
const char *notice_threshold_name(int threshold, char *dst, size_t len);
/* The register's key of a device's notice, or of the digest (d NULL) of
 * today's week. */
void	notice_key_make(struct notice_key *k, const struct device *d,
	    int threshold, int32_t today);
/* The whole message (headers and body, CRLF line ends, no dot-stuffing),
 * to the device's owner; heap-allocated. */
char	*notice_compose(const struct notice *n);
/* The weekly digest to notices.admin: every device whose notice is due,
 * with its rows; heap-allocated like notice_compose. */
char	*notice_digest_compose(const struct notice *n);
/* Headers common to a notice and the digest: From (notices.from), To,
 * Subject, Date, Message-ID <id@server_name> and plain-text MIME. */
void	notice_headers_write(FILE *f, const struct notice *n, const char *to,
	    const char *subject, const char *id);
/* One register row as a line of a notice: last seen, sessions, TLS. */
void	notice_row_write(FILE *f, const struct report_row *r);

#endif
