/* Unit tests for side.c: lines, piping and backpressure between halves;
 * and for the TLS write buffer under a side (tls_wbuf.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "side.h"
#include "suites.h"
#include "tls_wbuf.h"

/* Two connected halves over socketpairs, and what their owners heard. */
struct pair {
	struct event_base	*base;
	struct side		 a;
	struct side		 b;
	int			 far[2];	/* the other ends of the sockets */
	unsigned		 inputs_a;	/* SIDE_INPUT events on a */
};

/* Count SIDE_INPUT events for side a. */
static void
pair_cb(struct side *side, enum side_event ev, void *arg)
{
	struct pair *p = arg;

	if (side == &p->a && ev == SIDE_INPUT)
		p->inputs_a++;
}

/* Set up two attached sides, each the other's peer. */
static void
pair_open(struct pair *p)
{
	int sa[2], sb[2];

	memset(p, 0, sizeof(*p));
	p->base = event_base_new();
	ck_assert_ptr_nonnull(p->base);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	side_init(&p->a, p->base, &p->b, 1024, pair_cb, p);
	side_init(&p->b, p->base, &p->a, 1024, pair_cb, p);
	ck_assert(side_attach(&p->a, sa[0]));
	ck_assert(side_attach(&p->b, sb[0]));
	p->far[0] = sa[1];
	p->far[1] = sb[1];
}

/* Close both sides and the far ends. */
static void
pair_close(struct pair *p)
{
	side_close(&p->a);
	side_close(&p->b);
	close(p->far[0]);
	close(p->far[1]);
	event_base_free(p->base);
}

/* Put bytes in a side's input as if the network had delivered them (the
 * bufferevent keeps its input's end frozen to all but itself). */
static void
side_feed(struct side *side, const void *data, size_t len)
{
	struct evbuffer *in = bufferevent_get_input(side->bev);

	evbuffer_unfreeze(in, 0);
	evbuffer_add(in, data, len);
	evbuffer_freeze(in, 0);
}

/* CRLF and bare LF both end a line and are removed; a partial line waits. */
START_TEST(test_read_line)
{
	struct pair p;
	char buf[16];
	size_t len;

	pair_open(&p);
	side_feed(&p.a, "EHLO x\r\nNOOP\nQU", 15);
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_OK);
	ck_assert_str_eq(buf, "EHLO x");
	ck_assert_uint_eq(len, 6);
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_OK);
	ck_assert_str_eq(buf, "NOOP");
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_NONE);
	ck_assert_uint_eq(side_input_length(&p.a), 2);
	pair_close(&p);
}
END_TEST

/* A line that cannot fit, ended or not, is too long. */
START_TEST(test_read_line_too_long)
{
	struct pair p;
	char buf[8];
	size_t len;

	pair_open(&p);
	side_feed(&p.a, "ABCDEFG\r\n", 9);
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_TOO_LONG);
	side_drop_input(&p.a);
	side_feed(&p.a, "ABCDEFGH", 8);
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_TOO_LONG);
	side_drop_input(&p.a);
	side_feed(&p.a, "ABCDE\n", 6);
	ck_assert_int_eq(side_read_line(&p.a, buf, sizeof(buf), &len),
	    LINE_OK);
	pair_close(&p);
}
END_TEST

/* Piping moves all input to the peer's output and counts the bytes. */
START_TEST(test_pipe)
{
	struct pair p;

	pair_open(&p);
	side_feed(&p.a, "hello\r\n", 7);
	ck_assert(side_pipe(&p.a));
	ck_assert_uint_eq(side_input_length(&p.a), 0);
	ck_assert_uint_eq(side_output_length(&p.b), 7);
	ck_assert_uint_eq(p.b.bytes_out, 7);
	ck_assert_uint_eq(p.a.bytes_in, 7);
	pair_close(&p);
}
END_TEST

/* Input read in many small pieces reaches the peer in contiguous pieces
 * of a full record each (one TLS record per piece), bytes intact. */
START_TEST(test_move_records)
{
	static char data[3 * SIDE_RECORD + 100], back[sizeof(data)];
	struct evbuffer_iovec v[8];
	struct evbuffer *in, *out;
	struct pair p;
	size_t i;
	int n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 23);
	pair_open(&p);
	in = bufferevent_get_input(p.a.bev);
	evbuffer_unfreeze(in, 0);
	for (i = 0; i < sizeof(data); i += 1000)
		evbuffer_add_reference(in, data + i, sizeof(data) - i < 1000 ?
		    sizeof(data) - i : 1000, NULL, NULL);
	evbuffer_freeze(in, 0);
	side_move(&p.a, sizeof(data) - 50);
	ck_assert_uint_eq(side_input_length(&p.a), 50);
	out = bufferevent_get_output(p.b.bev);
	n = evbuffer_peek(out, -1, NULL, v, 8);
	ck_assert_int_ge(n, 1);
	for (i = 0; i + 1 < (size_t)n; i++)
		ck_assert_uint_ge(v[i].iov_len, SIDE_RECORD);
	evbuffer_unfreeze(out, 1);
	ck_assert_uint_eq(evbuffer_copyout(out, back, sizeof(back)),
	    sizeof(data) - 50);
	evbuffer_freeze(out, 1);
	ck_assert_mem_eq(back, data, sizeof(data) - 50);
	pair_close(&p);
}
END_TEST

/* A side whose output is full is the congested one and pauses its peer;
 * once drained, the peer reads again and its owner hears SIDE_INPUT. */
START_TEST(test_congested_drained)
{
	static char big[SIDE_HIGH_WATER];
	struct pair p;

	pair_open(&p);
	ck_assert(!side_congested(&p.b));
	side_write(&p.b, big, sizeof(big));
	ck_assert(side_congested(&p.b));
	ck_assert(p.b.congested);
	ck_assert(!p.a.congested);
	ck_assert(!(bufferevent_get_enabled(p.a.bev) & EV_READ));
	ck_assert(bufferevent_get_enabled(p.b.bev) & EV_READ);
	side_drained(&p.b);
	ck_assert(!p.b.congested);
	ck_assert(bufferevent_get_enabled(p.a.bev) & EV_READ);
	ck_assert_uint_eq(p.inputs_a, 1);
	side_drained(&p.b);		/* not congested: nothing happens */
	ck_assert_uint_eq(p.inputs_a, 1);
	pair_close(&p);
}
END_TEST

/* Piping into a full peer reports it and pauses the source. */
START_TEST(test_pipe_into_full_peer)
{
	static char big[SIDE_HIGH_WATER];
	struct pair p;

	pair_open(&p);
	side_feed(&p.a, big, sizeof(big));
	ck_assert(!side_pipe(&p.a));
	ck_assert(p.b.congested);
	ck_assert(!(bufferevent_get_enabled(p.a.bev) & EV_READ));
	pair_close(&p);
}
END_TEST

/* A write buffer on one end of a non-blocking socketpair. */
static BIO *
wbuf_open(int sv[2])
{
	BIO *b;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	b = tls_wbuf_new(sv[0]);
	ck_assert_ptr_nonnull(b);
	return b;
}

/* Writes are kept until a flush, which sends them in order. */
START_TEST(test_wbuf_keeps_until_flush)
{
	char got[16];
	int sv[2];
	BIO *b = wbuf_open(sv);

	ck_assert_int_eq(BIO_get_fd(b, NULL), sv[0]);
	ck_assert_int_eq(BIO_write(b, "abc", 3), 3);
	ck_assert_int_eq(BIO_write(b, "defg", 4), 4);
	ck_assert_int_eq(BIO_wpending(b), 7);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(BIO_flush(b), 1);
	ck_assert_int_eq(BIO_wpending(b), 0);
	ck_assert_int_eq(read(sv[1], got, sizeof(got)), 7);
	ck_assert_int_eq(memcmp(got, "abcdefg", 7), 0);
	BIO_free(b);
	ck_assert_int_eq(write(sv[0], "x", 1), 1);	/* fd still open */
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* Past TLS_WBUF_MAX kept bytes a write sends them first; with the socket
 * full it asks to be retried, and nothing is lost or reordered. */
START_TEST(test_wbuf_full_retries)
{
	static unsigned char out[8 * TLS_WBUF_MAX], in[sizeof(out)];
	size_t sent = 0, got = 0, retries = 0, i;
	ssize_t r;
	int sv[2], n;
	BIO *b = wbuf_open(sv);

	for (i = 0; i < sizeof(out); i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	while (sent < sizeof(out)) {
		n = BIO_write(b, out + sent, 1000 < sizeof(out) - sent ?
		    1000 : (int)(sizeof(out) - sent));
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		ck_assert(BIO_should_retry(b));
		ck_assert_int_ge(BIO_wpending(b), TLS_WBUF_MAX);
		retries++;
		while ((r = read(sv[1], in + got, sizeof(in) - got)) > 0)
			got += (size_t)r;
	}
	while (BIO_flush(b) != 1) {
		ck_assert(BIO_should_retry(b));
		while ((r = read(sv[1], in + got, sizeof(in) - got)) > 0)
			got += (size_t)r;
	}
	while ((r = read(sv[1], in + got, sizeof(in) - got)) > 0)
		got += (size_t)r;
	ck_assert_uint_gt(retries, 0);
	ck_assert_uint_eq(got, sizeof(out));
	ck_assert_int_eq(memcmp(in, out, sizeof(out)), 0);
	BIO_free(b);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* The side tests. */
Suite *
side_suite(void)
{
	Suite *s = suite_create("side");
	TCase *tc = tcase_create("lines");

	tcase_add_test(tc, test_read_line);
	tcase_add_test(tc, test_read_line_too_long);
	tcase_add_test(tc, test_move_records);
	suite_add_tcase(s, tc);
	tc = tcase_create("backpressure");
	tcase_add_test(tc, test_pipe);
	tcase_add_test(tc, test_congested_drained);
	tcase_add_test(tc, test_pipe_into_full_peer);
	suite_add_tcase(s, tc);
	tc = tcase_create("tls_wbuf");
	tcase_add_test(tc, test_wbuf_keeps_until_flush);
	tcase_add_test(tc, test_wbuf_full_retries);
	suite_add_tcase(s, tc);
	return s;
}
