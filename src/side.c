/* One connection half, the device's or the upstream's: TLS, lines, pipe,
 * backpressure. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "log.h"
#include "side.h"
#include "tls.h"
#include "tls_wbuf.h"

static void	side_setup(struct side *side);
static void	side_set_nodelay(int fd);
static bool	side_set_bio(struct side *side);
static void	side_flush(struct side *side);
static void	side_write_now(struct side *side);
static void	side_flushcb(evutil_socket_t fd, short what, void *arg);
static void	side_count_in(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	side_count_out(struct evbuffer *buf,
		    const struct evbuffer_cb_info *info, void *arg);
static void	side_readcb(struct bufferevent *bev, void *arg);
static void	side_writecb(struct bufferevent *bev, void *arg);
static void	side_eventcb(struct bufferevent *bev, short what, void *arg);
static void	side_read_pending(struct side *side);
static bool	side_read_ahead(struct side *side);

/* The event loop for sides, epoll changes batched per loop turn (no
 * descriptor is dup()ed, the one case libevent warns about). */
struct event_base *
side_base_new(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Set a side up unconnected, with its peer and its owner's callback. */
void
side_init(struct side *side, struct event_base *base, struct side *peer,
    size_t read_max, side_cb cb, void *arg)
{
	*side = (struct side){ .fd = -1, .base = base, .peer = peer,
	    .read_max = read_max, .cb = cb, .arg = arg };
}

/* Take over a connected socket without TLS. */
bool
side_attach(struct side *side, int fd)
{
	side->fd = fd;
	if ((side->bev = bufferevent_socket_new(side->base, fd, 0)) == NULL)
		return false;
	side_setup(side);
	return true;
}

/* Start TLS on the side's socket, replacing any plain bufferevent. */
bool
side_start_tls(struct side *side, SSL *ssl, bool accepting)
{
	if (side->bev != NULL)
		bufferevent_free(side->bev);	/* plain: keeps the socket */
	side->bev = NULL;
	side->ssl = ssl;
	if (ssl != NULL && (side->fd == -1 || side_set_bio(side)) &&
	    (side->flush_ev = event_new(side->base, side->fd, EV_WRITE,
	    side_flushcb, side)) != NULL)
		side->bev = bufferevent_openssl_socket_new(side->base,
		    side->fd, ssl, accepting ? BUFFEREVENT_SSL_ACCEPTING :
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (side->bev == NULL) {
		if (side->flush_ev != NULL)
			event_free(side->flush_ev);
		side->flush_ev = NULL;
		SSL_free(ssl);
		side->ssl = NULL;
		return false;
	}
	bufferevent_set_max_single_write(side->bev, TLS_WBUF_MAX);
	bufferevent_openssl_set_allow_dirty_shutdown(side->bev, 1);
	side_setup(side);
	return true;
}

/* A new socket, with TLS if ssl is not NULL. */
bool
side_open(struct side *side, SSL *ssl)
{
	if (ssl != NULL)
		return side_start_tls(side, ssl, false);
	if ((side->bev = bufferevent_socket_new(side->base, -1, 0)) == NULL)
		return false;
	side_setup(side);
	return true;
}

/* Begin a non-blocking connect of the side's new socket. */
bool
side_connect(struct side *side, const struct sockaddr *sa, socklen_t len)
{
	if (bufferevent_socket_connect(side->bev, sa, len) != 0)
		return false;
	side->fd = bufferevent_getfd(side->bev);
	side_set_nodelay(side->fd);
	if (side->ssl == NULL)
		return true;
	event_assign(side->flush_ev, side->base, side->fd, EV_WRITE,
	    side_flushcb, side);
	if (side_set_bio(side))		/* libevent put a plain socket BIO */
		return true;
	errno = ENOMEM;
	return false;
}

/* Read TLS from the side's socket and write through a write buffer, so
 * that the records of one flush leave in one writev(). */
static bool
side_set_bio(struct side *side)
{
	BIO *rbio, *wbio;

	if ((rbio = BIO_new_socket(side->fd, BIO_NOCLOSE)) == NULL)
		return false;
	if ((wbio = tls_wbuf_new(side->fd)) == NULL) {
		BIO_free(rbio);
		return false;
	}
	SSL_set_bio(side->ssl, rbio, wbio);
	return true;
}

/* Install the callbacks, byte counters and read limit on the current
 * bufferevent, and start reading and writing. */
static void
side_setup(struct side *side)
{
	struct bufferevent *bev = side->bev;

	bufferevent_setcb(bev, side_readcb, side_writecb, side_eventcb, side);
	evbuffer_add_cb(bufferevent_get_input(bev), side_count_in, side);
	evbuffer_add_cb(bufferevent_get_output(bev), side_count_out, side);
	bufferevent_setwatermark(bev, EV_READ, 0, side->read_max);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	if (side->fd != -1)
		side_set_nodelay(side->fd);
}

/*
 * Send small segments at once. Every write is a whole reply or a whole
 * flush of TLS records, so Nagle's algorithm only holds a reply back
 * until the peer acknowledges the one before it: a greeting written just
 * after the handshake's last flight waited for the device's delayed ACK
 * (40 ms on Linux). On a socket that is not TCP (the unit tests'
 * socketpairs) the call fails and nothing changes.
 */
static void
side_set_nodelay(int fd)
{
	int on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* Close the connection (close_notify first if TLS is up) and reset it. */
void
side_close(struct side *side)
{
	if (side->ssl != NULL) {
		if (side->tls_up && !side->eof) {
			SSL_shutdown(side->ssl);
			(void)BIO_flush(SSL_get_wbio(side->ssl));
		}
		if (side->flush_ev != NULL)
			event_free(side->flush_ev);
		bufferevent_free(side->bev);	/* frees ssl and fd too */
	} else {
		if (side->bev != NULL)
			bufferevent_free(side->bev);
		if (side->fd != -1)
			close(side->fd);
	}
	side->fd = -1;
	side->bev = NULL;
	side->ssl = NULL;
	side->flush_ev = NULL;
	side->tls_up = side->eof = side->congested = side->bulk = false;
}

/* Count bytes read from the peer host. */
static void
side_count_in(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct side *side = arg;
	size_t high;

	(void)buf;
	side->bytes_in += info->n_added;
	if (info->n_deleted == 0 || side->ssl == NULL)
		return;
	bufferevent_getwatermark(side->bev, EV_READ, NULL, &high);
	if (high != 0 && info->orig_size >= high)
		side_read_pending(side);	/* reading resumes */
}

/* Count bytes queued to the peer host; have TLS take new output in this
 * loop turn, and once it has taken all of it, send its records. */
static void
side_count_out(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct side *side = arg;

	side->bytes_out += info->n_added;
	if (info->n_added > 0 && info->orig_size == 0 && side->tls_up)
		side_write_now(side);
	if (info->n_deleted > 0 && side->ssl != NULL &&
	    evbuffer_get_length(buf) == 0)
		side_flush(side);
}

/*
 * libevent 2.1 writes TLS output only once epoll says the socket is
 * writable: an epoll_ctl() to watch for it and one to stop, and a loop
 * turn, per reply. Run its write callback in this turn instead; with the
 * changelist (side_base_new) the watch it adds and drops costs nothing.
 * The event is added first: libevent does not add an active event.
 */
static void
side_write_now(struct side *side)
{
	event_add(&side->bev->ev_write, NULL);
	event_active(&side->bev->ev_write, EV_WRITE, 1);
}

/* Send the records kept in the write buffer; what the socket does not
 * take now goes when it is writable (side_flushcb). */
static void
side_flush(struct side *side)
{
	BIO *wbio = SSL_get_wbio(side->ssl);

	if (BIO_wpending(wbio) > 0 && BIO_flush(wbio) != 1)
		event_active(side->flush_ev, EV_WRITE, 1);
}

/* Go on sending the write buffer; when it is empty, tell the owner the
 * output drained, as libevent's write callback would have. */
static void
side_flushcb(evutil_socket_t fd, short what, void *arg)
{
	struct side *side = arg;
	BIO *wbio = SSL_get_wbio(side->ssl);
	size_t low;

	(void)fd;
	(void)what;
	if (BIO_flush(wbio) != 1) {
		if (BIO_should_retry(wbio))
			event_add(side->flush_ev, NULL);
		else
			side->cb(side, SIDE_ERROR, side->arg);
		return;
	}
	bufferevent_getwatermark(side->bev, EV_WRITE, &low, NULL);
	if (side_output_length(side) <= low)
		side->cb(side, SIDE_FLUSHED, side->arg);
}

/* Bytes arrived: have what OpenSSL holds read too, and tell the owner
 * (who may free the side). */
static void
side_readcb(struct bufferevent *bev, void *arg)
{
	struct side *side = arg;

	(void)bev;
	if (side->ssl != NULL && side_read_ahead(side))
		return;		/* the owner hears of it all at once */
	if (side->ssl != NULL)
		side_read_pending(side);
	side->cb(side, SIDE_INPUT, side->arg);
}

/*
 * Relaying bulk, read all the records OpenSSL holds before telling the
 * owner: libevent reads one record per round, and an upstream that
 * writes small records (Dovecot's are 4 KiB) would otherwise be moved,
 * encrypted and sent a few KiB at a time. True if a read is scheduled.
 * It stops once one more round (at most two records) could fill the
 * input: full, libevent would stop reading and start again when the owner
 * drains it, an epoll_ctl() each time. If OpenSSL holds only the start of
 * a record, the owner hears of the input when the rest of it arrives.
 */
static bool
side_read_ahead(struct side *side)
{
	size_t high;

	bufferevent_getwatermark(side->bev, EV_READ, NULL, &high);
	if (!side->bulk || !side->tls_up || !SSL_has_pending(side->ssl) ||
	    !(bufferevent_get_enabled(side->bev) & EV_READ) ||
	    side_input_length(side) + 2 * SIDE_RECORD >= high)
		return false;
	event_active(&side->bev->ev_read, EV_READ, 1);
	return true;
}

/*
 * OpenSSL reads ahead: whole records may wait in its buffer after the
 * socket has nothing more to signal, and libevent 2.1 reads on only while
 * SSL_pending (the current record) is not zero. Run the bufferevent's own
 * read callback again from the loop while reading is on.
 */
static void
side_read_pending(struct side *side)
{
	if (side->tls_up && SSL_has_pending(side->ssl) &&
	    (bufferevent_get_enabled(side->bev) & EV_READ))
		event_active(&side->bev->ev_read, EV_READ, 1);
}

/* Output went below the low-water mark: tell the owner, unless records
 * kept in the write buffer still count (side_flushcb tells it then). */
static void
side_writecb(struct bufferevent *bev, void *arg)
{
	struct side *side = arg;
	size_t low;

	bufferevent_getwatermark(bev, EV_WRITE, &low, NULL);
	if (side_output_length(side) <= low)
		side->cb(side, SIDE_FLUSHED, side->arg);
}

/* Connected, handshake done, EOF or error: tell the owner. */
static void
side_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct side *side = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		side->tls_up = side->ssl != NULL;
		if (side->tls_up)
			side_read_pending(side);	/* read with the handshake */
		side->cb(side, SIDE_CONNECTED, side->arg);
	} else if (what & BEV_EVENT_EOF)
		side->cb(side, SIDE_EOF, side->arg);
	else if (what & BEV_EVENT_ERROR)
		side->cb(side, SIDE_ERROR, side->arg);
	else
		fatalx("side: unexpected bufferevent event 0x%x", what);
}

/* Queue bytes. */
void
side_write(struct side *side, const void *data, size_t len)
{
	evbuffer_add(bufferevent_get_output(side->bev), data, len);
}

/* Queue a formatted line (CRLF added). */
void
side_printf(struct side *side, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	side_vprintf(side, fmt, ap);
	va_end(ap);
}

/* Queue a formatted line (CRLF added) from a va_list. */
void
side_vprintf(struct side *side, const char *fmt, va_list ap)
{
	struct evbuffer *out = bufferevent_get_output(side->bev);

	evbuffer_add_vprintf(out, fmt, ap);
	evbuffer_add(out, "\r\n", 2);
}

/* Read one line (LF or CRLF terminated) into buf of size bytes. */
enum line_status
side_read_line(struct side *side, char *buf, size_t size, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(side->bev);
	struct evbuffer_ptr eol;
	size_t n;

	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	if (eol.pos < 0)
		return evbuffer_get_length(in) >= size - 1 ? LINE_TOO_LONG :
		    LINE_NONE;
	if ((size_t)eol.pos >= size - 1)
		return LINE_TOO_LONG;
	n = (size_t)eol.pos;
	evbuffer_remove(in, buf, n);
	evbuffer_drain(in, 1);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return LINE_OK;
}

/* Bytes of input not read yet. */
size_t
side_input_length(const struct side *side)
{
	return evbuffer_get_length(bufferevent_get_input(side->bev));
}

/* Bytes of output not sent yet. */
size_t
side_output_length(const struct side *side)
{
	size_t kept = 0;

	if (side->ssl != NULL)
		kept = (size_t)BIO_wpending(SSL_get_wbio(side->ssl));
	return evbuffer_get_length(bufferevent_get_output(side->bev)) + kept;
}

/* Drop all unread input. */
void
side_drop_input(struct side *side)
{
	struct evbuffer *in = bufferevent_get_input(side->bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

/* Read in whole records while relaying bulk, lines otherwise. */
void
side_read_bulk(struct side *side, bool bulk)
{
	side->bulk = bulk;
	if (side->bev != NULL)
		bufferevent_setwatermark(side->bev, EV_READ, 0,
		    bulk ? SIDE_BULK_READ : side->read_max);
}

/* Stop or resume reading. */
void
side_pause(struct side *side, bool paused)
{
	if (side->bev == NULL)
		return;
	if (paused)
		bufferevent_disable(side->bev, EV_READ);
	else {
		bufferevent_enable(side->bev, EV_READ);
		if (side->ssl != NULL)
			side_read_pending(side);
	}
}

/* Pause the peer while this side's output is over the high-water mark. */
bool
side_congested(struct side *side)
{
	if (side_output_length(side) < SIDE_HIGH_WATER)
		return false;
	side->congested = true;
	bufferevent_setwatermark(side->bev, EV_WRITE, SIDE_HIGH_WATER / 2, 0);
	side_pause(side->peer, true);
	return true;
}

/* The output drained: resume a peer paused for it. */
void
side_drained(struct side *side)
{
	struct side *peer = side->peer;

	if (!side->congested)
		return;
	side->congested = false;
	bufferevent_setwatermark(side->bev, EV_WRITE, 0, 0);
	side_pause(peer, false);
	peer->cb(peer, SIDE_INPUT, peer->arg);
}

/* Move n bytes read to the peer's output in pieces of one record each. */
void
side_move(struct side *side, size_t n)
{
	struct evbuffer *in = bufferevent_get_input(side->bev);
	struct evbuffer *out = bufferevent_get_output(side->peer->bev);
	struct evbuffer_iovec v;
	size_t k;

	for (; n > 0; n -= k) {
		k = n < SIDE_RECORD ? n : SIDE_RECORD;
		if (evbuffer_reserve_space(out, (ev_ssize_t)k, &v, 1) < 1) {
			evbuffer_remove_buffer(in, out, n);	/* no memory */
			return;
		}
		v.iov_len = (size_t)evbuffer_remove(in, v.iov_base, k);
		evbuffer_commit_space(out, &v, 1);
	}
}

/* Move everything read to the peer's output. */
bool
side_pipe(struct side *side)
{
	side_move(side, side_input_length(side));
	return !side_congested(side->peer);
}

/* The negotiated TLS version, or "none". */
const char *
side_tls_version(const struct side *side)
{
	if (side->ssl == NULL || !side->tls_up)
		return "none";
	return SSL_get_version(side->ssl);
}

/* The negotiated cipher, or "none". */
const char *
side_tls_cipher(const struct side *side)
{
	if (side->ssl == NULL || !side->tls_up)
		return "none";
	return SSL_get_cipher_name(side->ssl);
}

/* Why a TLS handshake failed: certificate, OpenSSL error, or closed. */
void
side_tls_error(struct side *side, const char *prefix, char *dst, size_t len)
{
	unsigned long err = bufferevent_get_openssl_error(side->bev);
	const char *verify = tls_verify_error(side->ssl);
	char text[256];

	if (verify != NULL)
		snprintf(dst, len, "%s certificate not trusted: %s", prefix,
		    verify);
	else if (err != 0) {
		ERR_error_string_n(err, text, sizeof(text));
		snprintf(dst, len, "%s TLS handshake failed: %s", prefix, text);
	} else
		snprintf(dst, len, "%s closed the connection during the TLS "
		    "handshake", prefix);
	ERR_clear_error();
}
