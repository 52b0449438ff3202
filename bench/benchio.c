/* Shared helpers of the benchmark programs (bench/loadgen, bench/sink). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <openssl/err.h>

#include "benchio.h"

/* Seconds on the monotonic clock. */
double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Print a message and exit with status 2. */
void
bench_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	ERR_print_errors_fp(stderr);
	exit(2);
}

/* Make a TCP socket non-blocking and without Nagle; -1 on failure. */
int
bench_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL), one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* A non-blocking listening socket on 127.0.0.1:port. */
int
bench_listen(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		bench_fatal("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(fd, 4096) < 0 || bench_nonblock(fd) < 0)
		bench_fatal("listen on port %d: %s", port, strerror(errno));
	return fd;
}

/* Raise the open-files limit to its hard limit (idle runs hold thousands). */
void
bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A TLS 1.2+ server context with the given certificate and key. */
SSL_CTX *
bench_ctx_server(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
		bench_fatal("cannot load %s / %s", cert, key);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	return ctx;
}

/* Classify the result of a failed SSL_read, SSL_write or handshake. */
enum bench_io
bench_ssl_status(SSL *ssl, int ret)
{
	switch (SSL_get_error(ssl, ret)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return BENCH_IO_AGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return BENCH_IO_CLOSED;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		return errno == EAGAIN ? BENCH_IO_AGAIN : BENCH_IO_CLOSED;
	default:
		ERR_clear_error();
		return BENCH_IO_ERROR;
	}
}

/* Whether an SMTP reply line (without CRLF) is the last one of its reply. */
int
bench_reply_final(const char *line, size_t len)
{
	return len < 4 || line[3] != '-';
}
