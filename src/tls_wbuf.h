/* The write side of a TLS connection: a BIO that gathers the records
 * OpenSSL writes and sends them with one writev() per flush. */
#ifndef TLSRELAY_TLS_WBUF_H
#define TLSRELAY_TLS_WBUF_H

#include <openssl/bio.h>

#define TLS_WBUF_MAX	(64 * 1024)	/* bytes kept before a write waits */

/* A write buffer BIO on the socket fd, which it never closes; NULL if out
 * of memory. BIO_flush sends what it keeps (1 when all of it left, -1
 * with BIO_should_retry when the socket is full, -1 on an error) and
 * BIO_wpending says how much it keeps. */
BIO	*tls_wbuf_new(int fd);

#endif
