/*
 * sink: the benchmark's upstream, an implicit-TLS (1.2+) SMTP server that
 * accepts any AUTH, discards message bodies and counts what it accepted.
 *
 * Usage: sink --port P --control-port C --cert FILE --key FILE [--legacy]
 *
 * --legacy also accepts TLS 1.0 and 1.1 (for a direct load-to-sink run on
 * the devices' TLS, the harness's own ceiling).
 *
 * A connection to the plaintext control port gets one key=value line of
 * counters (messages, body bytes, sessions, TLS application-data records
 * received and their bytes) and is closed: the benchmark reads it before
 * and after a run, so it can check that every message acknowledged to the
 * load generator reached the sink and measure the relay's record sizes.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "benchio.h"

#define SINK_LINE_MAX	4096
#define SINK_OUT_MAX	1024
#define SINK_READ_MAX	65536

/* Where a connection is in its SMTP dialogue. */
enum sink_state {
	SINK_HANDSHAKE,		/* TLS handshake not finished */
	SINK_COMMAND,		/* reading command lines */
	SINK_AUTH,		/* reading AUTH continuation lines */
	SINK_BODY,		/* discarding a body until CRLF.CRLF */
	SINK_QUIT		/* 221 sent, close once it is written */
};

/* One upstream connection. */
struct sink_conn {
	int			 fd;
	SSL			*ssl;
	enum sink_state		 state;
	int			 auth_left;	/* continuation lines still due */
	int			 match;		/* bytes of CRLF.CRLF matched */
	int			 want_out;	/* EPOLLOUT is registered */
	size_t			 linelen;
	size_t			 outlen;
	char			 line[SINK_LINE_MAX];
	char			 out[SINK_OUT_MAX];
};

/* What the control port reports. */
struct sink_stats {
	unsigned long		 sessions;
	unsigned long		 auths;
	unsigned long		 messages;
	unsigned long		 body_bytes;
	unsigned long		 records;
	unsigned long		 record_bytes;
};

/* One SMTP verb and its handler. */
struct sink_verb {
	const char		*verb;
	void			(*handle)(struct sink_conn *, const char *);
};

static void sink_accept(int lfd, SSL_CTX *ctx);
static void sink_report(int cfd);
static void sink_event(struct sink_conn *c, unsigned events);
static void sink_handshake(struct sink_conn *c);
static void sink_read(struct sink_conn *c);
static void sink_input(struct sink_conn *c, const char *p, size_t n);
static size_t sink_body_scan(struct sink_conn *c, const char *p, size_t n);
static size_t sink_line_take(struct sink_conn *c, const char *p, size_t n);
static void sink_command(struct sink_conn *c);
static void sink_send(struct sink_conn *c, const char *text);
static void sink_flush(struct sink_conn *c);
static void sink_watch(struct sink_conn *c, int want_out);
static void sink_close(struct sink_conn *c);
static void sink_record_cb(int write_p, int version, int content_type,
    const void *buf, size_t len, SSL *ssl, void *arg);
static void sink_ehlo(struct sink_conn *c, const char *arg);
static void sink_auth(struct sink_conn *c, const char *arg);
static void sink_ok(struct sink_conn *c, const char *arg);
static void sink_data(struct sink_conn *c, const char *arg);
static void sink_quit(struct sink_conn *c, const char *arg);

static int sink_epfd;
static struct sink_stats sink_stats;
static char sink_listen_tag, sink_control_tag;

static const struct sink_verb sink_verbs[] = {
	{ "EHLO", sink_ehlo },
	{ "HELO", sink_ok },
	{ "AUTH", sink_auth },
	{ "MAIL", sink_ok },
	{ "RCPT", sink_ok },
	{ "DATA", sink_data },
	{ "RSET", sink_ok },
	{ "NOOP", sink_ok },
	{ "QUIT", sink_quit },
};

/* Count the TLS application-data records the sink receives. */
static void
sink_record_cb(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	const unsigned char *h = buf;

	(void)version; (void)ssl; (void)arg;
	if (write_p || content_type != SSL3_RT_HEADER || len < 5 ||
	    h[0] != SSL3_RT_APPLICATION_DATA)
		return;
	sink_stats.records++;
	sink_stats.record_bytes += (h[3] << 8) | h[4];
}

/* Accept every pending connection on the TLS port. */
static void
sink_accept(int lfd, SSL_CTX *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct sink_conn *c;
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		bench_nonblock(fd);
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->ssl = SSL_new(ctx)) == NULL)
			bench_fatal("out of memory");
		c->fd = fd;
		SSL_set_fd(c->ssl, fd);
		SSL_set_accept_state(c->ssl);
		ev.data.ptr = c;
		epoll_ctl(sink_epfd, EPOLL_CTL_ADD, fd, &ev);
		sink_stats.sessions++;
	}
}

/* Answer a control connection with the counters and close it. */
static void
sink_report(int cfd)
{
	char buf[256];
	int fd, n;

	while ((fd = accept(cfd, NULL, NULL)) >= 0) {
		n = snprintf(buf, sizeof(buf), "sessions=%lu auths=%lu "
		    "messages=%lu body_bytes=%lu records=%lu record_bytes=%lu\n",
		    sink_stats.sessions, sink_stats.auths, sink_stats.messages,
		    sink_stats.body_bytes, sink_stats.records,
		    sink_stats.record_bytes);
		if (write(fd, buf, n) != n)
			perror("sink: control write");
		close(fd);
	}
}

/* Dispatch readiness of one connection. */
static void
sink_event(struct sink_conn *c, unsigned events)
{
	if (c->state == SINK_HANDSHAKE) {
		sink_handshake(c);
		return;
	}
	if (events & EPOLLOUT)
		sink_flush(c);
	if (c->state == SINK_QUIT) {
		if (c->outlen == 0)
			sink_close(c);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		sink_read(c);
}

/* Advance the TLS handshake; greet once it is done. */
static void
sink_handshake(struct sink_conn *c)
{
	int ret = SSL_do_handshake(c->ssl);

	if (ret == 1) {
		c->state = SINK_COMMAND;
		sink_send(c, "220 sink.test ESMTP bench sink\r\n");
		return;
	}
	if (bench_ssl_status(c->ssl, ret) == BENCH_IO_AGAIN)
		sink_watch(c, SSL_want_write(c->ssl));
	else
		sink_close(c);
}

/* Read everything available and feed it to the dialogue. */
static void
sink_read(struct sink_conn *c)
{
	static char buf[SINK_READ_MAX];
	int n;

	for (;;) {
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0)
			break;
		sink_input(c, buf, n);
		if (c->state == SINK_QUIT) {
			if (c->outlen == 0)
				sink_close(c);
			return;
		}
	}
	if (bench_ssl_status(c->ssl, n) != BENCH_IO_AGAIN)
		sink_close(c);
}

/* Consume received bytes: body data or command lines. */
static void
sink_input(struct sink_conn *c, const char *p, size_t n)
{
	size_t used;

	while (n > 0 && c->state != SINK_QUIT) {
		if (c->state == SINK_BODY)
			used = sink_body_scan(c, p, n);
		else
			used = sink_line_take(c, p, n);
		p += used;
		n -= used;
	}
}

/*
 * Discard body bytes up to and including CRLF.CRLF (the match counter
 * carries a partial terminator across reads); then acknowledge the message.
 */
static size_t
sink_body_scan(struct sink_conn *c, const char *p, size_t n)
{
	static const char end[] = "\r\n.\r\n";
	const char *cr;
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->match == 0) {
			if ((cr = memchr(p + i, '\r', n - i)) == NULL)
				break;
			i = cr - p;
		}
		if (p[i] != end[c->match]) {
			c->match = p[i] == '\r';
			continue;
		}
		if (++c->match == 5) {
			sink_stats.body_bytes += i + 1;
			sink_stats.messages++;
			c->state = SINK_COMMAND;
			sink_send(c, "250 2.0.0 Ok: queued by sink\r\n");
			return i + 1;
		}
	}
	sink_stats.body_bytes += n;
	return n;
}

/* Append bytes to the command line; run it when its LF arrives. */
static size_t
sink_line_take(struct sink_conn *c, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t len = lf ? (size_t)(lf - p) + 1 : n;

	if (c->linelen + len >= sizeof(c->line)) {
		c->linelen = 0;
		sink_send(c, "500 5.5.0 line too long\r\n");
		return len;
	}
	memcpy(c->line + c->linelen, p, len);
	c->linelen += len;
	if (lf != NULL) {
		c->line[c->linelen] = '\0';
		c->line[strcspn(c->line, "\r\n")] = '\0';
		c->linelen = 0;
		sink_command(c);
	}
	return len;
}

/* Run one complete command line (or an AUTH continuation line). */
static void
sink_command(struct sink_conn *c)
{
	size_t i;

	if (c->state == SINK_AUTH) {
		sink_auth(c, NULL);
		return;
	}
	for (i = 0; i < nitems(sink_verbs); i++) {
		if (strncasecmp(c->line, sink_verbs[i].verb, 4) == 0) {
			sink_verbs[i].handle(c, c->line + 4);
			return;
		}
	}
	sink_send(c, "502 5.5.2 unknown command\r\n");
}

/* EHLO: offer AUTH and the extensions a submission server has. */
static void
sink_ehlo(struct sink_conn *c, const char *arg)
{
	(void)arg;
	sink_send(c, "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 209715200\r\n"
	    "250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n");
}

/*
 * AUTH: any PLAIN or LOGIN credentials are accepted (the relay passes the
 * device's own through); NULL arg is a continuation line.
 */
static void
sink_auth(struct sink_conn *c, const char *arg)
{
	if (arg != NULL) {
		while (*arg == ' ')
			arg++;
		c->state = SINK_AUTH;
		c->auth_left = strncasecmp(arg, "LOGIN", 5) == 0 ? 2 :
		    strchr(arg, ' ') == NULL ? 1 : 0;
	} else
		c->auth_left--;
	if (c->auth_left == 2)
		sink_send(c, "334 VXNlcm5hbWU6\r\n");
	else if (c->auth_left == 1)
		sink_send(c, "334 \r\n");
	else {
		c->state = SINK_COMMAND;
		sink_stats.auths++;
		sink_send(c, "235 2.7.0 Authentication successful\r\n");
	}
}

/* Commands the sink simply accepts. */
static void
sink_ok(struct sink_conn *c, const char *arg)
{
	(void)arg;
	sink_send(c, "250 2.0.0 Ok\r\n");
}

/* DATA: start discarding; the DATA line's CRLF counts for CRLF.CRLF. */
static void
sink_data(struct sink_conn *c, const char *arg)
{
	(void)arg;
	c->state = SINK_BODY;
	c->match = 2;
	sink_send(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
}

/* QUIT: say goodbye; the caller closes once it is written. */
static void
sink_quit(struct sink_conn *c, const char *arg)
{
	(void)arg;
	sink_send(c, "221 2.0.0 Bye\r\n");
	c->state = SINK_QUIT;
}

/* Queue a reply and try to write it. */
static void
sink_send(struct sink_conn *c, const char *text)
{
	size_t len = strlen(text);

	if (c->outlen + len > sizeof(c->out))
		bench_fatal("sink: output buffer full (peer not reading)");
	memcpy(c->out + c->outlen, text, len);
	c->outlen += len;
	sink_flush(c);
}

/* Write queued replies; wait for EPOLLOUT while some remain. */
static void
sink_flush(struct sink_conn *c)
{
	int n;

	while (c->outlen > 0) {
		n = SSL_write(c->ssl, c->out, c->outlen);
		if (n <= 0)
			break;
		memmove(c->out, c->out + n, c->outlen - n);
		c->outlen -= n;
	}
	sink_watch(c, c->outlen > 0);
}

/* Register or drop interest in writability. */
static void
sink_watch(struct sink_conn *c, int want_out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

	if (want_out == c->want_out)
		return;
	c->want_out = want_out;
	if (want_out)
		ev.events |= EPOLLOUT;
	epoll_ctl(sink_epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Free a connection (the message counters stay). */
static void
sink_close(struct sink_conn *c)
{
	epoll_ctl(sink_epfd, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	close(c->fd);
	free(c);
}

/* Parse options, listen and serve until killed. */
int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "control-port", required_argument, NULL, 'c' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "legacy", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 }
	};
	struct epoll_event ev = { .events = EPOLLIN }, evs[256];
	const char *cert = NULL, *key = NULL;
	int port = 0, cport = 0, legacy = 0, o, n, i, lfd, cfd;
	SSL_CTX *ctx;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': port = atoi(optarg); break;
		case 'c': cport = atoi(optarg); break;
		case 'C': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'L': legacy = 1; break;
		default: return 2;
		}
	}
	if (port == 0 || cport == 0 || cert == NULL || key == NULL)
		bench_fatal("usage: sink --port P --control-port C "
		    "--cert FILE --key FILE [--legacy]");
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	ctx = bench_ctx_server(cert, key);
	SSL_CTX_set_msg_callback(ctx, sink_record_cb);
	if (legacy) {
		SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
		SSL_CTX_set_cipher_list(ctx, "DEFAULT:@SECLEVEL=0");
	}
	sink_epfd = epoll_create1(0);
	lfd = bench_listen(port);
	cfd = bench_listen(cport);
	ev.data.ptr = &sink_listen_tag;
	epoll_ctl(sink_epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &sink_control_tag;
	epoll_ctl(sink_epfd, EPOLL_CTL_ADD, cfd, &ev);
	for (;;) {
		n = epoll_wait(sink_epfd, evs, nitems(evs), -1);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &sink_listen_tag)
				sink_accept(lfd, ctx);
			else if (evs[i].data.ptr == &sink_control_tag)
				sink_report(cfd);
			else
				sink_event(evs[i].data.ptr, evs[i].events);
		}
		if (n < 0 && errno != EINTR)
			bench_fatal("epoll_wait: %s", strerror(errno));
	}
}
