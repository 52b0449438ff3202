/* The allow-list: address matching and sunset arithmetic. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "devices.h"
#include "util.h"

#define PREFIX_DIGITS_MAX	3	/* "/128" */

/* An address family and the number of bits in its addresses. */
struct family {
	int		 af;
	unsigned	 bits;
};

static unsigned	 family_bits(int af);
static bool	 prefix_parse(const char *text, unsigned max,
		    unsigned *prefix);
static bool	 host_bits_zero(const uint8_t *addr, unsigned prefix,
		    unsigned bits);
static bool	 prefix_equal(const uint8_t *a, const uint8_t *b,
		    unsigned bits);
static void	 cidr_unmap(struct cidr *net);
static bool	 cidr_from_sockaddr(const struct sockaddr *sa,
		    struct cidr *out);
static bool	 digits_parse(const char *text, size_t n, int *out);
static bool	 year_is_leap(int y);
static int	 month_days(int y, int m);
static int32_t	 days_from_civil(int y, int m, int d);
static void	 civil_from_days(int32_t day, int *y, int *m, int *d);

static const struct family families[] = {
	{ AF_INET, 32 },
	{ AF_INET6, 128 },
};

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:0:0/96. */
static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

static const char *const verdict_names[] = {
	[DEVICE_ALLOWED] = "allowed",
	[DEVICE_UNKNOWN] = "unknown",
	[DEVICE_EXPIRED] = "expired",
	[DEVICE_PROTO_DENIED] = "protocol",
};

/* Parse an address or a network; host bits beyond the prefix are an error. */
bool
cidr_parse(const char *text, struct cidr *out)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	size_t i;

	if (len >= sizeof(addr))
		return false;
	memcpy(addr, text, len);
	addr[len] = '\0';
	memset(out, 0, sizeof(*out));
	for (i = 0; i < nitems(families); i++)
		if (inet_pton(families[i].af, addr, out->addr) == 1)
			break;
	if (i == nitems(families))
		return false;
	out->family = families[i].af;
	out->prefix = families[i].bits;
	if (slash != NULL &&
	    !prefix_parse(slash + 1, families[i].bits, &out->prefix))
		return false;
	if (!host_bits_zero(out->addr, out->prefix, families[i].bits))
		return false;
	cidr_unmap(out);
	return true;
}

/* Does the socket address lie in the network? v4-mapped IPv6 counts as IPv4. */
bool
cidr_match(const struct cidr *net, const struct sockaddr *sa)
{
	struct cidr host;

	return cidr_from_sockaddr(sa, &host) && host.family == net->family &&
	    prefix_equal(net->addr, host.addr, net->prefix);
}

/* Do two networks share any address? */
bool
cidr_overlap(const struct cidr *a, const struct cidr *b)
{
	unsigned bits = a->prefix < b->prefix ? a->prefix : b->prefix;

	return a->family == b->family && prefix_equal(a->addr, b->addr, bits);
}

/* Format as "addr/prefix", or just "addr" for a single address. */
void
cidr_format(const struct cidr *net, char *dst, size_t dstlen)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned bits = family_bits(net->family);

	if (bits == 0 ||
	    inet_ntop(net->family, net->addr, addr, sizeof(addr)) == NULL)
		snprintf(dst, dstlen, "(invalid)");
	else if (net->prefix == bits)
		snprintf(dst, dstlen, "%s", addr);
	else
		snprintf(dst, dstlen, "%s/%u", addr, net->prefix);
}

/* Format a peer's address numerically, a v4-mapped one as plain IPv4. */
void
sockaddr_format(const struct sockaddr *sa, socklen_t salen, char *dst,
    size_t dstlen)
{
	if (getnameinfo(sa, salen, dst, dstlen, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(dst, dstlen, "unknown");
	if (strncmp(dst, "::ffff:", 7) == 0 && strchr(dst + 7, '.') != NULL)
		memmove(dst, dst + 7, strlen(dst + 7) + 1);
}

/* Parse "YYYY-MM-DD", a real calendar date, into a civil day number. */
bool
date_parse(const char *text, int32_t *day)
{
	int y, m, d;

	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
	    !digits_parse(text, 4, &y) || !digits_parse(text + 5, 2, &m) ||
	    !digits_parse(text + 8, 2, &d))
		return false;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return false;
	*day = days_from_civil(y, m, d);
	return true;
}

/* Format a civil day number as "YYYY-MM-DD". */
void
date_format(int32_t day, char *dst, size_t dstlen)
{
	int y, m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(dst, dstlen, "%04d-%02d-%02d", y, m, d);
}

/* The civil day number of the local date at time now. */
int32_t
date_today(time_t now)
{
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		return (int32_t)(now / 86400);
	return days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

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

/* The number of bits in an address of family af, 0 if unknown. */
static unsigned
family_bits(int af)
{
	size_t i;

	for (i = 0; i < nitems(families); i++)
		if (families[i].af == af)
			return families[i].bits;
	return 0;
}

/* Parse a prefix length: 1 to 3 digits, at most max. */
static bool
prefix_parse(const char *text, unsigned max, unsigned *prefix)
{
	size_t n = strlen(text);
	int v;

	if (n == 0 || n > PREFIX_DIGITS_MAX || !digits_parse(text, n, &v) ||
	    (unsigned)v > max)
		return false;
	*prefix = (unsigned)v;
	return true;
}

/* Are all bits of addr from prefix up to bits zero? */
static bool
host_bits_zero(const uint8_t *addr, unsigned prefix, unsigned bits)
{
	unsigned i;

	for (i = prefix; i < bits; i++)
		if (addr[i / 8] & (0x80u >> (i % 8)))
			return false;
	return true;
}

/* Are the first bits of a and b equal? */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));

	if (memcmp(a, b, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

/* Turn an IPv4-mapped IPv6 network (::ffff:a.b.c.d/96+) into IPv4. */
static void
cidr_unmap(struct cidr *net)
{
	if (net->family != AF_INET6 || net->prefix < 96 ||
	    memcmp(net->addr, v4mapped_prefix, sizeof(v4mapped_prefix)) != 0)
		return;
	memmove(net->addr, net->addr + 12, 4);
	memset(net->addr + 4, 0, sizeof(net->addr) - 4);
	net->family = AF_INET;
	net->prefix -= 96;
}

/* The single-address network of a socket address, v4-mapped as IPv4. */
static bool
cidr_from_sockaddr(const struct sockaddr *sa, struct cidr *out)
{
	memset(out, 0, sizeof(*out));
	out->family = sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(out->addr,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(out->addr,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    16);
	else
		return false;
	out->prefix = family_bits(out->family);
	cidr_unmap(out);
	return true;
}

/* Parse exactly n decimal digits. */
static bool
digits_parse(const char *text, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		*out = *out * 10 + (text[i] - '0');
	}
	return true;
}

/* Is y a leap year in the Gregorian calendar? */
static bool
year_is_leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* The number of days in month m (1..12) of year y. */
static int
month_days(int y, int m)
{
	static const int days[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && year_is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil: years start in March so the leap day comes last). */
static int32_t
days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The proleptic Gregorian date of a day number, inverse of the above. */
static void
civil_from_days(int32_t day, int *y, int *m, int *d)
{
	int32_t z = day + 719468;
	int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	int32_t doe = z - era * 146097;
	int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int32_t mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}
