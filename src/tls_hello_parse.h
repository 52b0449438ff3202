/* A TLS ClientHello's highest offered version, from the bytes a client
 * sent first: a pure parser, fed the bytes read so far. */
#ifndef TLSRELAY_TLS_HELLO_PARSE_H
#define TLSRELAY_TLS_HELLO_PARSE_H

#include <stddef.h>

#define TLS_HELLO_HEADER	5	/* record type, version, length */
#define TLS_HELLO_BODY_MAX	4096	/* longest first record accepted */
#define TLS_HELLO_MAX		(TLS_HELLO_HEADER + TLS_HELLO_BODY_MAX)
#define TLS_GREASE(v)		(((v) & 0x0f0f) == 0x0a0a)

/* Where parsing stands after the bytes given so far. */
enum tls_hello_status {
	TLS_HELLO_NEED_MORE,	/* a valid beginning: read more */
	TLS_HELLO_DONE,		/* a whole first record: version is set */
	TLS_HELLO_ERROR,	/* not a ClientHello (or longer than accepted) */
};

/* Parse the first len bytes of a connection; on TLS_HELLO_DONE *version
 * is the highest version offered (0x0301 for TLS 1.0 ... 0x0304). */
enum tls_hello_status
	tls_hello_parse(const unsigned char *buf, size_t len, int *version);

/* The highest of legacy and the versions of a supported_versions
 * extension body ext (its GREASE values ignored). */
int	tls_hello_versions_max(int legacy, const unsigned char *ext,
	    size_t len);

#endif
