/* The allow-list: address matching and sunset arithmetic. */
#ifndef TLSRELAY_DEVICES_H
#define TLSRELAY_DEVICES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "config.h"

/* Why a client was refused at accept time. */
enum device_verdict {
	DEVICE_ALLOWED,
	DEVICE_UNKNOWN,		/* no device has this address */
	DEVICE_EXPIRED,		/* today is after its sunset day */
	DEVICE_PROTO_DENIED,	/* the device may not use this protocol */
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

/* Parse "YYYY-MM-DD" (a real calendar date) into a civil day number
 * (days since 1970-01-01); false on bad syntax or impossible date. */
bool	date_parse(const char *text, int32_t *day);
/* Format a civil day number as "YYYY-MM-DD" into dst (>= 11 bytes). */
void	date_format(int32_t day, char *dst, size_t dstlen);
/* The civil day number of the local date at time now. */
int32_t	date_today(time_t now);

/* Days from today to the sunset day: 0 on the sunset day itself, negative
 * once it has passed. */
long	device_days_left(const struct device *dev, time_t now);
bool	device_expired(const struct device *dev, time_t now);

/* Find the device owning the client address, or NULL. */
const struct device *devices_lookup(const struct config *cfg,
	    const struct sockaddr *sa);
/* Decide whether this client may use proto now; *dev is set when known. */
enum device_verdict devices_check(const struct config *cfg,
	    const struct sockaddr *sa, enum proto proto, time_t now,
	    const struct device **dev);
const char *device_verdict_name(enum device_verdict v);

#endif
