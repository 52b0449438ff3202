/* Credentials that expire: the oauth2 client secret and the certificates
 * the relay presents, reported like device sunsets. */
#ifndef TLSRELAY_CREDENTIALS_H
#define TLSRELAY_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <openssl/x509.h>

#include "config.h"

#define CREDENTIALS_MAX	5	/* secret; oauth2, LAN, connector, LAN ECDSA
				 * certificates */

/* How near a credential is to its expiry day. */
enum credential_state {
	CREDENTIAL_VALID,	/* more than warn_days left */
	CREDENTIAL_EXPIRING,	/* warn_days or fewer left, the day itself too */
	CREDENTIAL_EXPIRED,	/* the expiry day has passed */
};

/* One credential with a known expiry day. */
struct credential {
	const char	*name;		/* "oauth2_secret", "lan_certificate" */
	const char	*file;		/* where it was read; the config owns it */
	int32_t		 expires;	/* civil day number, see date_parse() */
};

/* The credentials of a config that have a known expiry day. */
struct credentials {
	struct credential list[CREDENTIALS_MAX];
	size_t		 n;
};

/* Collect the oauth2 client secret (when secret_expires is set) and the
 * oauth2, LAN and connector certificates that are loaded. */
void	credentials_collect(const struct config *cfg, struct credentials *out);
/* Log each credential within warn_days of its expiry (warning) or past it
 * (err); with all, also an info line for each of the others. */
void	credentials_report(const struct config *cfg, time_t now, bool all);
/* Print the check mode's line for each credential. */
void	credentials_print(const struct config *cfg, FILE *fp, time_t now);

/* The local civil day on which a certificate's notAfter falls; false when
 * it cannot be read. */
bool	credential_cert_expiry(const X509 *cert, int32_t *day);
/* Days from today to the expiry day: 0 on the day itself, then negative. */
long	credential_days_left(const struct credential *c, time_t now);
/* Valid, expiring within warn_days, or expired. */
enum credential_state credential_classify(const struct credential *c,
	    unsigned warn_days, time_t now);

#endif
