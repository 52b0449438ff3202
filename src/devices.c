/* The allow-list: which device a client is, and whether it may connect. */
#include <time.h>

#include "config.h"
#include "date.h"
#include "devices.h"
#include "util.h"

static const char *const verdict_names[] = {
	[DEVICE_ALLOWED] = "allowed",
	[DEVICE_UNKNOWN] = "unknown",
	[DEVICE_EXPIRED] = "expired",
	[DEVICE_PROTO_DENIED] = "protocol",
};

/* Days from today to the sunset day: 0 on the day itself, then negative. */
long
device_days_left(const struct device *dev, time_t now)
{
	return (long)dev->sunset - (long)date_today(now);
}

/* Has the device's sunset day passed? */
bool
device_expired(const struct device *dev, time_t now)
{
	return date_today(now) > dev->sunset;
}

/* Find the device owning the client address, or NULL. */
const struct device *
devices_lookup(const struct config *cfg, const struct sockaddr *sa)
{
	size_t i, j;

	for (i = 0; i < cfg->ndevices; i++)
		for (j = 0; j < cfg->devices[i].naddrs; j++)
			if (cidr_match(&cfg->devices[i].addrs[j], sa))
				return &cfg->devices[i];
	return NULL;
}

/* Decide whether this client may use proto now: unknown, expired, then
 * protocol not allowed. */
enum device_verdict
devices_check(const struct config *cfg, const struct sockaddr *sa,
    enum proto proto, time_t now, const struct device **dev)
{
	const struct device *found = devices_lookup(cfg, sa);

	if (dev != NULL)
		*dev = found;
	if (found == NULL)
		return DEVICE_UNKNOWN;
	if (device_expired(found, now))
		return DEVICE_EXPIRED;
	if ((found->protocols & (1u << proto)) == 0)
		return DEVICE_PROTO_DENIED;
	return DEVICE_ALLOWED;
}

/* The log name of a verdict. */
const char *
device_verdict_name(enum device_verdict v)
{
	if ((size_t)v >= nitems(verdict_names))
		return "invalid";
	return verdict_names[v];
}
