/* Unit tests for proxy_parse.c: a table of good and bad headers, each also
 * fed one byte boundary at a time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "proxy_parse.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define BYTES(s)	s, sizeof(s) - 1
#define V2_SIG		"\r\n\r\n\0\r\nQUIT\n"
#define TRAILER		"EHLO device\r\n"

/* One header and what parsing it whole must give. */
struct header_case {
	const char		*name;
	const char		*bytes;
	size_t			 len;
	enum proxy_status	 status;
	enum proxy_command	 command;
	const char		*src;	/* "address port", NULL for LOCAL */
	const char		*dst;
	const char		*error;	/* PROXY_ERROR's reason */
};

static const struct header_case cases[] = {
	{ "v1 tcp4", BYTES("PROXY TCP4 192.0.2.10 198.51.100.1 51234 25\r\n"),
	    PROXY_DONE, PROXY_CMD_PROXY, "192.0.2.10 51234",
	    "198.51.100.1 25", NULL },
	{ "v1 tcp6", BYTES("PROXY TCP6 2001:db8::10 2001:db8::1 0 993\r\n"),
	    PROXY_DONE, PROXY_CMD_PROXY, "2001:db8::10 0", "2001:db8::1 993",
	    NULL },
	{ "v1 unknown", BYTES("PROXY UNKNOWN\r\n"), PROXY_DONE,
	    PROXY_CMD_LOCAL, NULL, NULL, NULL },
	{ "v1 longest", BYTES("PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"),
	    PROXY_DONE, PROXY_CMD_LOCAL, NULL, NULL, NULL },
	{ "v2 tcp4", BYTES(V2_SIG "\x21\x11\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_DONE,
	    PROXY_CMD_PROXY, "192.0.2.10 51234", "198.51.100.1 25", NULL },
	{ "v2 tcp6", BYTES(V2_SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" "\xc8\x22" "\x03\xe1"),
	    PROXY_DONE, PROXY_CMD_PROXY, "2001:db8::10 51234",
	    "2001:db8::1 993", NULL },
	{ "v2 tcp4 with TLVs", BYTES(V2_SIG "\x21\x11\x00\x15"
	    "\xc0\x00\x02\x0a" "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"
	    "\x04\x00\x02" "ab" "\x05\x00\x01" "\xff"), PROXY_DONE,
	    PROXY_CMD_PROXY, "192.0.2.10 51234", "198.51.100.1 25", NULL },
	{ "v2 local", BYTES(V2_SIG "\x20\x00\x00\x00"), PROXY_DONE,
	    PROXY_CMD_LOCAL, NULL, NULL, NULL },
	{ "v2 local with addresses", BYTES(V2_SIG "\x20\x11\x00\x0c"
	    "\x7f\x00\x00\x01" "\x7f\x00\x00\x01" "\x00\x01" "\x00\x02"),
	    PROXY_DONE, PROXY_CMD_LOCAL, NULL, NULL, NULL },
	{ "no header", BYTES("EHLO device\r\n"), PROXY_ERROR, 0, NULL, NULL,
	    "no PROXY header" },
	{ "tls hello", BYTES("\x16\x03\x01\x00\xa5"), PROXY_ERROR, 0, NULL,
	    NULL, "no PROXY header" },
	{ "lower case", BYTES("proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL, "no PROXY header" },
	{ "v1 family", BYTES("PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL, "v1 header with an unknown family" },
	{ "v1 no family", BYTES("PROXY \r\n"), PROXY_ERROR, 0, NULL, NULL,
	    "v1 header with an unknown family" },
	{ "v1 port missing", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header without two addresses and two ports" },
	{ "v1 extra field", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header without two addresses and two ports" },
	{ "v1 two spaces", BYTES("PROXY TCP4 192.0.2.1  192.0.2.2 1 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL, "v1 header with an unknown family" },
	{ "v1 v6 in tcp4", BYTES("PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header with a bad address or port" },
	{ "v1 port range", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header with a bad address or port" },
	{ "v1 port zero", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 025 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header with a bad address or port" },
	{ "v1 port sign", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 -1 2\r\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header with a bad address or port" },
	{ "v1 bare LF", BYTES("PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n"),
	    PROXY_ERROR, 0, NULL, NULL,
	    "v1 header is not one CRLF-ended line" },
	{ "v1 NUL", BYTES("PROXY UNKNOWN\0\r\n"), PROXY_ERROR, 0, NULL, NULL,
	    "v1 header is not one CRLF-ended line" },
	{ "v1 too long", BYTES("PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655355\r\n"),
	    PROXY_ERROR, 0, NULL, NULL, "v1 header longer than 107 bytes" },
	{ "v2 version", BYTES(V2_SIG "\x11\x11\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_ERROR, 0, NULL,
	    NULL, "v2 header with an unknown version" },
	{ "v2 command", BYTES(V2_SIG "\x22\x11\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_ERROR, 0, NULL,
	    NULL, "v2 header with an unknown command" },
	{ "v2 udp", BYTES(V2_SIG "\x21\x12\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_ERROR, 0, NULL,
	    NULL, "v2 header with an unknown family or transport" },
	{ "v2 unix", BYTES(V2_SIG "\x21\x31\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_ERROR, 0, NULL,
	    NULL, "v2 header with an unknown family or transport" },
	{ "v2 unspec proxy", BYTES(V2_SIG "\x21\x00\x00\x00"), PROXY_ERROR, 0,
	    NULL, NULL, "v2 header with an unknown family or transport" },
	{ "v2 short block", BYTES(V2_SIG "\x21\x11\x00\x08" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01"), PROXY_ERROR, 0, NULL, NULL,
	    "v2 address block too short" },
	{ "v2 tcp6 short", BYTES(V2_SIG "\x21\x21\x00\x0c" "\xc0\x00\x02\x0a"
	    "\xc6\x33\x64\x01" "\xc8\x22" "\x00\x19"), PROXY_ERROR, 0, NULL,
	    NULL, "v2 address block too short" },
	{ "v2 too long", BYTES(V2_SIG "\x21\x11\x02\x09"), PROXY_ERROR, 0,
	    NULL, NULL, "v2 header longer than 536 bytes" },
	{ "v2 bad signature", BYTES("\r\n\r\n\0\r\nQUIT\r"), PROXY_ERROR, 0,
	    NULL, NULL, "no PROXY header" },
};

static void	assert_address(const struct sockaddr_storage *ss,
		    const char *want, const char *what, const char *name);
static void	assert_case(const struct header_case *c, const uint8_t *buf,
		    size_t len);
static int	prefix_parse(const unsigned char *buf, size_t len, void *arg);

/* Compare a parsed address with "address port". */
static void
assert_address(const struct sockaddr_storage *ss, const char *want,
    const char *what, const char *name)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN + 8];

	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
		snprintf(got, sizeof(got), "%s %u", text, ntohs(sin->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
		snprintf(got, sizeof(got), "%s %u", text,
		    ntohs(sin6->sin6_port));
	} else
		snprintf(got, sizeof(got), "family %d", ss->ss_family);
	ck_assert_msg(strcmp(got, want) == 0, "%s: %s is \"%s\", not \"%s\"",
	    name, what, got, want);
}

/* Parse buf (the case's bytes, perhaps followed by more) whole. */
static void
assert_case(const struct header_case *c, const uint8_t *buf, size_t len)
{
	struct proxy_header h;
	enum proxy_status st = proxy_parse(buf, len, &h);

	ck_assert_msg(st == c->status, "%s: status %d, not %d (%s)", c->name,
	    st, c->status, h.error != NULL ? h.error : "");
	if (st == PROXY_ERROR) {
		ck_assert_str_eq(h.error, c->error);
		return;
	}
	ck_assert_msg(h.consumed == c->len, "%s: consumed %zu of %zu",
	    c->name, h.consumed, c->len);
	ck_assert_msg(h.command == c->command, "%s: command", c->name);
	if (c->src != NULL) {
		assert_address(&h.src, c->src, "source", c->name);
		assert_address(&h.dst, c->dst, "destination", c->name);
	}
}

/* Each case parsed whole gives the expected result. */
START_TEST(test_whole)
{
	assert_case(&cases[_i], (const uint8_t *)cases[_i].bytes,
	    cases[_i].len);
}
END_TEST

/* A good header followed by the client's data consumes only the header. */
START_TEST(test_trailing_data)
{
	const struct header_case *c = &cases[_i];
	uint8_t buf[PROXY_HEADER_MAX + sizeof(TRAILER)];

	if (c->status != PROXY_DONE)
		return;
	memcpy(buf, c->bytes, c->len);
	memcpy(buf + c->len, TRAILER, sizeof(TRAILER) - 1);
	assert_case(c, buf, c->len + sizeof(TRAILER) - 1);
}
END_TEST

/* proxy_parse as prefixes_assert calls it, arg the header to fill. */
static int
prefix_parse(const unsigned char *buf, size_t len, void *arg)
{
	return proxy_parse(buf, len, arg);
}

/* Every proper prefix of a good header needs more; no prefix of a bad one
 * is taken as a header. */
START_TEST(test_every_boundary)
{
	const struct header_case *c = &cases[_i];
	struct proxy_header h;

	if (c->status == PROXY_DONE)
		prefixes_assert(c->name, c->bytes, c->len, prefix_parse, &h,
		    PREFIX_GIVES, PROXY_NEED_MORE);
	else
		prefixes_assert(c->name, c->bytes, c->len, prefix_parse, &h,
		    PREFIX_NEVER_GIVES, PROXY_DONE);
}
END_TEST

/* A v1 line that never ends is refused once it passes 107 bytes. */
START_TEST(test_v1_endless)
{
	uint8_t buf[PROXY_V1_MAX + 1];
	struct proxy_header h;

	memset(buf, 'x', sizeof(buf));
	memcpy(buf, "PROXY TCP4 ", 11);
	ck_assert_int_eq(proxy_parse(buf, PROXY_V1_MAX - 1, &h),
	    PROXY_NEED_MORE);
	ck_assert_int_eq(proxy_parse(buf, PROXY_V1_MAX, &h), PROXY_ERROR);
	ck_assert_str_eq(h.error, "v1 header longer than 107 bytes");
}
END_TEST

/* The longest v2 block accepted, all TLVs, parses; one byte more does not. */
START_TEST(test_v2_longest)
{
	uint8_t buf[PROXY_HEADER_MAX + 1] = { 0 };
	size_t body = PROXY_HEADER_MAX - PROXY_V2_FIXED;
	struct proxy_header h;

	memcpy(buf, V2_SIG "\x21\x11", 14);
	buf[14] = (uint8_t)(body >> 8);
	buf[15] = (uint8_t)body;
	ck_assert_int_eq(proxy_parse(buf, PROXY_HEADER_MAX, &h), PROXY_DONE);
	ck_assert_uint_eq(h.consumed, PROXY_HEADER_MAX);
	buf[15] = (uint8_t)(body + 1);
	ck_assert_int_eq(proxy_parse(buf, PROXY_V2_FIXED, &h), PROXY_ERROR);
}
END_TEST

/* The proxy_parse suite. */
Suite *
proxy_parse_suite(void)
{
	Suite *s = suite_create("proxy_parse");
	TCase *tc = tcase_create("headers");

	tcase_add_loop_test(tc, test_whole, 0, nitems(cases));
	tcase_add_loop_test(tc, test_trailing_data, 0, nitems(cases));
	tcase_add_loop_test(tc, test_every_boundary, 0, nitems(cases));
	tcase_add_test(tc, test_v1_endless);
	tcase_add_test(tc, test_v2_longest);
	suite_add_tcase(s, tc);
	return s;
}
