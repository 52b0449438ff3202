/* Unit tests for devices.c: address matching, dates and sunset arithmetic. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "cidr.h"
#include "config.h"
#include "date.h"
#include "devices.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

/* Instants around the end of 2027-06-30, in UTC. */
#define T_0629_1200Z	((time_t)1814270400)	/* 2027-06-29 12:00:00Z */
#define T_0630_2000Z	((time_t)1814385600)	/* 2027-06-30 20:00:00Z */
#define T_0630_2359Z	((time_t)1814399999)	/* 2027-06-30 23:59:59Z */
#define T_0701_0000Z	((time_t)1814400000)	/* 2027-07-01 00:00:00Z */
#define T_0701_0300Z	((time_t)1814410800)	/* 2027-07-01 03:00:00Z */

#define DAY_1900_01_01	(-25567)
#define DAY_2200_01_01	84006

static struct cidr net_of(const char *text);
static const struct sockaddr *sockaddr_of(const char *text,
		    struct sockaddr_storage *ss);
static bool	matches(const char *net, const char *addr);
static bool	overlaps(const char *a, const char *b);
static struct device device_with_sunset(const char *sunset);
static struct config *config_two_devices(void);
static void	config_two_devices_free(struct config *cfg);




/* Parse a network that must be valid. */
static struct cidr
net_of(const char *text)
{
	struct cidr net;

	ck_assert_msg(cidr_parse(text, &net), "cidr_parse(\"%s\")", text);
	return net;
}

/* Build an AF_INET or AF_INET6 socket address from numeric text. */
static const struct sockaddr *
sockaddr_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr),
		    1);
		sin6->sin6_family = AF_INET6;
	}
	return (const struct sockaddr *)ss;
}

/* Does the client address addr lie in the network net? */
static bool
matches(const char *net, const char *addr)
{
	struct sockaddr_storage ss;
	struct cidr n = net_of(net);

	return cidr_match(&n, sockaddr_of(addr, &ss));
}

/* Do the networks a and b overlap, in both argument orders? */
static bool
overlaps(const char *a, const char *b)
{
	struct cidr na = net_of(a), nb = net_of(b);
	bool ab = cidr_overlap(&na, &nb);

	ck_assert_int_eq(ab, cidr_overlap(&nb, &na));
	return ab;
}

/* A device with only a sunset date, for the date arithmetic. */
static struct device
device_with_sunset(const char *sunset)
{
	struct device dev;

	memset(&dev, 0, sizeof(dev));
	ck_assert(date_parse(sunset, &dev.sunset));
	return dev;
}

/* A config with "copier" (192.0.2.10, 2001:db8:1::/64; smtp; sunset
 * 2027-06-30) and "old-ups" (198.51.100.0/24; pop3, imap; sunset 2020). */
static struct config *
config_two_devices(void)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));
	struct device *d;

	cfg->ndevices = 2;
	cfg->devices = d = xcalloc(2, sizeof(*d));
	d[0] = device_with_sunset("2027-06-30");
	d[0].name = "copier";
	d[0].naddrs = 2;
	d[0].addrs = xcalloc(2, sizeof(struct cidr));
	d[0].addrs[0] = net_of("192.0.2.10");
	d[0].addrs[1] = net_of("2001:db8:1::/64");
	d[0].protocols = 1u << PROTO_SMTP;
	d[1] = device_with_sunset("2020-01-01");
	d[1].name = "old-ups";
	d[1].naddrs = 1;
	d[1].addrs = xcalloc(1, sizeof(struct cidr));
	d[1].addrs[0] = net_of("198.51.100.0/24");
	d[1].protocols = (1u << PROTO_POP3) | (1u << PROTO_IMAP);
	return cfg;
}

/* Free what config_two_devices built. */
static void
config_two_devices_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		free(cfg->devices[i].addrs);
	free(cfg->devices);
	free(cfg);
}

/* Addresses and networks that parse, and how they print back. */
START_TEST(test_cidr_parse_valid)
{
	static const struct {
		const char	*text;
		int		 family;
		unsigned	 prefix;
		const char	*formatted;
	} cases[] = {
		{ "192.0.2.1", AF_INET, 32, "192.0.2.1" },
		{ "192.0.2.1/32", AF_INET, 32, "192.0.2.1" },
		{ "10.0.0.0/8", AF_INET, 8, "10.0.0.0/8" },
		{ "10.128.0.0/9", AF_INET, 9, "10.128.0.0/9" },
		{ "0.0.0.0/0", AF_INET, 0, "0.0.0.0/0" },
		{ "2001:db8::/32", AF_INET6, 32, "2001:db8::/32" },
		{ "2001:DB8:1:0::/64", AF_INET6, 64, "2001:db8:1::/64" },
		{ "::1", AF_INET6, 128, "::1" },
		{ "::/0", AF_INET6, 0, "::/0" },
		{ "::ffff:192.0.2.10", AF_INET, 32, "192.0.2.10" },
		{ "::ffff:192.0.2.0/120", AF_INET, 24, "192.0.2.0/24" },
	};
	struct cidr net;
	char text[64];
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		net = net_of(cases[i].text);
		ck_assert_int_eq(net.family, cases[i].family);
		ck_assert_uint_eq(net.prefix, cases[i].prefix);
		cidr_format(&net, text, sizeof(text));
		ck_assert_str_eq(text, cases[i].formatted);
	}
}
END_TEST

/* Bad syntax, bad prefixes and host bits beyond the prefix are refused. */
START_TEST(test_cidr_parse_invalid)
{
	static const char *const cases[] = {
		"", "host.example.org", "192.0.2.300", "192.0.2", " 192.0.2.1",
		"192.0.2.1 ", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/0008", "10.0.0.0/8/8",
		"10.0.0.1/8", "192.0.2.128/24", "::/129", "2001:db8::1/64",
		"2001:db8::/16", "fe80::1%eth0", "::ffff:192.0.2.1/120",
	};
	struct cidr net;
	size_t i;

	for (i = 0; i < nitems(cases); i++)
		ck_assert_msg(!cidr_parse(cases[i], &net),
		    "cidr_parse(\"%s\") accepted", cases[i]);
}
END_TEST

/* IPv4 clients match single addresses and networks of any prefix. */
START_TEST(test_cidr_match_ipv4)
{
	ck_assert(matches("192.0.2.10", "192.0.2.10"));
	ck_assert(!matches("192.0.2.10", "192.0.2.11"));
	ck_assert(matches("192.0.2.0/24", "192.0.2.255"));
	ck_assert(!matches("192.0.2.0/24", "192.0.3.0"));
	ck_assert(matches("10.0.0.0/9", "10.127.255.255"));
	ck_assert(!matches("10.0.0.0/9", "10.128.0.0"));
	ck_assert(matches("0.0.0.0/0", "203.0.113.7"));
	ck_assert(!matches("0.0.0.0/0", "2001:db8::1"));
}
END_TEST

/* IPv6 clients match single addresses and networks. */
START_TEST(test_cidr_match_ipv6)
{
	ck_assert(matches("2001:db8:1::/64", "2001:db8:1::5"));
	ck_assert(matches("2001:db8:1::/64", "2001:db8:1:0:ffff:ffff:ffff:ffff"));
	ck_assert(!matches("2001:db8:1::/64", "2001:db8:1:1::5"));
	ck_assert(matches("2001:db8::/33", "2001:db8:7fff::1"));
	ck_assert(!matches("2001:db8::/33", "2001:db8:8000::1"));
	ck_assert(matches("::1", "::1"));
	ck_assert(!matches("::1", "127.0.0.1"));
	ck_assert(!matches("2001:db8::/32", "192.0.2.10"));
}
END_TEST

/* A v4-mapped IPv6 client (dual-stack socket) matches IPv4 entries. */
START_TEST(test_cidr_match_v4mapped)
{
	ck_assert(matches("192.0.2.10", "::ffff:192.0.2.10"));
	ck_assert(matches("192.0.2.0/24", "::ffff:192.0.2.77"));
	ck_assert(!matches("192.0.2.10", "::ffff:192.0.2.11"));
	ck_assert(matches("::ffff:192.0.2.10", "192.0.2.10"));
	ck_assert(!matches("::/0", "::ffff:192.0.2.10"));
}
END_TEST

/* An address family other than IPv4 and IPv6 never matches. */
START_TEST(test_cidr_match_other_family)
{
	struct sockaddr_un sun;
	struct cidr net = net_of("0.0.0.0/0");

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	ck_assert(!cidr_match(&net, (const struct sockaddr *)&sun));
}
END_TEST

/* Networks overlap when one contains the other. */
START_TEST(test_cidr_overlap)
{
	ck_assert(overlaps("10.0.0.0/8", "10.1.0.0/16"));
	ck_assert(overlaps("10.1.2.3", "10.1.0.0/16"));
	ck_assert(overlaps("192.0.2.10", "192.0.2.10"));
	ck_assert(!overlaps("10.0.0.0/16", "10.1.0.0/16"));
	ck_assert(!overlaps("192.0.2.10", "192.0.2.11"));
	ck_assert(overlaps("0.0.0.0/0", "203.0.113.7"));
	ck_assert(overlaps("::/0", "2001:db8::1"));
	ck_assert(overlaps("2001:db8::/32", "2001:db8:1::/64"));
	ck_assert(!overlaps("2001:db8::/48", "2001:db8:1::/48"));
	ck_assert(!overlaps("0.0.0.0/0", "::/0"));
	ck_assert(overlaps("::ffff:192.0.2.10", "192.0.2.0/24"));
}
END_TEST

/* cidr_format truncates safely into a small buffer. */
START_TEST(test_cidr_format_small)
{
	struct cidr net = net_of("2001:db8:1::/64");
	char text[8];

	cidr_format(&net, text, sizeof(text));
	ck_assert_str_eq(text, "2001:db");
}
END_TEST

/* Real dates parse, leap years included; impossible ones do not. */
START_TEST(test_date_parse)
{
	static const char *const good[] = {
		"2024-02-29", "2000-02-29", "2027-06-30", "2027-12-31",
		"2027-01-01", "2027-04-30", "1970-01-01", "9999-12-31",
	};
	static const char *const bad[] = {
		"2023-02-29", "1900-02-29", "2100-02-29", "2027-02-30",
		"2027-04-31", "2027-13-01", "2027-00-10", "2027-01-00",
		"2027-01-32", "0000-01-01", "2027-6-30", "2027/06/30",
		"27-06-30", "2027-06-30x", "2027-06-3", " 2027-06-30", "",
		"2027-0a-01", "+027-06-30",
	};
	int32_t day;
	size_t i;

	for (i = 0; i < nitems(good); i++)
		ck_assert_msg(date_parse(good[i], &day), "refused %s", good[i]);
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(!date_parse(bad[i], &day), "accepted %s", bad[i]);
}
END_TEST

/* Day numbers count from 1970-01-01. */
START_TEST(test_date_day_numbers)
{
	static const struct {
		const char	*text;
		int32_t		 day;
	} cases[] = {
		{ "1970-01-01", 0 },
		{ "1970-01-02", 1 },
		{ "1969-12-31", -1 },
		{ "2000-03-01", 11017 },
		{ "2024-02-29", 19782 },
		{ "2027-06-30", 20999 },
		{ "2027-07-01", 21000 },
	};
	char text[16];
	int32_t day;
	size_t i;

	for (i = 0; i < nitems(cases); i++) {
		ck_assert(date_parse(cases[i].text, &day));
		ck_assert_int_eq(day, cases[i].day);
		date_format(cases[i].day, text, sizeof(text));
		ck_assert_str_eq(text, cases[i].text);
	}
}
END_TEST

/* Every day from 1900 to 2200 agrees with the C library's gmtime. */
START_TEST(test_date_against_gmtime)
{
	char mine[16], libc[16];
	struct tm tm;
	time_t t;
	int32_t day, back;

	for (day = DAY_1900_01_01; day < DAY_2200_01_01; day++) {
		t = (time_t)day * 86400;
		ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
		strftime(libc, sizeof(libc), "%Y-%m-%d", &tm);
		date_format(day, mine, sizeof(mine));
		ck_assert_str_eq(mine, libc);
		ck_assert(date_parse(mine, &back));
		ck_assert_int_eq(back, day);
	}
}
END_TEST

/* The sunset day itself is allowed; the next day is refused (UTC). */
START_TEST(test_sunset_utc)
{
	struct device dev = device_with_sunset("2027-06-30");

	ck_assert_int_eq(date_today(T_0630_2359Z), 20999);
	ck_assert_int_eq(device_days_left(&dev, T_0629_1200Z), 1);
	ck_assert(!device_expired(&dev, T_0629_1200Z));
	ck_assert_int_eq(device_days_left(&dev, T_0630_2359Z), 0);
	ck_assert(!device_expired(&dev, T_0630_2359Z));
	ck_assert_int_eq(device_days_left(&dev, T_0701_0000Z), -1);
	ck_assert(device_expired(&dev, T_0701_0000Z));
}
END_TEST

/* Access ends at the end of the sunset day in local time, not UTC. */
START_TEST(test_sunset_local_time)
{
	struct device dev = device_with_sunset("2027-06-30");

	/* 20:00Z on the sunset day is already 06:00 the next day at UTC+10. */
	ck_assert(!device_expired(&dev, T_0630_2000Z));
	tz_set("AEST-10");
	ck_assert_int_eq(device_days_left(&dev, T_0630_2000Z), -1);
	ck_assert(device_expired(&dev, T_0630_2000Z));
	/* 03:00Z the next day is still 22:00 on the sunset day at UTC-5. */
	tz_set("UTC");
	ck_assert(device_expired(&dev, T_0701_0300Z));
	tz_set("EST5");
	ck_assert_int_eq(device_days_left(&dev, T_0701_0300Z), 0);
	ck_assert(!device_expired(&dev, T_0701_0300Z));
}
END_TEST

/* Lookup finds the owning device by any of its addresses, or nothing. */
START_TEST(test_devices_lookup)
{
	struct config *cfg = config_two_devices();
	struct sockaddr_storage ss;

	ck_assert_ptr_eq(devices_lookup(cfg, sockaddr_of("192.0.2.10", &ss)),
	    &cfg->devices[0]);
	ck_assert_ptr_eq(devices_lookup(cfg,
	    sockaddr_of("::ffff:192.0.2.10", &ss)), &cfg->devices[0]);
	ck_assert_ptr_eq(devices_lookup(cfg,
	    sockaddr_of("2001:db8:1::99", &ss)), &cfg->devices[0]);
	ck_assert_ptr_eq(devices_lookup(cfg,
	    sockaddr_of("198.51.100.200", &ss)), &cfg->devices[1]);
	ck_assert_ptr_null(devices_lookup(cfg, sockaddr_of("192.0.2.11", &ss)));
	ck_assert_ptr_null(devices_lookup(cfg,
	    sockaddr_of("2001:db8:2::1", &ss)));
	config_two_devices_free(cfg);
}
END_TEST

/* Verdicts come in order: unknown, then expired, then protocol denied. */
START_TEST(test_devices_check)
{
	struct config *cfg = config_two_devices();
	struct sockaddr_storage ss;
	const struct device *dev;

	ck_assert_int_eq(devices_check(cfg, sockaddr_of("192.0.2.99", &ss),
	    PROTO_SMTP, T_0630_2359Z, &dev), DEVICE_UNKNOWN);
	ck_assert_ptr_null(dev);
	ck_assert_int_eq(devices_check(cfg, sockaddr_of("192.0.2.10", &ss),
	    PROTO_SMTP, T_0630_2359Z, &dev), DEVICE_ALLOWED);
	ck_assert_ptr_eq(dev, &cfg->devices[0]);
	ck_assert_int_eq(devices_check(cfg, sockaddr_of("192.0.2.10", &ss),
	    PROTO_IMAP, T_0630_2359Z, &dev), DEVICE_PROTO_DENIED);
	ck_assert_ptr_eq(dev, &cfg->devices[0]);
	ck_assert_int_eq(devices_check(cfg, sockaddr_of("192.0.2.10", &ss),
	    PROTO_IMAP, T_0701_0000Z, &dev), DEVICE_EXPIRED);
	ck_assert_int_eq(devices_check(cfg, sockaddr_of("198.51.100.1", &ss),
	    PROTO_SMTP, T_0629_1200Z, &dev), DEVICE_EXPIRED);
	ck_assert_ptr_eq(dev, &cfg->devices[1]);
	ck_assert_int_eq(devices_check(cfg,
	    sockaddr_of("::ffff:192.0.2.10", &ss), PROTO_SMTP, T_0629_1200Z,
	    NULL), DEVICE_ALLOWED);
	config_two_devices_free(cfg);
}
END_TEST

/* Verdict names for the log. */
START_TEST(test_verdict_names)
{
	ck_assert_str_eq(device_verdict_name(DEVICE_ALLOWED), "allowed");
	ck_assert_str_eq(device_verdict_name(DEVICE_UNKNOWN), "unknown");
	ck_assert_str_eq(device_verdict_name(DEVICE_EXPIRED), "expired");
	ck_assert_str_eq(device_verdict_name(DEVICE_PROTO_DENIED),
	    "protocol");
}
END_TEST

/* The devices module's suite. */
Suite *
devices_suite(void)
{
	Suite *s = suite_create("devices");
	TCase *addr = tcase_create("addresses");
	TCase *dates = tcase_create("dates");

	tcase_add_test(addr, test_cidr_parse_valid);
	tcase_add_test(addr, test_cidr_parse_invalid);
	tcase_add_test(addr, test_cidr_match_ipv4);
	tcase_add_test(addr, test_cidr_match_ipv6);
	tcase_add_test(addr, test_cidr_match_v4mapped);
	tcase_add_test(addr, test_cidr_match_other_family);
	tcase_add_test(addr, test_cidr_overlap);
	tcase_add_test(addr, test_cidr_format_small);
	suite_add_tcase(s, addr);
	tcase_add_checked_fixture(dates, tz_setup, tz_teardown);
	tcase_add_test(dates, test_date_parse);
	tcase_add_test(dates, test_date_day_numbers);
	tcase_add_test(dates, test_date_against_gmtime);
	tcase_add_test(dates, test_sunset_utc);
	tcase_add_test(dates, test_sunset_local_time);
	tcase_add_test(dates, test_devices_lookup);
	tcase_add_test(dates, test_devices_check);
	tcase_add_test(dates, test_verdict_names);
	suite_add_tcase(s, dates);
	return s;
}
