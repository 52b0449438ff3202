/* One connection half, the device's or the upstream's: TLS, lines, pipe,
 * backpressure. */
#ifndef TLSRELAY_SIDE_H
#define TLSRELAY_SIDE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#define SIDE_HIGH_WATER	(256 * 1024)	/* output bytes that pause the peer */
#define SIDE_BULK_READ	(128 * 1024)	/* input kept while relaying bulk */
#define SIDE_RECORD	16384		/* plaintext in one full TLS record */

/* What happened on a side, for its owner's callback. */
enum side_event {
	SIDE_INPUT,	/* bytes arrived, or the peer drained: read again */
	SIDE_FLUSHED,	/* output went below the write low-water mark */
	SIDE_CONNECTED,	/* TCP connect or TLS handshake completed */
	SIDE_EOF,	/* the peer closed the connection */
	SIDE_ERROR,	/* the connection or its handshake failed */
};

struct side;
typedef void (*side_cb)(struct side *side, enum side_event ev, void *arg);

/* One connection: the LAN device or the upstream server. */
struct side {
	int			 fd;
	struct bufferevent	*bev;
	SSL			*ssl;	/* owned by bev once TLS has started */
	struct event		*flush_ev; /* TLS: sends the rest of a flush */
	bool			 tls_up; /* handshake completed */
	bool			 eof;	/* peer closed its end */
	bool			 congested; /* output full: peer paused */
	bool			 bulk;	/* relaying bulk (side_read_bulk) */
	struct side		*peer;	/* the other half of the session */
	struct event_base	*base;
	size_t			 read_max; /* input kept before reading stops */
	side_cb			 cb;
	void			*arg;
	uint64_t		 bytes_in;	/* read from the peer host */
	uint64_t		 bytes_out;	/* queued to the peer host */
};

/* Outcome of reading one line from a side. */
enum line_status {
	LINE_OK,	/* buf holds a line, CRLF or LF removed, NUL-terminated */
	LINE_NONE,	/* no complete line yet */
	LINE_TOO_LONG,	/* longer than the limit: caller ends the session */
};

/* The event loop sides run best on: epoll changes batched per loop turn,
 * so that output queued and sent in the same turn costs no epoll_ctl();
 * NULL if out of memory. */
struct event_base *side_base_new(void);
/* Set a side up unconnected, with its peer and its owner's callback. */
void	side_init(struct side *side, struct event_base *base,
	    struct side *peer, size_t read_max, side_cb cb, void *arg);
/* Take over a connected socket without TLS; false if out of memory. */
bool	side_attach(struct side *side, int fd);
/* Start TLS on the side's socket (a new socket if it has none), accepting
 * or connecting, replacing any plain bufferevent; ssl is the side's from
 * now on, or freed. False if out of memory. */
bool	side_start_tls(struct side *side, SSL *ssl, bool accepting);
/* A new socket, with TLS if ssl is not NULL; false if out of memory. */
bool	side_open(struct side *side, SSL *ssl);
/* Begin a non-blocking connect of the side's new socket; false with errno
 * set if it failed at once. */
bool	side_connect(struct side *side, const struct sockaddr *sa,
	    socklen_t len);
/* Close the connection (close_notify first if TLS is up) and reset the
 * side to unconnected, keeping its peer and callback. */
void	side_close(struct side *side);

/* Queue bytes, or a formatted line (CRLF added). */
void	side_write(struct side *side, const void *data, size_t len);
void	side_printf(struct side *side, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	side_vprintf(struct side *side, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Read one line (LF or CRLF terminated) into buf of size bytes: the line,
 * its terminator included, may be at most size - 1 bytes long. */
enum line_status side_read_line(struct side *side, char *buf, size_t size,
	    size_t *len);
/* Bytes of input not read yet, and of output not sent yet (TLS records
 * kept in the write buffer included). */
size_t	side_input_length(const struct side *side);
size_t	side_output_length(const struct side *side);
/* Drop all unread input. */
void	side_drop_input(struct side *side);

/* Relaying bulk (a message body, a retrieval) or back to lines: bulk
 * input is read a whole TLS record at a time, up to SIDE_BULK_READ. */
void	side_read_bulk(struct side *side, bool bulk);
/* Stop or resume reading. */
void	side_pause(struct side *side, bool paused);
/* Is the side's output over the high-water mark? Then its peer stops
 * reading until the output drains (side_drained). */
bool	side_congested(struct side *side);
/* The side's output drained: a peer paused by side_congested reads again
 * and its owner gets SIDE_INPUT. */
void	side_drained(struct side *side);
/* Move n bytes the side has read to its peer's output, in contiguous
 * pieces of up to SIDE_RECORD bytes: the peer's TLS layer writes one
 * record per contiguous piece, so bulk goes in full records. */
void	side_move(struct side *side, size_t n);
/* Move everything the side has read to its peer's output; false when the
 * peer is now congested and this side paused. */
bool	side_pipe(struct side *side);

/* The negotiated TLS version and cipher, or "none". */
const char *side_tls_version(const struct side *side);
const char *side_tls_cipher(const struct side *side);
/* Why a TLS handshake failed: the certificate check, OpenSSL's error, or
 * the peer closing; prefix names the side ("upstream"). */
void	side_tls_error(struct side *side, const char *prefix, char *dst,
	    size_t len);

#endif
