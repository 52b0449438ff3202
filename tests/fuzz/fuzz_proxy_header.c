/*
 * Fuzz target: the PROXY protocol header parser (proxy_parse). Fed byte by
 * byte and in the fuzzer's chunks, as the relay reads a connection, it
 * gives the verdict and length it gives on the whole input; a header never
 * takes more than the input or than its version's maximum; the addresses
 * are of the header's family; parsed addresses printed as a v1 line parse
 * back to the same addresses.
 */
#include <stdbool.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "proxy_parse.h"

static enum proxy_status parse_fed(const uint8_t *, size_t,
		    struct fuzz_chunks *, struct proxy_header *);
static void	check_same(enum proxy_status, const struct proxy_header *,
		    enum proxy_status, const struct proxy_header *);
static int	header_family(const uint8_t *, size_t, int);
static void	check_done(const uint8_t *, size_t, const struct proxy_header *);
static bool	addr_text(const struct sockaddr_storage *, char *, size_t,
		    unsigned *);
static bool	addr_same(const struct sockaddr_storage *,
		    const struct sockaddr_storage *);
static void	check_v1_again(const struct proxy_header *);

/* Parse the input as it is read: after each chunk (each byte if chunks is
 * NULL) until a verdict; every earlier prefix must ask for more. */
static enum proxy_status
parse_fed(const uint8_t *data, size_t size, struct fuzz_chunks *chunks,
    struct proxy_header *h)
{
	enum proxy_status st = PROXY_NEED_MORE;
	size_t fed = 0;

	while (fed < size && st == PROXY_NEED_MORE) {
		fed += chunks != NULL ? fuzz_chunks_next(chunks, size - fed) : 1;
		st = proxy_parse(data, fed, h);
		FUZZ_CHECK(h->consumed <= fed);
	}
	return st;
}

/* Two ways of reading gave the same verdict, length, version and error. */
static void
check_same(enum proxy_status a, const struct proxy_header *ha,
    enum proxy_status b, const struct proxy_header *hb)
{
	FUZZ_CHECK(a == b && ha->consumed == hb->consumed);
	FUZZ_CHECK(ha->version == hb->version && ha->error == hb->error);
	if (a == PROXY_DONE)
		FUZZ_CHECK(ha->command == hb->command &&
		    addr_same(&ha->src, &hb->src) &&
		    addr_same(&ha->dst, &hb->dst));
}

/* The address family the header's own bytes name (v1 field, v2 byte). */
static int
header_family(const uint8_t *data, size_t size, int version)
{
	if (version == 2)
		return data[13] == 0x11 ? AF_INET :
		    data[13] == 0x21 ? AF_INET6 : AF_UNSPEC;
	if (size >= 10 && memcmp(data + 6, "TCP4", 4) == 0)
		return AF_INET;
	if (size >= 10 && memcmp(data + 6, "TCP6", 4) == 0)
		return AF_INET6;
	return AF_UNSPEC;
}

/* A complete header: within the input and its version's maximum, of the
 * version its first byte says, addresses of the header's family. */
static void
check_done(const uint8_t *data, size_t size, const struct proxy_header *h)
{
	size_t max = h->version == 1 ? PROXY_V1_MAX : PROXY_HEADER_MAX;
	int family = header_family(data, size, h->version);

	FUZZ_CHECK(h->version == (data[0] == 'P' ? 1 : 2));
	FUZZ_CHECK(h->consumed > 0 && h->consumed <= size &&
	    h->consumed <= max && h->error == NULL);
	if (h->version == 2)
		FUZZ_CHECK(h->consumed >= PROXY_V2_FIXED);
	else
		FUZZ_CHECK(data[h->consumed - 1] == '\n');
	if (h->command == PROXY_CMD_LOCAL) {
		FUZZ_CHECK(h->src.ss_family == AF_UNSPEC &&
		    h->dst.ss_family == AF_UNSPEC);
		return;
	}
	FUZZ_CHECK(h->command == PROXY_CMD_PROXY && family != AF_UNSPEC);
	FUZZ_CHECK(h->src.ss_family == family && h->dst.ss_family == family);
	check_v1_again(h);
}

/* The address as v1 text and its port; false if it cannot be printed. */
static bool
addr_text(const struct sockaddr_storage *ss, char *buf, size_t len,
    unsigned *port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET) {
		*port = ntohs(sin->sin_port);
		return inet_ntop(AF_INET, &sin->sin_addr, buf, len) != NULL;
	}
	*port = ntohs(sin6->sin6_port);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len) != NULL;
}

/* The same family, address and port. */
static bool
addr_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	return true;
}

/* Parsed addresses printed as a v1 line parse to the same addresses, the
 * whole line taken. */
static void
check_v1_again(const struct proxy_header *h)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], line[PROXY_V1_MAX];
	unsigned sport, dport;
	struct proxy_header again;
	int n;

	FUZZ_CHECK(addr_text(&h->src, src, sizeof(src), &sport) &&
	    addr_text(&h->dst, dst, sizeof(dst), &dport));
	n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
	    h->src.ss_family == AF_INET ? '4' : '6', src, dst, sport, dport);
	FUZZ_CHECK(n > 0 && (size_t)n < sizeof(line));
	FUZZ_CHECK(proxy_parse((const uint8_t *)line, (size_t)n, &again) ==
	    PROXY_DONE);
	FUZZ_CHECK(again.version == 1 && again.consumed == (size_t)n &&
	    again.command == PROXY_CMD_PROXY);
	FUZZ_CHECK(addr_same(&again.src, &h->src) &&
	    addr_same(&again.dst, &h->dst));
}

/* One fuzz input: parse it whole, byte by byte and in chunks; compare. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks chunks;
	struct proxy_header whole, bytes, part;
	enum proxy_status st;

	fuzz_chunks_init(&chunks, &data, &size);
	if (size == 0)
		return 0;
	st = proxy_parse(data, size, &whole);
	check_same(st, &whole, parse_fed(data, size, NULL, &bytes), &bytes);
	check_same(st, &whole, parse_fed(data, size, &chunks, &part), &part);
	if (st == PROXY_DONE)
		check_done(data, size, &whole);
	else if (st == PROXY_ERROR)
		FUZZ_CHECK(whole.error != NULL && whole.consumed == 0);
	else
		FUZZ_CHECK(size < (data[0] == 'P' ? PROXY_V1_MAX :
		    PROXY_HEADER_MAX) && whole.consumed == 0);
	return 0;
}
