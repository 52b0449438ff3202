/* PROXY protocol headers (HAProxy's v1 text line and v2 binary block): a
 * pure parser, fed the bytes read so far. */
#ifndef TLSRELAY_PROXY_PARSE_H
#define TLSRELAY_PROXY_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1_MAX		107	/* the longest v1 line, CRLF included */
#define PROXY_V2_FIXED		16	/* signature, command, family, length */
#define PROXY_HEADER_MAX	536	/* longest v2 block accepted, TLVs too */

/* Where parsing stands after the bytes given so far. */
enum proxy_status {
	PROXY_NEED_MORE,	/* a valid beginning: read more */
	PROXY_DONE,		/* a whole header: see struct proxy_header */
	PROXY_ERROR,		/* not a header we accept: see error */
};

/* What the header asks for. */
enum proxy_command {
	PROXY_CMD_LOCAL,	/* the proxy's own connection (health check);
				 * v2 LOCAL or v1 UNKNOWN: no addresses */
	PROXY_CMD_PROXY,	/* relayed for the client in src */
};

/* A parsed header. */
struct proxy_header {
	size_t			 consumed; /* header bytes; data follows */
	int			 version;  /* 1 or 2 */
	enum proxy_command	 command;
	struct sockaddr_storage	 src;	/* AF_INET or AF_INET6 for PROXY, */
	struct sockaddr_storage	 dst;	/* AF_UNSPEC for LOCAL */
	const char		*error;	/* why, on PROXY_ERROR */
};

/*
 * Parse the first len bytes of a connection. PROXY_NEED_MORE means every
 * byte so far belongs to a header that is not complete yet; PROXY_DONE
 * fills h, and h->consumed may be less than len (the client's own data
 * follows). TLVs after v2 addresses are skipped unread. A PROXY command
 * must carry TCP over IPv4 or IPv6; a v1 line is at most PROXY_V1_MAX
 * bytes and a v2 block at most PROXY_HEADER_MAX.
 */
enum proxy_status proxy_parse(const uint8_t *buf, size_t len,
	    struct proxy_header *h);

#endif
