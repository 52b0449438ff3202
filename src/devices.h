/* The allow-list: which device a client is, and whether it may connect. */
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
