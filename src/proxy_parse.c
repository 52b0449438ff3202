/* PROXY protocol header parser: HAProxy's v1 text line and v2 binary
 * block, for TCP over IPv4 and IPv6. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "proxy_parse.h"
#include "util.h"

#define V1_PREFIX	"PROXY "
#define V1_FIELDS	6	/* PROXY family src dst sport dport */
#define V2_VERSION	0x20	/* high nibble of byte 12 */

/* The 12 bytes every v2 header starts with. */
static const uint8_t v2_signature[] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

/* A v2 family and transport byte the relay accepts, and its addresses. */
struct v2_family {
	uint8_t		 byte;
	int		 family;
	size_t		 addrlen;	/* one address */
};

static const struct v2_family v2_families[] = {
	{ 0x11, AF_INET, sizeof(struct in_addr) },	/* TCP over IPv4 */
	{ 0x21, AF_INET6, sizeof(struct in6_addr) },	/* TCP over IPv6 */
};

/* A v1 family word the relay accepts. */
struct v1_family {
	const char	*name;
	int		 family;
};

static const struct v1_family v1_families[] = {
	{ "TCP4", AF_INET },
	{ "TCP6", AF_INET6 },
};

static enum proxy_status proxy_fail(struct proxy_header *h, const char *why);
static bool	prefix_matches(const uint8_t *buf, size_t len,
		    const void *want, size_t wantlen);
static enum proxy_status proxy_parse_v1(const uint8_t *buf, size_t len,
		    struct proxy_header *h);
static enum proxy_status proxy_v1_fields(char *line,
		    struct proxy_header *h);
static size_t	v1_split(char *line, char **fields, size_t max);
static const struct v1_family *v1_family_find(const char *name);
static bool	v1_address(int family, const char *addr, const char *port,
		    struct sockaddr_storage *ss);
static bool	v1_port(const char *text, uint16_t *port);
static enum proxy_status proxy_parse_v2(const uint8_t *buf, size_t len,
		    struct proxy_header *h);
static const struct v2_family *v2_family_find(uint8_t byte);
static void	v2_address(const struct v2_family *f, const uint8_t *addr,
		    const uint8_t *port, struct sockaddr_storage *ss);

/* Parse the first len bytes of a connection as a PROXY header. */
enum proxy_status
proxy_parse(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	memset(h, 0, sizeof(*h));
	if (prefix_matches(buf, len, v2_signature, sizeof(v2_signature)))
		return proxy_parse_v2(buf, len, h);
	if (prefix_matches(buf, len, V1_PREFIX, strlen(V1_PREFIX)))
		return proxy_parse_v1(buf, len, h);
	return proxy_fail(h, "no PROXY header");
}

/* Record why the bytes are refused. */
static enum proxy_status
proxy_fail(struct proxy_header *h, const char *why)
{
	h->consumed = 0;
	h->error = why;
	return PROXY_ERROR;
}

/* Do the bytes so far agree with the start of want? */
static bool
prefix_matches(const uint8_t *buf, size_t len, const void *want,
    size_t wantlen)
{
	return memcmp(buf, want, len < wantlen ? len : wantlen) == 0;
}

/* A v1 line: "PROXY TCP4|TCP6 src dst sport dport\r\n" or "PROXY UNKNOWN
 * ...\r\n", within PROXY_V1_MAX bytes. */
static enum proxy_status
proxy_parse_v1(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	char line[PROXY_V1_MAX];
	const uint8_t *lf;
	size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;

	if ((lf = memchr(buf, '\n', n)) == NULL)
		return len < PROXY_V1_MAX ? PROXY_NEED_MORE : proxy_fail(h,
		    "v1 header longer than 107 bytes");
	n = (size_t)(lf - buf);
	if (n == 0 || buf[n - 1] != '\r' || memchr(buf, '\0', n) != NULL)
		return proxy_fail(h, "v1 header is not one CRLF-ended line");
	memcpy(line, buf, n - 1);
	line[n - 1] = '\0';
	h->version = 1;
	h->consumed = n + 1;
	return proxy_v1_fields(line, h);
}

/* Read a v1 line's fields (CRLF removed). */
static enum proxy_status
proxy_v1_fields(char *line, struct proxy_header *h)
{
	char *f[V1_FIELDS + 1];
	size_t n = v1_split(line, f, nitems(f));
	const struct v1_family *fam;

	if (n >= 2 && strcmp(f[1], "UNKNOWN") == 0) {
		h->command = PROXY_CMD_LOCAL;
		return PROXY_DONE;
	}
	if (n < 2 || (fam = v1_family_find(f[1])) == NULL)
		return proxy_fail(h, "v1 header with an unknown family");
	if (n != V1_FIELDS)
		return proxy_fail(h, "v1 header without two addresses and two "
		    "ports");
	if (!v1_address(fam->family, f[2], f[4], &h->src) ||
	    !v1_address(fam->family, f[3], f[5], &h->dst))
		return proxy_fail(h, "v1 header with a bad address or port");
	h->command = PROXY_CMD_PROXY;
	return PROXY_DONE;
}

/* Split line at single spaces into at most max fields: the count (max if
 * there are more), or 0 if a field is empty. */
static size_t
v1_split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		if (*p == ' ' || *p == '\0')
			return 0;
		if (n == max)
			return n;
		fields[n++] = p;
		if ((p = strchr(p, ' ')) == NULL)
			return n;
		*p++ = '\0';
	}
}

/* The accepted v1 family of this name, or NULL. */
static const struct v1_family *
v1_family_find(const char *name)
{
	size_t i;

	for (i = 0; i < nitems(v1_families); i++)
		if (strcmp(v1_families[i].name, name) == 0)
			return &v1_families[i];
	return NULL;
}

/* Fill a socket address from v1 text; false on bad syntax. */
static bool
v1_address(int family, const char *addr, const char *port,
    struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	uint16_t p;

	if (!v1_port(port, &p))
		return false;
	ss->ss_family = (sa_family_t)family;
	if (family == AF_INET) {
		sin->sin_port = htons(p);
		return inet_pton(AF_INET, addr, &sin->sin_addr) == 1;
	}
	sin6->sin6_port = htons(p);
	return inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1;
}

/* A decimal port, 0 to 65535, without leading zeros. */
static bool
v1_port(const char *text, uint16_t *port)
{
	unsigned long v = 0;
	size_t i, n = strlen(text);

	if (n == 0 || n > 5 || (text[0] == '0' && n > 1))
		return false;
	for (i = 0; i < n; i++) {
		if (text[i] < '0' || text[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(text[i] - '0');
	}
	*port = (uint16_t)v;
	return v <= 65535;
}

/* A v2 block: signature, version and command, family, length, then the
 * addresses and TLVs (which are skipped). */
static enum proxy_status
proxy_parse_v2(const uint8_t *buf, size_t len, struct proxy_header *h)
{
	const struct v2_family *fam;
	size_t total;

	if (len < PROXY_V2_FIXED)
		return PROXY_NEED_MORE;
	if ((buf[12] & 0xf0) != V2_VERSION)
		return proxy_fail(h, "v2 header with an unknown version");
	if ((buf[12] & 0x0f) > PROXY_CMD_PROXY)
		return proxy_fail(h, "v2 header with an unknown command");
	total = PROXY_V2_FIXED + ((size_t)buf[14] << 8 | buf[15]);
	if (total > PROXY_HEADER_MAX)
		return proxy_fail(h, "v2 header longer than 536 bytes");
	if (len < total)
		return PROXY_NEED_MORE;
	h->version = 2;
	h->consumed = total;
	/* The low nibble is the command: 0 LOCAL, 1 PROXY, as in the enum. */
	h->command = (enum proxy_command)(buf[12] & 0x0f);
	if (h->command == PROXY_CMD_LOCAL)
		return PROXY_DONE;
	if ((fam = v2_family_find(buf[13])) == NULL)
		return proxy_fail(h, "v2 header with an unknown family or "
		    "transport");
	if (total - PROXY_V2_FIXED < 2 * fam->addrlen + 4)
		return proxy_fail(h, "v2 address block too short");
	buf += PROXY_V2_FIXED;
	v2_address(fam, buf, buf + 2 * fam->addrlen, &h->src);
	v2_address(fam, buf + fam->addrlen, buf + 2 * fam->addrlen + 2,
	    &h->dst);
	return PROXY_DONE;
}

/* The accepted v2 family and transport of this byte, or NULL. */
static const struct v2_family *
v2_family_find(uint8_t byte)
{
	size_t i;

	for (i = 0; i < nitems(v2_families); i++)
		if (v2_families[i].byte == byte)
			return &v2_families[i];
	return NULL;
}

/* Fill a socket address from v2 bytes (both in network order). */
static void
v2_address(const struct v2_family *f, const uint8_t *addr,
    const uint8_t *port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	ss->ss_family = (sa_family_t)f->family;
	if (f->family == AF_INET) {
		memcpy(&sin->sin_addr, addr, f->addrlen);
		memcpy(&sin->sin_port, port, 2);
		return;
	}
	memcpy(&sin6->sin6_addr, addr, f->addrlen);
	memcpy(&sin6->sin6_port, port, 2);
}
