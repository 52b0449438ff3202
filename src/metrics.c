/* Prometheus metrics: labelled counters kept for the life of the process,
 * gauges read from the current config and the process at scrape time,
 * and a small evhttp listener for /metrics and /health. */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>

#include "credentials.h"
#include "log.h"
#include "metrics.h"
#include "session_env.h"
#include "util.h"

#define METRICS_LABELS_MAX	160	/* one sample's label text */
#define METRICS_CODE_MAX	8	/* an upstream status word */
#define HTTP_MAX_HEADERS	8192	/* bytes of request line and headers */
#define HTTP_MAX_BODY		1024	/* bytes; GET has none */
#define HTTP_TIMEOUT		10	/* seconds to read a request, idle */
#define HTTP_MAX_CONNECTIONS	16	/* open at once; more wait in backlog */
#define SECONDS_PER_DAY		86400

/* The metric families, in the order of the page. */
enum family_id {
	FAM_BUILD_INFO,
	FAM_SESSIONS,
	FAM_SESSIONS_ACTIVE,
	FAM_REFUSALS,
	FAM_LAN_TLS,
	FAM_MESSAGES,
	FAM_BYTES,
	FAM_UPSTREAM_FAILURES,
	FAM_UPSTREAM_AUTH_FAILURES,
	FAM_TOKEN_REQUESTS,
	FAM_DEVICE_SUNSET,
	FAM_DEVICE_LAST_SEEN,
	FAM_CREDENTIAL_EXPIRY,
	FAM_RELOADS,
	FAM_HEALTH_CHECKS,
	FAM_PROCESS,
	FAM_COUNT
};

/* One metric family: name, type, help, and how its samples are made
 * (NULL: the stored samples). */
struct family {
	const char	*name;
	const char	*type;
	const char	*help;
	void		 (*render)(struct evbuffer *out, const struct family *f,
			    const struct session_env *env);
};

/* One stored sample: a family and its label text ("a=\"x\",b=\"y\""). */
struct sample {
	enum family_id	 fam;
	char		 labels[METRICS_LABELS_MAX];
	double		 value;
};

/* The HTTP side. */
struct metrics_web {
	struct session_env	*env;
	struct evhttp		*http;
	struct evhttp_bound_socket *sock;
	char			*address;
	uint16_t		 port;
	struct bufferevent	*conns[HTTP_MAX_CONNECTIONS]; /* held refs */
	size_t			 nconns;
	struct event		*sweep;	/* while accepting is paused */
};

/* One path the listener serves. */
struct web_route {
	const char	*path;
	void		 (*serve)(struct evhttp_request *req,
			    struct metrics_web *web);
};

static void	render_build_info(struct evbuffer *out, const struct family *f,
		    const struct session_env *env);
static void	render_active(struct evbuffer *out, const struct family *f,
		    const struct session_env *env);
static void	render_sunsets(struct evbuffer *out, const struct family *f,
		    const struct session_env *env);
static void	render_credentials(struct evbuffer *out,
		    const struct family *f, const struct session_env *env);
static void	render_process(struct evbuffer *out, const struct family *f,
		    const struct session_env *env);
static void	render_stored(struct evbuffer *out, enum family_id id);
static void	metrics_add(enum family_id fam, double n, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static struct sample *metrics_sample(enum family_id fam, const char *labels);
static void	metrics_header(struct evbuffer *out, const struct family *f);
static unsigned	metrics_open_fds(void);
static void	metrics_memory(double *rss, double *vsize);
static void	serve_metrics(struct evhttp_request *req,
		    struct metrics_web *web);
static void	serve_health(struct evhttp_request *req,
		    struct metrics_web *web);
static void	metrics_reply(struct evhttp_request *req, int code,
		    const char *reason, const char *type, struct evbuffer *body);
static void	metrics_requestcb(struct evhttp_request *req, void *arg);
static struct bufferevent *metrics_bevcb(struct event_base *base,
		    void *arg);
static void	metrics_sweep(struct metrics_web *w);
static bool	metrics_conn_ended(struct bufferevent *bev);
static void	metrics_sweepcb(evutil_socket_t fd, short what, void *arg);
static struct metrics_web *metrics_web_open(struct session_env *env,
		    const struct metrics_conf *mc);

static const struct family families[FAM_COUNT] = {
	[FAM_BUILD_INFO] = { "tlsrelayd_build_info", "gauge",
	    "The version of tlsrelayd running, as a label.",
	    render_build_info },
	[FAM_SESSIONS] = { "tlsrelayd_sessions_total", "counter",
	    "Sessions ended, by protocol and result (the log's result=).",
	    NULL },
	[FAM_SESSIONS_ACTIVE] = { "tlsrelayd_sessions_active", "gauge",
	    "Sessions open now, by protocol.", render_active },
	[FAM_REFUSALS] = { "tlsrelayd_refusals_total", "counter",
	    "Connections refused before a session began, by reason.", NULL },
	[FAM_LAN_TLS] = { "tlsrelayd_lan_tls_handshakes_total", "counter",
	    "LAN TLS handshakes, by negotiated version (or failed).", NULL },
	[FAM_MESSAGES] = { "tlsrelayd_messages_total", "counter",
	    "SMTP messages, by the upstream's answer to their end.", NULL },
	[FAM_BYTES] = { "tlsrelayd_bytes_total", "counter",
	    "Bytes from (in) and to (out) devices, by protocol.", NULL },
	[FAM_UPSTREAM_FAILURES] = { "tlsrelayd_upstream_failures_total",
	    "counter", "Sessions ended by an upstream failure, by kind.",
	    NULL },
	[FAM_UPSTREAM_AUTH_FAILURES] = {
	    "tlsrelayd_upstream_auth_failures_total", "counter",
	    "Logins the upstream refused, by device auth mode and status.",
	    NULL },
	[FAM_TOKEN_REQUESTS] = { "tlsrelayd_token_requests_total", "counter",
	    "OAuth2 token requests, by result.", NULL },
	[FAM_DEVICE_SUNSET] = { "tlsrelayd_device_sunset_timestamp_seconds",
	    "gauge", "Start (00:00 UTC) of each device's sunset day.",
	    render_sunsets },
	[FAM_DEVICE_LAST_SEEN] = {
	    "tlsrelayd_device_last_seen_timestamp_seconds", "gauge",
	    "When each device last started a session, by protocol.", NULL },
	[FAM_CREDENTIAL_EXPIRY] = {
	    "tlsrelayd_credential_expiry_timestamp_seconds", "gauge",
	    "Start (00:00 UTC) of each credential's expiry day.",
	    render_credentials },
	[FAM_RELOADS] = { "tlsrelayd_config_reloads_total", "counter",
	    "Configuration reloads, by result.", NULL },
	[FAM_HEALTH_CHECKS] = { "tlsrelayd_proxy_health_checks_total",
	    "counter", "PROXY v2 LOCAL connections (balancer health checks).",
	    NULL },
	[FAM_PROCESS] = { "process", NULL, NULL, render_process },
};

/* The session results (the log's result= names) that count as upstream
 * failures, and the kind each counts as. */
static const struct {
	const char	*result;
	const char	*kind;
} upstream_failure_kinds[] = {
	{ "upstream_unreachable", "unreachable" },
	{ "upstream_tls_failed", "tls" },
	{ "upstream_error", "error" },
};

static const struct web_route routes[] = {
	{ "/metrics", serve_metrics },
	{ "/health", serve_health },
};

static struct sample *samples;
static size_t nsamples;
static unsigned active[PROTO_COUNT];	/* sessions open now */
static time_t started;
static struct metrics_web *web;

/* Add n to the stored sample of fam with the formatted labels. */
static void
metrics_add(enum family_id fam, double n, const char *fmt, ...)
{
	char labels[METRICS_LABELS_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(labels, sizeof(labels), fmt, ap);
	va_end(ap);
	metrics_sample(fam, labels)->value += n;
}

/* The stored sample of fam with these labels, created at zero. */
static struct sample *
metrics_sample(enum family_id fam, const char *labels)
{
	size_t i;

	for (i = 0; i < nsamples; i++)
		if (samples[i].fam == fam &&
		    strcmp(samples[i].labels, labels) == 0)
			return &samples[i];
	samples = xreallocarray(samples, nsamples + 1, sizeof(*samples));
	samples[nsamples].fam = fam;
	snprintf(samples[nsamples].labels, METRICS_LABELS_MAX, "%s", labels);
	samples[nsamples].value = 0;
	return &samples[nsamples++];
}

/* A session began. */
void
metrics_count_session_start(enum proto proto)
{
	active[proto]++;
}

/* A session ended: its result, its bytes, an upstream failure. */
void
metrics_count_session(enum proto p, const char *result, uint64_t bytes_in,
    uint64_t bytes_out)
{
	const char *proto = proto_name(p);
	size_t i;

	active[p]--;
	metrics_add(FAM_SESSIONS, 1, "protocol=\"%s\",result=\"%s\"", proto,
	    result);
	metrics_add(FAM_BYTES, (double)bytes_in,
	    "protocol=\"%s\",direction=\"in\"", proto);
	metrics_add(FAM_BYTES, (double)bytes_out,
	    "protocol=\"%s\",direction=\"out\"", proto);
	for (i = 0; i < nitems(upstream_failure_kinds); i++)
		if (strcmp(result, upstream_failure_kinds[i].result) == 0)
			metrics_add(FAM_UPSTREAM_FAILURES, 1,
			    "protocol=\"%s\",kind=\"%s\"", proto,
			    upstream_failure_kinds[i].kind);
}

/* A connection refused before its session began. */
void
metrics_count_refusal(enum proto proto, const char *reason)
{
	metrics_add(FAM_REFUSALS, 1, "protocol=\"%s\",reason=\"%s\"",
	    proto_name(proto), reason);
}

/* A LAN TLS handshake. */
void
metrics_count_lan_tls(const char *version)
{
	metrics_add(FAM_LAN_TLS, 1, "version=\"%s\"", version);
}

/* A message's end of DATA. */
void
metrics_count_message(bool accepted)
{
	metrics_add(FAM_MESSAGES, 1, "result=\"%s\"",
	    accepted ? "accepted" : "rejected");
}

/* The upstream refused the session's login: count its status word (for
 * IMAP the word after the tag), letters, digits and '-' only. */
void
metrics_count_upstream_auth_failure(enum proto proto, enum auth_mode mode,
    const char *reply)
{
	char code[METRICS_CODE_MAX];
	size_t n = 0;

	if (proto == PROTO_IMAP && strchr(reply, ' ') != NULL)
		reply = strchr(reply, ' ') + 1;
	while (n + 1 < sizeof(code) && (isalnum((unsigned char)reply[n]) ||
	    reply[n] == '-')) {
		code[n] = reply[n];
		n++;
	}
	code[n] = '\0';
	metrics_add(FAM_UPSTREAM_AUTH_FAILURES, 1, "mode=\"%s\",code=\"%s\"",
	    auth_mode_name(mode), n > 0 ? code : "none");
}

/* A token request ended. */
void
metrics_count_token_request(bool ok)
{
	metrics_add(FAM_TOKEN_REQUESTS, 1, "result=\"%s\"",
	    ok ? "ok" : "failed");
}

/* A reload ended. */
void
metrics_count_reload(bool ok)
{
	metrics_add(FAM_RELOADS, 1, "result=\"%s\"", ok ? "ok" : "failed");
}

/* A balancer's health check. */
void
metrics_count_health_check(void)
{
	metrics_add(FAM_HEALTH_CHECKS, 1, "%s", "");
}

/* A device started a session of proto now. */
void
metrics_note_device_seen(const char *device, enum proto proto)
{
	char labels[METRICS_LABELS_MAX];

	snprintf(labels, sizeof(labels), "device=\"%s\",protocol=\"%s\"",
	    device, proto_name(proto));
	metrics_sample(FAM_DEVICE_LAST_SEEN, labels)->value =
	    (double)time(NULL);
}

/* The HELP and TYPE lines of a family. */
static void
metrics_header(struct evbuffer *out, const struct family *f)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name,
	    f->help, f->name, f->type);
}

/* The stored samples of a family. */
static void
render_stored(struct evbuffer *out, enum family_id id)
{
	size_t i;

	metrics_header(out, &families[id]);
	for (i = 0; i < nsamples; i++) {
		if (samples[i].fam != id)
			continue;
		evbuffer_add_printf(out, samples[i].labels[0] != '\0' ?
		    "%s{%s} %.17g\n" : "%s%s %.17g\n", families[id].name,
		    samples[i].labels, samples[i].value);
	}
}

/* tlsrelayd_build_info{version} 1. */
static void
render_build_info(struct evbuffer *out, const struct family *f,
    const struct session_env *env)
{
	(void)env;
	metrics_header(out, f);
	evbuffer_add_printf(out, "%s{version=\"%s\"} 1\n", f->name,
	    PACKAGE_VERSION);
}

/* Sessions open now, by protocol. */
static void
render_active(struct evbuffer *out, const struct family *f,
    const struct session_env *env)
{
	int p;

	(void)env;
	metrics_header(out, f);
	for (p = 0; p < PROTO_COUNT; p++)
		evbuffer_add_printf(out, "%s{protocol=\"%s\"} %u\n", f->name,
		    proto_name((enum proto)p), active[p]);
}

/* Each device's sunset day, from the current config. */
static void
render_sunsets(struct evbuffer *out, const struct family *f,
    const struct session_env *env)
{
	size_t i;

	metrics_header(out, f);
	for (i = 0; i < env->cfg->ndevices; i++)
		evbuffer_add_printf(out, "%s{device=\"%s\"} %lld\n", f->name,
		    env->cfg->devices[i].name,
		    (long long)env->cfg->devices[i].sunset * SECONDS_PER_DAY);
}

/* Each credential's expiry day, from the current config. */
static void
render_credentials(struct evbuffer *out, const struct family *f,
    const struct session_env *env)
{
	struct credentials creds;
	size_t i;

	credentials_collect(env->cfg, &creds);
	metrics_header(out, f);
	for (i = 0; i < creds.n; i++)
		evbuffer_add_printf(out, "%s{credential=\"%s\"} %lld\n",
		    f->name, creds.list[i].name,
		    (long long)creds.list[i].expires * SECONDS_PER_DAY);
}

/* The process_* metrics of the Prometheus client libraries. */
static void
render_process(struct evbuffer *out, const struct family *f,
    const struct session_env *env)
{
	struct rusage ru;
	struct rlimit rl;
	double rss = 0, vsize = 0;

	(void)f; (void)env;
	getrusage(RUSAGE_SELF, &ru);
	getrlimit(RLIMIT_NOFILE, &rl);
	metrics_memory(&rss, &vsize);
	evbuffer_add_printf(out,
	    "# HELP process_cpu_seconds_total User and system CPU time.\n"
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total %.6f\n"
	    "# HELP process_open_fds Open file descriptors.\n"
	    "# TYPE process_open_fds gauge\nprocess_open_fds %u\n"
	    "# HELP process_max_fds The limit of open file descriptors.\n"
	    "# TYPE process_max_fds gauge\nprocess_max_fds %llu\n"
	    "# HELP process_resident_memory_bytes Resident memory.\n"
	    "# TYPE process_resident_memory_bytes gauge\n"
	    "process_resident_memory_bytes %.0f\n"
	    "# HELP process_virtual_memory_bytes Virtual memory.\n"
	    "# TYPE process_virtual_memory_bytes gauge\n"
	    "process_virtual_memory_bytes %.0f\n"
	    "# HELP process_start_time_seconds Start time (Unix time).\n"
	    "# TYPE process_start_time_seconds gauge\n"
	    "process_start_time_seconds %lld\n",
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
	    metrics_open_fds(), (unsigned long long)rl.rlim_cur, rss, vsize,
	    (long long)started);
}

/* The number of open descriptors (entries of /proc/self/fd, less the
 * one reading it). */
static unsigned
metrics_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	const struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* Resident and virtual memory in bytes, from /proc/self/statm. */
static void
metrics_memory(double *rss, double *vsize)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	unsigned long pages, resident;
	long page = sysconf(_SC_PAGESIZE);

	if (fp == NULL)
		return;
	if (fscanf(fp, "%lu %lu", &pages, &resident) == 2) {
		*vsize = (double)pages * (double)page;
		*rss = (double)resident * (double)page;
	}
	fclose(fp);
}

/* GET /metrics: every family in the text format 0.0.4. */
static void
serve_metrics(struct evhttp_request *req, struct metrics_web *w)
{
	struct evbuffer *body = evbuffer_new();
	size_t i;

	for (i = 0; i < FAM_COUNT; i++) {
		if (families[i].render != NULL)
			families[i].render(body, &families[i], w->env);
		else
			render_stored(body, (enum family_id)i);
	}
	metrics_reply(req, HTTP_OK, "OK",
	    "text/plain; version=0.0.4; charset=utf-8", body);
}

/* GET /health: 200 while serving, 503 while draining or with no
 * listener open. */
static void
serve_health(struct evhttp_request *req, struct metrics_web *w)
{
	struct evbuffer *body = evbuffer_new();
	bool serving = !w->env->draining && w->env->listeners != NULL;

	evbuffer_add_printf(body, "%s\n", serving ? "serving" :
	    w->env->draining ? "draining" : "not serving");
	metrics_reply(req, serving ? HTTP_OK : HTTP_SERVUNAVAIL, serving ?
	    "OK" : "Service Unavailable", "text/plain; charset=utf-8", body);
}

/* Send a reply with its content type, and free body. */
static void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
}

/* One request: a known path with GET, else 404 or 405. */
static void
metrics_requestcb(struct evhttp_request *req, void *arg)
{
	struct metrics_web *w = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(
	    req));
	size_t i;

	for (i = 0; i < nitems(routes); i++) {
		if (path == NULL || strcmp(path, routes[i].path) != 0)
			continue;
		if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
			routes[i].serve(req, w);
			return;
		}
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET");
		evhttp_send_error(req, 405, "Method Not Allowed");
		return;
	}
	evhttp_send_error(req, HTTP_NOTFOUND, NULL);
}

/*
 * A new connection: make its bufferevent and keep a reference to it, so
 * that the number of open connections is known. At HTTP_MAX_CONNECTIONS
 * the listener stops accepting until one ends.
 */
static struct bufferevent *
metrics_bevcb(struct event_base *base, void *arg)
{
	struct metrics_web *w = arg;
	struct bufferevent *bev;
	struct timeval tv = { 1, 0 };

	metrics_sweep(w);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_incref(bev);
	w->conns[w->nconns++] = bev;
	if (w->nconns == HTTP_MAX_CONNECTIONS) {
		evconnlistener_disable(evhttp_bound_socket_get_listener(
		    w->sock));
		evtimer_add(w->sweep, &tv);
	}
	return bev;
}

/* Drop the references to connections that ended; accept again below the
 * cap. */
static void
metrics_sweep(struct metrics_web *w)
{
	size_t i = 0;

	while (i < w->nconns) {
		if (!metrics_conn_ended(w->conns[i])) {
			i++;
			continue;
		}
		bufferevent_decref(w->conns[i]);
		w->conns[i] = w->conns[--w->nconns];
	}
	if (w->nconns < HTTP_MAX_CONNECTIONS)
		evconnlistener_enable(evhttp_bound_socket_get_listener(
		    w->sock));
}

/* Has evhttp let go of the connection? It sets the descriptor to -1 when
 * it closes the socket itself, and clears the callbacks when it frees the
 * bufferevent (the socket then closes with our last reference). */
static bool
metrics_conn_ended(struct bufferevent *bev)
{
	bufferevent_data_cb readcb, writecb;
	bufferevent_event_cb eventcb;

	if (bufferevent_getfd(bev) == -1)
		return true;
	bufferevent_getcb(bev, &readcb, &writecb, &eventcb, NULL);
	return readcb == NULL && writecb == NULL && eventcb == NULL;
}

/* Accepting is paused: look again each second for connections that
 * ended. */
static void
metrics_sweepcb(evutil_socket_t fd, short what, void *arg)
{
	struct metrics_web *w = arg;
	struct timeval tv = { 1, 0 };

	(void)fd; (void)what;
	metrics_sweep(w);
	if (w->nconns == HTTP_MAX_CONNECTIONS)
		evtimer_add(w->sweep, &tv);
}

/* Bind the HTTP listener with its bounds; NULL (logged) on failure. */
static struct metrics_web *
metrics_web_open(struct session_env *env, const struct metrics_conf *mc)
{
	struct metrics_web *w = xcalloc(1, sizeof(*w));

	w->env = env;
	w->http = evhttp_new(env->base);
	w->sock = evhttp_bind_socket_with_handle(w->http, mc->address,
	    mc->port);
	if (w->sock == NULL) {
		log_warnx("metrics: cannot listen on %s port %u", mc->address,
		    mc->port);
		evhttp_free(w->http);
		free(w);
		return NULL;
	}
	w->address = xstrdup(mc->address);
	w->port = mc->port;
	evhttp_set_max_headers_size(w->http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(w->http, HTTP_MAX_BODY);
	evhttp_set_timeout(w->http, HTTP_TIMEOUT);
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(w->http, metrics_bevcb, w);
	evhttp_set_gencb(w->http, metrics_requestcb, w);
	w->sweep = evtimer_new(env->base, metrics_sweepcb, w);
	log_info("metrics: /metrics and /health on %s port %u", mc->address,
	    mc->port);
	return w;
}

/* Open, keep or close the HTTP listener as cfg->metrics says. */
bool
metrics_apply(struct session_env *env, const struct config *cfg)
{
	const struct metrics_conf *mc = &cfg->metrics;
	struct metrics_web *w;

	if (started == 0)
		started = time(NULL);
	if (web != NULL && mc->configured && web->port == mc->port &&
	    strcmp(web->address, mc->address) == 0)
		return true;
	if (!mc->configured) {
		metrics_close();
		return true;
	}
	if ((w = metrics_web_open(env, mc)) == NULL)
		return false;
	metrics_close();
	web = w;
	return true;
}

/* Close the HTTP listener. */
void
metrics_close(void)
{
	struct metrics_web *w = web;

	if (w == NULL)
		return;
	web = NULL;
	evhttp_free(w->http);
	while (w->nconns > 0)
		bufferevent_decref(w->conns[--w->nconns]);
	event_free(w->sweep);
	free(w->address);
	free(w);
}
