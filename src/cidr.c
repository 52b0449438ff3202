/* IPv4 and IPv6 networks: parsing, matching, overlap and formatting. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
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

static const struct family families[] = {
	{ AF_INET, 32 },
	{ AF_INET6, 128 },
};

/* The first 12 bytes of an IPv4-mapped IPv6 address, ::ffff:0:0/96. */
static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
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
