/* IPv4 and IPv6 networks and peer addresses: parsing, matching, overlap,
 * formatting. */
#ifndef TLSRELAY_CIDR_H
#define TLSRELAY_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 network; a single address has the full prefix. */
struct cidr {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		addr[16];	/* network byte order, host bits zero */
	unsigned	prefix;		/* 0..32 or 0..128 */
};

/* Parse "192.0.2.1", "2001:db8::/32", "10.0.0.0/8"; false on bad syntax or
 * host bits set beyond the prefix. */
bool	cidr_parse(const char *text, struct cidr *out);
/* Does the address (AF_INET, AF_INET6, or v4-mapped v6) lie in the network? */
bool	cidr_match(const struct cidr *net, const struct sockaddr *sa);
/* Do two networks share any address? */
bool	cidr_overlap(const struct cidr *a, const struct cidr *b);
/* Format as "addr/prefix" (or just "addr" for a full prefix). */
void	cidr_format(const struct cidr *net, char *dst, size_t dstlen);
/* Format a peer's address numerically, a v4-mapped one as plain IPv4;
 * "unknown" if it cannot be. */
void	sockaddr_format(const struct sockaddr *sa, socklen_t salen, char *dst,
	    size_t dstlen);

#endif
