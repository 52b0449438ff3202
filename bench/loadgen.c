/*
 * loadgen: SMTP sessions the way a legacy appliance sends mail, on one core
 * (epoll + OpenSSL, no threads).
 *
 * Each session connects, speaks implicit TLS (1.0 by default), STARTTLS or
 * plaintext, then EHLO, AUTH PLAIN, MAIL, RCPT, DATA, a body of --size
 * bytes and QUIT, waiting for every reply. --concurrency sessions run at
 * once until --sessions have been started or --duration seconds passed.
 * The last line on stdout is key=value: sessions/s, p50/p99 latency,
 * payload MB/s and errors by step and kind (err_STEP_KIND=N).
 *
 * --no-etm leaves encrypt-then-MAC (RFC 7366) out of the TLS 1.0-1.2
 * handshake, as stacks older than it do.
 *
 * With --idle N it instead opens N sessions, holds each one at the step
 * --hold names (greeting: TLS done and greeted; login: AUTH accepted),
 * prints "held=N ..." once all are held and keeps them until stdin closes.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "benchio.h"

#define LG_IN_MAX	4096
#define LG_CHECK_EVERY	1.0	/* seconds between timeout scans */

/* The steps of a session, in the order a script may use them. */
enum lg_step {
	LG_CONNECT, LG_HANDSHAKE, LG_GREETING, LG_EHLO, LG_STARTTLS,
	LG_AUTH, LG_MAIL, LG_RCPT, LG_DATA, LG_BODY, LG_QUIT,
	LG_HELD, LG_DONE, LG_NSTEPS
};

/* How a step failed. */
enum lg_fail {
	LG_FAIL_CONNECT, LG_FAIL_TLS, LG_FAIL_CLOSED, LG_FAIL_REPLY,
	LG_FAIL_TIMEOUT, LG_NFAILS
};

/* What a step sends and which reply code moves the session on. */
struct lg_step_def {
	const char		*name;
	const char		*command;	/* NULL: nothing or computed */
	int			 expect;	/* 0: no reply awaited */
};

/* One session slot. */
struct lg_conn {
	int			 fd;
	SSL			*ssl;
	const enum lg_step	*script;	/* steps, ending in LG_DONE */
	int			 pos;		/* index into script */
	unsigned		 events;	/* what epoll waits for */
	int			 active;
	double			 started;
	double			 progress;	/* time of the last step change */
	const char		*out;		/* command or body being sent */
	size_t			 outlen;
	size_t			 outoff;
	size_t			 inlen;
	char			 in[LG_IN_MAX];
};

/* Settings from the command line. */
struct lg_opts {
	int			 port;
	const char		*tls;
	int			 version;
	long			 sessions;
	double			 duration;
	int			 concurrency;
	size_t			 size;
	long			 idle;
	const char		*hold;
	double			 timeout;
	const char		*user;
	const char		*password;
	bool			 no_etm;
};

/* Counters for the report. */
struct lg_totals {
	long			 started;
	long			 active;
	long			 done;
	long			 held;
	long			 messages;
	long			 fails[LG_NSTEPS][LG_NFAILS];
	double			*latency;
	size_t			 nlatency;
	size_t			 latency_cap;
	double			 t0;
	double			 last;
};

static void lg_parse(int argc, char **argv);
static void lg_setup(void);
static const enum lg_step *lg_script_for(const char *tls, const char *hold);
static char *lg_body_make(size_t size, size_t *len);
static char *lg_auth_make(const char *user, const char *password);
static void lg_run(void);
static int lg_may_start(void);
static void lg_start(struct lg_conn *c);
static void lg_event(struct lg_conn *c, unsigned events);
static void lg_connected(struct lg_conn *c);
static void lg_handshake(struct lg_conn *c);
static void lg_enter(struct lg_conn *c);
static void lg_flush(struct lg_conn *c);
static void lg_read(struct lg_conn *c);
static int lg_io(struct lg_conn *c, void *buf, size_t n, int writing);
static void lg_lines(struct lg_conn *c);
static void lg_reply(struct lg_conn *c, const char *line);
static void lg_advance(struct lg_conn *c);
static void lg_fail(struct lg_conn *c, enum lg_fail kind);
static void lg_finish(struct lg_conn *c);
static void lg_release(struct lg_conn *c);
static void lg_watch(struct lg_conn *c, unsigned events);
static void lg_timeouts(double now);
static void lg_latency_add(double seconds);
static void lg_report(void);
static int lg_cmp_double(const void *a, const void *b);

static const struct lg_step_def lg_steps[LG_NSTEPS] = {
	[LG_CONNECT] = { "connect", NULL, 0 },
	[LG_HANDSHAKE] = { "handshake", NULL, 0 },
	[LG_GREETING] = { "greeting", NULL, 220 },
	[LG_EHLO] = { "ehlo", "EHLO loadgen.bench.test\r\n", 250 },
	[LG_STARTTLS] = { "starttls", "STARTTLS\r\n", 220 },
	[LG_AUTH] = { "auth", NULL, 235 },
	[LG_MAIL] = { "mail", "MAIL FROM:<device@bench.test>\r\n", 250 },
	[LG_RCPT] = { "rcpt", "RCPT TO:<sink@bench.test>\r\n", 250 },
	[LG_DATA] = { "data", "DATA\r\n", 354 },
	[LG_BODY] = { "body", NULL, 250 },
	[LG_QUIT] = { "quit", "QUIT\r\n", 221 },
	[LG_HELD] = { "held", NULL, 0 },
	[LG_DONE] = { "done", NULL, 0 },
};

static const char *lg_fail_names[LG_NFAILS] = {
	"connect", "tls", "closed", "reply", "timeout"
};

#define LG_MAIL_STEPS	LG_AUTH, LG_MAIL, LG_RCPT, LG_DATA, LG_BODY, LG_QUIT
static const enum lg_step lg_implicit[] = { LG_CONNECT, LG_HANDSHAKE,
	LG_GREETING, LG_EHLO, LG_MAIL_STEPS, LG_DONE };
static const enum lg_step lg_starttls[] = { LG_CONNECT, LG_GREETING,
	LG_EHLO, LG_STARTTLS, LG_HANDSHAKE, LG_EHLO, LG_MAIL_STEPS, LG_DONE };
static const enum lg_step lg_plain[] = { LG_CONNECT, LG_GREETING, LG_EHLO,
	LG_MAIL_STEPS, LG_DONE };

/* The scripts --tls chooses from. */
static const struct {
	const char		*name;
	const enum lg_step	*script;
} lg_scripts[] = {
	{ "implicit", lg_implicit },
	{ "starttls", lg_starttls },
	{ "plain", lg_plain },
};

static struct lg_opts opt = {
	.tls = "implicit", .version = TLS1_VERSION, .concurrency = 8,
	.size = 1024, .timeout = 60, .hold = "login",
	.user = "device@bench.test", .password = "bench-secret",
};
static struct lg_totals tot;
static struct lg_conn *lg_conns;
static size_t lg_nconns;
static enum lg_step lg_script_buf[32];
static const enum lg_step *lg_script;
static SSL_CTX *lg_ctx;
static char *lg_body, *lg_auth;
static size_t lg_bodylen;
static int lg_epfd;
static char lg_stdin_tag;

/* Parse the command line into opt. */
static void
lg_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "tls", required_argument, NULL, 't' },
		{ "tls-version", required_argument, NULL, 'V' },
		{ "sessions", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "idle", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "password", required_argument, NULL, 'P' },
		{ "no-etm", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 }
	};
	static const int versions[] = { TLS1_VERSION, TLS1_1_VERSION,
		TLS1_2_VERSION, TLS1_3_VERSION };
	int o, v;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'p': opt.port = atoi(optarg); break;
		case 't': opt.tls = optarg; break;
		case 'V':
			v = atoi(optarg + 2);	/* "1.0" .. "1.3" */
			if (v < 0 || v > 3)
				bench_fatal("--tls-version: 1.0 to 1.3");
			opt.version = versions[v];
			break;
		case 'n': opt.sessions = atol(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 'c': opt.concurrency = atoi(optarg); break;
		case 's': opt.size = strtoul(optarg, NULL, 10); break;
		case 'i': opt.idle = atol(optarg); break;
		case 'H': opt.hold = optarg; break;
		case 'T': opt.timeout = atof(optarg); break;
		case 'u': opt.user = optarg; break;
		case 'P': opt.password = optarg; break;
		case 'E': opt.no_etm = true; break;
		default: exit(2);
		}
	}
	if (opt.port == 0 || opt.concurrency < 1)
		bench_fatal("usage: loadgen --port P [--tls implicit|starttls|"
		    "plain] [--tls-version 1.0] [--sessions N] [--duration S]"
		    " [--concurrency C] [--size BYTES] [--idle N --hold "
		    "greeting|login] [--timeout S] [--user U --password P]"
		    " [--no-etm]");
	if (opt.sessions == 0 && opt.duration == 0)
		opt.sessions = 100;
}

/* Build the TLS context, the script, the body and the AUTH line. */
static void
lg_setup(void)
{
	lg_ctx = SSL_CTX_new(TLS_client_method());
	if (lg_ctx == NULL)
		bench_fatal("SSL_CTX_new");
	SSL_CTX_set_min_proto_version(lg_ctx, opt.version);
	SSL_CTX_set_max_proto_version(lg_ctx, opt.version);
	if (opt.no_etm)
		SSL_CTX_set_options(lg_ctx, SSL_OP_NO_ENCRYPT_THEN_MAC);
	SSL_CTX_set_cipher_list(lg_ctx, "DEFAULT:@SECLEVEL=0");
	SSL_CTX_set_verify(lg_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(lg_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	lg_script = lg_script_for(opt.tls, opt.idle ? opt.hold : NULL);
	lg_body = lg_body_make(opt.size, &lg_bodylen);
	lg_auth = lg_auth_make(opt.user, opt.password);
	lg_nconns = opt.idle ? (size_t)opt.idle : (size_t)opt.concurrency;
	lg_conns = calloc(lg_nconns, sizeof(*lg_conns));
	if (lg_conns == NULL)
		bench_fatal("out of memory");
}

/*
 * The step list for a TLS mode; with hold, cut after the greeting or after
 * the login and end in LG_HELD instead.
 */
static const enum lg_step *
lg_script_for(const char *tls, const char *hold)
{
	const enum lg_step *s = NULL;
	enum lg_step cut;
	size_t i, n = 0;

	for (i = 0; i < nitems(lg_scripts); i++)
		if (strcmp(tls, lg_scripts[i].name) == 0)
			s = lg_scripts[i].script;
	if (s == NULL)
		bench_fatal("--tls: implicit, starttls or plain");
	if (hold == NULL)
		return s;
	if (strcmp(hold, "greeting") != 0 && strcmp(hold, "login") != 0)
		bench_fatal("--hold: greeting or login");
	cut = strcmp(hold, "greeting") == 0 ? LG_GREETING : LG_AUTH;
	do
		lg_script_buf[n] = s[n];
	while (s[n++] != cut);
	lg_script_buf[n] = LG_HELD;
	return lg_script_buf;
}

/* A message of size bytes (headers, then 78-character lines) and its dot. */
static char *
lg_body_make(size_t size, size_t *len)
{
	static const char head[] = "From: <device@bench.test>\r\n"
	    "To: <sink@bench.test>\r\nSubject: bench\r\n\r\n";
	char *b = malloc(size + sizeof(head) + 8);
	size_t i;

	if (b == NULL)
		bench_fatal("out of memory");
	memcpy(b, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < size; i++)
		b[i] = i % 80 == 78 ? '\r' : i % 80 == 79 ? '\n' :
		    'A' + i % 26;
	i = size < sizeof(head) - 1 ? sizeof(head) - 1 : size;
	if (b[i - 1] != '\n')
		i += sprintf(b + i, "%s", b[i - 1] == '\r' ? "\n" : "\r\n");
	*len = i + sprintf(b + i, ".\r\n");
	return b;
}

/* "AUTH PLAIN <base64(\0user\0password)>\r\n". */
static char *
lg_auth_make(const char *user, const char *password)
{
	unsigned char raw[512];
	char *line = malloc(1024);
	size_t ulen = strlen(user), plen = strlen(password);
	int n;

	if (line == NULL || ulen + plen + 2 > sizeof(raw))
		bench_fatal("--user/--password too long");
	raw[0] = '\0';
	memcpy(raw + 1, user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, password, plen);
	n = sprintf(line, "AUTH PLAIN ");
	n += EVP_EncodeBlock((unsigned char *)line + n, raw, ulen + plen + 2);
	strcpy(line + n, "\r\n");
	return line;
}

/* Whether another session may be started now. */
static int
lg_may_start(void)
{
	double now = bench_now();

	if (opt.idle)
		return tot.active - tot.held < opt.concurrency &&
		    tot.active < opt.idle;
	if (opt.sessions && tot.started >= opt.sessions)
		return 0;
	return opt.duration == 0 || now - tot.t0 < opt.duration;
}

/* Start a session in a free slot: a non-blocking connect. */
static void
lg_start(struct lg_conn *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_port = htons(opt.port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

	memset(c, 0, sizeof(*c));
	c->active = 1;
	c->events = EPOLLOUT;
	c->script = lg_script;
	c->started = c->progress = bench_now();
	tot.started++;
	tot.active++;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0 || bench_nonblock(c->fd) < 0)
		bench_fatal("socket: %s", strerror(errno));
	if (connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 &&
	    errno != EINPROGRESS) {
		lg_fail(c, LG_FAIL_CONNECT);
		return;
	}
	epoll_ctl(lg_epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Dispatch readiness of one session to its current step. */
static void
lg_event(struct lg_conn *c, unsigned events)
{
	switch (c->script[c->pos]) {
	case LG_CONNECT:
		lg_connected(c);
		break;
	case LG_HANDSHAKE:
		lg_handshake(c);
		break;
	case LG_HELD:
		if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
			lg_fail(c, LG_FAIL_CLOSED);
		break;
	default:
		if (c->outoff < c->outlen)
			lg_flush(c);
		else
			lg_read(c);
		break;
	}
}

/* The connect finished: check it and go on. */
static void
lg_connected(struct lg_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0)
		lg_fail(c, LG_FAIL_CONNECT);
	else
		lg_advance(c);
}

/* Advance the client TLS handshake. */
static void
lg_handshake(struct lg_conn *c)
{
	int ret = SSL_do_handshake(c->ssl);

	if (ret == 1) {
		lg_advance(c);
		return;
	}
	if (bench_ssl_status(c->ssl, ret) != BENCH_IO_AGAIN)
		lg_fail(c, LG_FAIL_TLS);
	else
		lg_watch(c, SSL_want_write(c->ssl) ? EPOLLOUT : EPOLLIN);
}

/* Begin the current step: start TLS, send its command or hold. */
static void
lg_enter(struct lg_conn *c)
{
	enum lg_step step = c->script[c->pos];

	c->progress = bench_now();
	c->out = lg_steps[step].command;
	c->outlen = c->out ? strlen(c->out) : 0;
	c->outoff = 0;
	if (step == LG_AUTH)
		c->outlen = strlen(c->out = lg_auth);
	if (step == LG_BODY) {
		c->out = lg_body;
		c->outlen = lg_bodylen;
	}
	switch (step) {
	case LG_HANDSHAKE:
		if ((c->ssl = SSL_new(lg_ctx)) == NULL)
			bench_fatal("SSL_new");
		SSL_set_fd(c->ssl, c->fd);
		SSL_set_connect_state(c->ssl);
		lg_handshake(c);
		break;
	case LG_HELD:
		tot.held++;
		lg_watch(c, EPOLLRDHUP);
		break;
	case LG_DONE:
		lg_finish(c);
		break;
	default:
		lg_flush(c);
		break;
	}
}

/* Send what is left of the step's command or body. */
static void
lg_flush(struct lg_conn *c)
{
	int n;

	while (c->outoff < c->outlen) {
		n = lg_io(c, (char *)c->out + c->outoff,
		    c->outlen - c->outoff, 1);
		if (n == 0) {
			lg_watch(c, EPOLLOUT);
			return;
		}
		if (n < 0)
			return;
		c->outoff += n;
	}
	lg_watch(c, EPOLLIN);
}

/* Read what has arrived and act on complete reply lines. */
static void
lg_read(struct lg_conn *c)
{
	int n;

	while (c->active && lg_steps[c->script[c->pos]].expect != 0) {
		if (c->inlen == sizeof(c->in)) {
			lg_fail(c, LG_FAIL_REPLY);
			return;
		}
		n = lg_io(c, c->in + c->inlen, sizeof(c->in) - c->inlen, 0);
		if (n <= 0)
			return;
		c->inlen += n;
		lg_lines(c);
	}
}

/*
 * Read or write on TLS or plaintext: >0 bytes, 0 to wait for the socket,
 * -1 after failing the session.
 */
static int
lg_io(struct lg_conn *c, void *buf, size_t n, int writing)
{
	ssize_t r;

	if (c->ssl == NULL) {
		r = writing ? write(c->fd, buf, n) : read(c->fd, buf, n);
		if (r > 0 || (r < 0 && errno == EAGAIN))
			return r > 0 ? r : 0;
		lg_fail(c, LG_FAIL_CLOSED);
		return -1;
	}
	r = writing ? SSL_write(c->ssl, buf, n) : SSL_read(c->ssl, buf, n);
	if (r > 0)
		return r;
	switch (bench_ssl_status(c->ssl, r)) {
	case BENCH_IO_AGAIN:
		return 0;
	case BENCH_IO_CLOSED:
		lg_fail(c, LG_FAIL_CLOSED);
		return -1;
	default:
		lg_fail(c, LG_FAIL_TLS);
		return -1;
	}
}

/* Split the input into lines and hand each final reply line on. */
static void
lg_lines(struct lg_conn *c)
{
	char line[LG_IN_MAX], *lf;
	size_t used;

	while (c->active && (lf = memchr(c->in, '\n', c->inlen)) != NULL) {
		used = lf - c->in + 1;
		memcpy(line, c->in, used - 1);
		line[used - 1] = '\0';
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		if (bench_reply_final(line, used - 1))
			lg_reply(c, line);
	}
}

/* A complete reply: the step's code moves on, anything else is an error. */
static void
lg_reply(struct lg_conn *c, const char *line)
{
	enum lg_step step = c->script[c->pos];

	if (c->outoff < c->outlen || atoi(line) != lg_steps[step].expect) {
		lg_fail(c, LG_FAIL_REPLY);
		return;
	}
	if (step == LG_BODY)
		tot.messages++;
	lg_advance(c);
}

/* Go to the next step of the script. */
static void
lg_advance(struct lg_conn *c)
{
	c->pos++;
	lg_enter(c);
}

/* Count a failure at the current step and free the slot. */
static void
lg_fail(struct lg_conn *c, enum lg_fail kind)
{
	tot.fails[c->script[c->pos]][kind]++;
	if (c->script[c->pos] == LG_HELD)
		tot.held--;
	lg_release(c);
}

/* A session ended with 221: record its latency and free the slot. */
static void
lg_finish(struct lg_conn *c)
{
	double now = bench_now();

	tot.done++;
	tot.last = now;
	lg_latency_add(now - c->started);
	lg_release(c);
}

/* Free a slot's connection. */
static void
lg_release(struct lg_conn *c)
{
	c->active = 0;
	tot.active--;
	SSL_free(c->ssl);
	c->ssl = NULL;
	close(c->fd);
}

/* Wait for the given readiness (EPOLLIN, EPOLLOUT or EPOLLRDHUP). */
static void
lg_watch(struct lg_conn *c, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (c->events == events)
		return;
	c->events = events;
	epoll_ctl(lg_epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Fail sessions that made no progress for --timeout seconds. */
static void
lg_timeouts(double now)
{
	size_t i;

	for (i = 0; i < lg_nconns; i++)
		if (lg_conns[i].active && lg_conns[i].script[lg_conns[i].pos] !=
		    LG_HELD && now - lg_conns[i].progress > opt.timeout)
			lg_fail(&lg_conns[i], LG_FAIL_TIMEOUT);
}

/* Keep one session's latency. */
static void
lg_latency_add(double seconds)
{
	if (tot.nlatency == tot.latency_cap) {
		tot.latency_cap = tot.latency_cap ? 2 * tot.latency_cap : 4096;
		tot.latency = realloc(tot.latency,
		    tot.latency_cap * sizeof(double));
		if (tot.latency == NULL)
			bench_fatal("out of memory");
	}
	tot.latency[tot.nlatency++] = seconds;
}

/* Order doubles for qsort. */
static int
lg_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Print the key=value result line. */
static void
lg_report(void)
{
	double secs = tot.last > tot.t0 ? tot.last - tot.t0 : 1e-9;
	double p50 = 0, p99 = 0;
	long errors = 0;
	int s, k;

	if (tot.nlatency > 0) {
		qsort(tot.latency, tot.nlatency, sizeof(double),
		    lg_cmp_double);
		p50 = tot.latency[tot.nlatency / 2];
		p99 = tot.latency[(tot.nlatency * 99) / 100];
	}
	for (s = 0; s < LG_NSTEPS; s++)
		for (k = 0; k < LG_NFAILS; k++)
			errors += tot.fails[s][k];
	printf("tls=%s size=%zu concurrency=%d sessions=%ld messages=%ld "
	    "errors=%ld seconds=%.3f sessions_per_s=%.1f p50_ms=%.2f "
	    "p99_ms=%.2f payload_bytes=%.0f mb_per_s=%.2f", opt.tls, opt.size,
	    opt.concurrency, tot.done, tot.messages, errors, secs,
	    tot.done / secs, p50 * 1e3, p99 * 1e3, (double)tot.messages *
	    opt.size, tot.messages * (double)opt.size / secs / 1e6);
	for (s = 0; s < LG_NSTEPS; s++)
		for (k = 0; k < LG_NFAILS; k++)
			if (tot.fails[s][k])
				printf(" err_%s_%s=%ld", lg_steps[s].name,
				    lg_fail_names[k], tot.fails[s][k]);
	printf("\n");
	fflush(stdout);
}

/* The event loop: keep slots busy until the run ends. */
static void
lg_run(void)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &lg_stdin_tag };
	struct epoll_event evs[256];
	double checked = bench_now();
	size_t i, active;
	int n, j, announced = 0;

	lg_epfd = epoll_create1(0);
	if (opt.idle)
		epoll_ctl(lg_epfd, EPOLL_CTL_ADD, 0, &ev);
	tot.t0 = bench_now();
	for (;;) {
		for (i = 0, active = 0; i < lg_nconns; i++) {
			if (!lg_conns[i].active && lg_may_start())
				lg_start(&lg_conns[i]);
			active += lg_conns[i].active;
		}
		if (active == 0 && !opt.idle)
			return;
		if (opt.idle && !announced && tot.held == opt.idle) {
			printf("held=%ld hold=%s started=%ld\n", tot.held,
			    opt.hold, tot.started);
			fflush(stdout);
			announced = 1;
		}
		n = epoll_wait(lg_epfd, evs, nitems(evs), 100);
		for (j = 0; j < n; j++) {
			if (evs[j].data.ptr == &lg_stdin_tag)
				return;
			lg_event(evs[j].data.ptr, evs[j].events);
		}
		if (bench_now() - checked > LG_CHECK_EVERY)
			lg_timeouts(checked = bench_now());
	}
}

/* Parse options, run the sessions, report. */
int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	lg_parse(argc, argv);
	lg_setup();
	lg_run();
	lg_report();
	return 0;
}
