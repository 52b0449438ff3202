/* Clients the allow-list refuses on implicit-TLS listeners: their first
 * bytes are read, without a TLS handshake, to learn the TLS version they
 * offer. */
#ifndef TLSRELAY_HELLO_SNIFF_H
#define TLSRELAY_HELLO_SNIFF_H

#include <stdbool.h>

#define HELLO_SNIFF_TIMEOUT	3	/* seconds to wait for a ClientHello */
#define HELLO_SNIFF_MAX		64	/* sniffed connections at once */
#define HELLO_SNIFF_PER_ADDRESS	4	/* of those, from one address */

struct session;

/* Wait for the session's ClientHello, then note its best version in
 * s->sniffed_hello and call done (which ends the session); false, with
 * nothing started, when over a cap or out of memory. */
bool	hello_sniff_start(struct session *s, void (*done)(struct session *));

/* Stop waiting and free what the wait held (nothing when not sniffing). */
void	hello_sniff_end(struct session *s);

#endif
