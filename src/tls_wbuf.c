/* The write side of a TLS connection: a BIO that gathers the records
 * OpenSSL writes and sends them with one writev() per flush. */
#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <openssl/bio.h>

#include "tls_wbuf.h"

/* What one write buffer BIO holds. */
struct tls_wbuf {
	int		 fd;
	struct evbuffer	*buf;	/* records not sent yet */
};

static int	tls_wbuf_create(BIO *b);
static int	tls_wbuf_destroy(BIO *b);
static int	tls_wbuf_write(BIO *b, const char *data, int len);
static long	tls_wbuf_ctrl(BIO *b, int cmd, long num, void *ptr);
static long	tls_wbuf_send(BIO *b);

static BIO_METHOD *tls_wbuf_method;

/* A write buffer BIO on the socket fd (which it never closes), or NULL
 * if out of memory. */
BIO *
tls_wbuf_new(int fd)
{
	struct tls_wbuf *w;
	BIO *b;

	if (tls_wbuf_method == NULL && (tls_wbuf_method = BIO_meth_new(
	    BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tlsrelay write "
	    "buffer")) != NULL) {
		BIO_meth_set_create(tls_wbuf_method, tls_wbuf_create);
		BIO_meth_set_destroy(tls_wbuf_method, tls_wbuf_destroy);
		BIO_meth_set_write(tls_wbuf_method, tls_wbuf_write);
		BIO_meth_set_ctrl(tls_wbuf_method, tls_wbuf_ctrl);
	}
	if (tls_wbuf_method == NULL || (b = BIO_new(tls_wbuf_method)) == NULL)
		return NULL;
	w = BIO_get_data(b);
	w->fd = fd;
	return b;
}

/* Allocate the state of a new BIO. */
static int
tls_wbuf_create(BIO *b)
{
	struct tls_wbuf *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return 0;
	if ((w->buf = evbuffer_new()) == NULL) {
		free(w);
		return 0;
	}
	w->fd = -1;
	BIO_set_data(b, w);
	BIO_set_init(b, 1);
	return 1;
}

/* Free the state, and whatever was not sent. */
static int
tls_wbuf_destroy(BIO *b)
{
	struct tls_wbuf *w = BIO_get_data(b);

	if (w != NULL) {
		evbuffer_free(w->buf);
		free(w);
	}
	BIO_set_data(b, NULL);
	return 1;
}

/* Keep a record; past TLS_WBUF_MAX bytes kept, send them first, and have
 * OpenSSL retry later if the socket takes too little of them. */
static int
tls_wbuf_write(BIO *b, const char *data, int len)
{
	struct tls_wbuf *w = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (evbuffer_get_length(w->buf) >= TLS_WBUF_MAX &&
	    tls_wbuf_send(b) < 0 && !BIO_should_retry(b))
		return -1;
	if (evbuffer_get_length(w->buf) >= TLS_WBUF_MAX) {
		BIO_set_retry_write(b);
		return -1;
	}
	if (evbuffer_add(w->buf, data, (size_t)len) != 0)
		return -1;
	return len;
}

/* Send what is kept: 1 when all of it left, -1 with the retry flag set
 * when the socket is full, -1 on an error. */
static long
tls_wbuf_send(BIO *b)
{
	struct tls_wbuf *w = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	while (evbuffer_get_length(w->buf) > 0) {
		if (evbuffer_write(w->buf, w->fd) >= 0)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			BIO_set_retry_write(b);
		return -1;
	}
	return 1;
}

/* Flush, bytes kept, the socket (for libevent); nothing else applies. */
static long
tls_wbuf_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_wbuf *w = BIO_get_data(b);

	(void)num;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return tls_wbuf_send(b);
	case BIO_CTRL_WPENDING:
		return (long)evbuffer_get_length(w->buf);
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = w->fd;
		return w->fd;
	case BIO_CTRL_GET_CLOSE:
		return BIO_NOCLOSE;
	case BIO_CTRL_SET_CLOSE:
		return 1;
	default:
		return 0;
	}
}
