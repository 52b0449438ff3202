/* What the load generator and the sink share: sockets, clocks, TLS set-up. */
#ifndef TLSRELAY_BENCHIO_H
#define TLSRELAY_BENCHIO_H

#include <stddef.h>
#include <openssl/ssl.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

/* What a failed SSL call means for the caller. */
enum bench_io {
	BENCH_IO_AGAIN,		/* wait for the socket, then retry */
	BENCH_IO_CLOSED,	/* the peer closed (clean or not) */
	BENCH_IO_ERROR		/* a TLS or socket error */
};

double bench_now(void);
int bench_listen(int port);
int bench_nonblock(int fd);
void bench_raise_nofile(void);
void bench_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
SSL_CTX *bench_ctx_server(const char *cert, const char *key);
enum bench_io bench_ssl_status(SSL *ssl, int ret);
int bench_reply_final(const char *line, size_t len);

#endif
