/* OAuth2 client credentials: app-only tokens for SASL XOAUTH2 upstream,
 * cached per token URL, client and scope, with one request in flight. */
#include <sys/queue.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "explain.h"
#include "log.h"
#include "oauth.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#define OAUTH_BACKOFF_FIRST	5	/* seconds after a first failure */
#define OAUTH_BACKOFF_MAX	300	/* seconds, doubling up to this */
#define OAUTH_ERROR_MAX		256	/* log-safe error text */
#define OAUTH_ANSWER_MAX	(64 * 1024)	/* bytes of an answer body */
#define OAUTH_HTTPS_PORT	443
#define OAUTH_FORM_TYPE		"application/x-www-form-urlencoded"

/* Whether a cache has a request to the token endpoint in flight. */
enum oauth_state {
	OAUTH_IDLE,
	OAUTH_FETCHING,
};

/* A session's wait for a token, answered from the loop through ev. */
struct oauth_request {
	TAILQ_ENTRY(oauth_request) entry;
	struct oauth_cache	*cache;
	struct event		*ev;
	oauth_cb		 cb;
	void			*arg;
	bool			 waiting;	/* for the fetch in flight */
	char			*token;		/* the answer; NULL: error */
	char			 error[OAUTH_ERROR_MAX];
};

TAILQ_HEAD(oauth_request_list, oauth_request);

/* One HTTPS request to the token endpoint. */
struct oauth_fetch {
	struct oauth_cache		*cache;
	struct evhttp_connection	*conn;
	SSL				*ssl;		/* owned by conn */
	struct event			*timer;		/* overall deadline */
	struct event			*finish;	/* after libevent's cb */
	char				*endpoint;	/* host:port, for errors */
	int				 http_error;	/* evhttp's, or -1 */
	int				 sys_error;	/* errno of the socket */
	struct oauth_answer		 answer;
};

/* The token of one app registration: token URL, client and scope. */
struct oauth_cache {
	struct oauth_cache	*next;
	struct server		*srv;
	char			*token_url;
	char			*client_id;
	char			*scope;
	char			*token;		/* NULL: none cached */
	time_t			 expires_at;
	enum oauth_state	 state;
	struct oauth_fetch	*fetch;		/* while fetching */
	struct oauth_request_list requests;	/* waiting or answered */
	time_t			 retry_at;	/* no fetch before, on failure */
	unsigned		 backoff;	/* seconds; 0 after a success */
	char			 last_error[OAUTH_ERROR_MAX];
	unsigned long		 sent;		/* requests sent, for logs */
};

static const char *const http_errors[] = {
	[EVREQ_HTTP_TIMEOUT] = "timed out",
	[EVREQ_HTTP_EOF] = "connection closed",
	[EVREQ_HTTP_INVALID_HEADER] = "invalid HTTP answer",
	[EVREQ_HTTP_BUFFER_ERROR] = "connection failed",
	[EVREQ_HTTP_REQUEST_CANCEL] = "request cancelled",
	[EVREQ_HTTP_DATA_TOO_LONG] = "answer too long",
};

static struct oauth_cache *oauth_cache_lookup(struct server *srv,
		    const struct oauth_conf *oc, bool create);
static void	 oauth_cache_free(struct oauth_cache *c);
static void	 oauth_cache_drop_token(struct oauth_cache *c);
static void	 oauth_cache_settle(struct oauth_cache *c,
		    struct oauth_answer *ans);
static void	 oauth_cache_log(const struct oauth_cache *c,
		    const struct oauth_answer *ans, bool ok);
static void	 oauth_request_answer(struct oauth_request *req,
		    const char *token, const char *error);
static void	 oauth_request_free(struct oauth_request *req);
static void	 oauth_request_cb(evutil_socket_t fd, short what, void *arg);
static void	 oauth_fetch_start(struct oauth_cache *c,
		    const struct config *cfg);
static struct oauth_fetch *oauth_fetch_new(struct oauth_cache *c,
		    const struct config *cfg, const struct evhttp_uri *uri);
static bool	 oauth_fetch_connect(struct oauth_fetch *f,
		    const struct config *cfg, const struct evhttp_uri *uri);
static bool	 oauth_fetch_send(struct oauth_fetch *f,
		    const struct evhttp_uri *uri, const char *body);
static char	*oauth_request_body(const struct config *cfg);
static SSL	*oauth_ssl_new(SSL_CTX *ctx, const char *host);
static void	 oauth_ssl_infocb(const SSL *ssl, int where, int ret);
static void	 oauth_fetch_errorcb(enum evhttp_request_error err,
		    void *arg);
static void	 oauth_fetch_donecb(struct evhttp_request *req, void *arg);
static void	 oauth_fetch_failure(struct oauth_fetch *f);
static void	 oauth_fetch_timeoutcb(evutil_socket_t fd, short what,
		    void *arg);
static void	 oauth_fetch_finishcb(evutil_socket_t fd, short what,
		    void *arg);
static void	 oauth_fetch_finish(struct oauth_fetch *f);
static void	 oauth_fetch_free(struct oauth_fetch *f);

/* Get a token: from the cache while fresh, else from the token endpoint
 * (one request in flight, backoff after failures); cb runs later. */
struct oauth_request *
oauth_token_get(struct server *srv, const struct config *cfg, oauth_cb cb,
    void *arg)
{
	struct oauth_cache *c;
	struct oauth_request *req;
	time_t now = time(NULL);

	if (!cfg->oauth2.configured || cfg->oauth_ctx == NULL)
		fatalx("oauth_token_get: no oauth2 configuration loaded");
	c = oauth_cache_lookup(srv, &cfg->oauth2, true);
	req = xcalloc(1, sizeof(*req));
	req->cache = c;
	req->cb = cb;
	req->arg = arg;
	req->ev = evtimer_new(srv->base, oauth_request_cb, req);
	TAILQ_INSERT_TAIL(&c->requests, req, entry);
	if (c->token != NULL && oauth_token_fresh(c->expires_at, now))
		oauth_request_answer(req, c->token, NULL);
	else if (c->state == OAUTH_IDLE && now < c->retry_at)
		oauth_request_answer(req, NULL, c->last_error);
	else {
		req->waiting = true;
		if (c->state == OAUTH_IDLE)
			oauth_fetch_start(c, cfg);
	}
	return req;
}

/* Forget a request whose session is closing; its cb will not run. */
void
oauth_request_cancel(struct oauth_request *req)
{
	if (req != NULL)
		oauth_request_free(req);
}

/* The upstream refused this token: drop it so the next get fetches. */
void
oauth_token_reject(struct server *srv, const struct config *cfg,
    const char *token)
{
	struct oauth_cache *c;
	struct log_field f[] = {
		{ "event", "token_rejected" }, { "token_url", NULL },
		{ "client_id", NULL },
	};

	if (!cfg->oauth2.configured ||
	    (c = oauth_cache_lookup(srv, &cfg->oauth2, false)) == NULL ||
	    c->token == NULL || strcmp(c->token, token) != 0)
		return;
	f[1].value = c->token_url;
	f[2].value = c->client_id;
	log_fields(LOG_INFO, f, nitems(f));
	oauth_cache_drop_token(c);
}

/* Free every cache, its fetch in flight and its requests (at exit). */
void
oauth_caches_free(struct server *srv)
{
	struct oauth_cache *c;

	while ((c = srv->oauth_caches) != NULL) {
		srv->oauth_caches = c->next;
		oauth_cache_free(c);
	}
}

/* The cache of an app registration, made on first use if create. */
static struct oauth_cache *
oauth_cache_lookup(struct server *srv, const struct oauth_conf *oc,
    bool create)
{
	struct oauth_cache *c;

	for (c = srv->oauth_caches; c != NULL; c = c->next)
		if (strcmp(c->token_url, oc->token_url) == 0 &&
		    strcmp(c->client_id, oc->client_id) == 0 &&
		    strcmp(c->scope, oc->scope) == 0)
			return c;
	if (!create)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->srv = srv;
	c->token_url = xstrdup(oc->token_url);
	c->client_id = xstrdup(oc->client_id);
	c->scope = xstrdup(oc->scope);
	TAILQ_INIT(&c->requests);
	c->next = srv->oauth_caches;
	srv->oauth_caches = c;
	return c;
}

/* Free a cache with everything it holds. */
static void
oauth_cache_free(struct oauth_cache *c)
{
	struct oauth_request *req;

	if (c->fetch != NULL)
		oauth_fetch_free(c->fetch);
	while ((req = TAILQ_FIRST(&c->requests)) != NULL)
		oauth_request_free(req);
	oauth_cache_drop_token(c);
	free(c->token_url);
	free(c->client_id);
	free(c->scope);
	free(c);
}

/* Wipe and forget the cached token. */
static void
oauth_cache_drop_token(struct oauth_cache *c)
{
	if (c->token != NULL) {
		OPENSSL_cleanse(c->token, strlen(c->token));
		free(c->token);
	}
	c->token = NULL;
	c->expires_at = 0;
}

/* A fetch ended: keep its token or start the backoff, log it, and answer
 * every waiting request. */
static void
oauth_cache_settle(struct oauth_cache *c, struct oauth_answer *ans)
{
	struct oauth_request *req;
	time_t now = time(NULL);
	bool ok = ans->token != NULL;

	c->state = OAUTH_IDLE;
	c->fetch = NULL;
	if (ok) {
		oauth_cache_drop_token(c);
		c->token = ans->token;
		ans->token = NULL;
		c->expires_at = now + ans->expires_in;
		c->backoff = 0;
		c->retry_at = 0;
		c->last_error[0] = '\0';
	} else {
		c->backoff = c->backoff == 0 ? OAUTH_BACKOFF_FIRST :
		    c->backoff * 2 > OAUTH_BACKOFF_MAX ? OAUTH_BACKOFF_MAX :
		    c->backoff * 2;
		c->retry_at = now + c->backoff;
		oauth_answer_describe(ans, c->last_error,
		    sizeof(c->last_error));
	}
	oauth_cache_log(c, ans, ok);
	TAILQ_FOREACH(req, &c->requests, entry)
		if (req->waiting)
			oauth_request_answer(req, ok ? c->token : NULL,
			    c->last_error);
}

/* Log one line for a fetch: its outcome, never the token or secret; a
 * refusal the explain table knows gets a second line saying what to do. */
static void
oauth_cache_log(const struct oauth_cache *c, const struct oauth_answer *ans,
    bool ok)
{
	const struct explanation *e;
	char sent[24], status[16], expires[24], retry[16];
	struct log_field f[] = {
		{ "event", ok ? "token_ok" : "token_failed" },
		{ "token_url", c->token_url }, { "client_id", c->client_id },
		{ "request", sent }, { "http_status", NULL },
		{ "expires_in", ok ? expires : NULL },
		{ "code", ans->code[0] != '\0' ? ans->code : NULL },
		{ "error", ans->error[0] != '\0' ? ans->error : NULL },
		{ "trace_id", ans->trace_id[0] != '\0' ? ans->trace_id : NULL },
		{ "reason", !ok && ans->problem[0] != '\0' ? ans->problem :
		    NULL },
		{ "retry_in", ok ? NULL : retry },
	};

	snprintf(sent, sizeof(sent), "%lu", c->sent);
	snprintf(status, sizeof(status), "%d", ans->status);
	snprintf(expires, sizeof(expires), "%ld", ans->expires_in);
	snprintf(retry, sizeof(retry), "%u", c->backoff);
	if (ans->status != 0)
		f[4].value = status;
	log_fields(ok ? LOG_INFO : LOG_WARNING, f, nitems(f));
	if (!ok && (e = explain_lookup(EXPLAIN_TOKEN, ans->code, true)) != NULL)
		explain_log(NULL, NULL, e, ans->description[0] != '\0' ?
		    ans->description : ans->code);
}

/* Give a request its answer and run its cb from the loop. */
static void
oauth_request_answer(struct oauth_request *req, const char *token,
    const char *error)
{
	req->waiting = false;
	if (token != NULL)
		req->token = xstrdup(token);
	else
		snprintf(req->error, sizeof(req->error), "%s", error);
	event_active(req->ev, EV_TIMEOUT, 1);
}

/* Free a request, wiping the token it carries. */
static void
oauth_request_free(struct oauth_request *req)
{
	TAILQ_REMOVE(&req->cache->requests, req, entry);
	event_free(req->ev);
	if (req->token != NULL) {
		OPENSSL_cleanse(req->token, strlen(req->token));
		free(req->token);
	}
	free(req);
}

/* Run a request's cb with its answer; the request is freed first. */
static void
oauth_request_cb(evutil_socket_t fd, short what, void *arg)
{
	struct oauth_request *req = arg;
	oauth_cb cb = req->cb;
	void *cbarg = req->arg;
	char *token = req->token, error[OAUTH_ERROR_MAX];

	(void)fd; (void)what;
	memcpy(error, req->error, sizeof(error));
	req->token = NULL;
	oauth_request_free(req);
	cb(cbarg, token, token == NULL ? error : NULL);
	if (token != NULL) {
		OPENSSL_cleanse(token, strlen(token));
		free(token);
	}
}

/* Send a token request for c with cfg's credentials; a request that
 * cannot even be sent fails like one that got no answer. */
static void
oauth_fetch_start(struct oauth_cache *c, const struct config *cfg)
{
	struct evhttp_uri *uri = evhttp_uri_parse(cfg->oauth2.token_url);
	struct oauth_answer ans = { .status = 0 };
	char err[128] = "out of resources";

	c->state = OAUTH_FETCHING;
	c->sent++;
	if (uri == NULL || evhttp_uri_get_host(uri) == NULL)
		snprintf(ans.problem, sizeof(ans.problem), "bad token_url");
	else if ((c->fetch = oauth_fetch_new(c, cfg, uri)) == NULL) {
		if (ERR_peek_last_error() != 0)
			tls_error_string(err, sizeof(err));
		snprintf(ans.problem, sizeof(ans.problem), "cannot send the "
		    "token request: %s", err);
	}
	if (uri != NULL)
		evhttp_uri_free(uri);
	if (c->fetch == NULL)
		oauth_cache_settle(c, &ans);
}

/* Connect to the token endpoint over verified TLS and send the request;
 * NULL if that cannot start. */
static struct oauth_fetch *
oauth_fetch_new(struct oauth_cache *c, const struct config *cfg,
    const struct evhttp_uri *uri)
{
	struct timeval tv = { cfg->limits.upstream_timeout, 0 };
	struct oauth_fetch *f = xcalloc(1, sizeof(*f));
	char *body = NULL;
	bool ok;

	f->cache = c;
	f->http_error = -1;
	f->timer = evtimer_new(c->srv->base, oauth_fetch_timeoutcb, f);
	f->finish = evtimer_new(c->srv->base, oauth_fetch_finishcb, f);
	evtimer_add(f->timer, &tv);
	ok = oauth_fetch_connect(f, cfg, uri) &&
	    (body = oauth_request_body(cfg)) != NULL &&
	    oauth_fetch_send(f, uri, body);
	if (body != NULL)
		OPENSSL_cleanse(body, strlen(body));
	free(body);
	if (ok)
		return f;
	oauth_fetch_free(f);
	return NULL;
}

/* Make the HTTP connection to the token URL's host and port, over TLS
 * with SNI and the host name checked. */
static bool
oauth_fetch_connect(struct oauth_fetch *f, const struct config *cfg,
    const struct evhttp_uri *uri)
{
	struct server *srv = f->cache->srv;
	const char *host = evhttp_uri_get_host(uri);
	int port = evhttp_uri_get_port(uri);
	struct bufferevent *bev;

	port = port > 0 ? port : OAUTH_HTTPS_PORT;
	xasprintf(&f->endpoint, strchr(host, ':') != NULL ? "[%s]:%d" :
	    "%s:%d", host, port);
	if ((f->ssl = oauth_ssl_new(cfg->oauth_ctx, host)) == NULL)
		return false;
	SSL_set_app_data(f->ssl, f);
	SSL_set_info_callback(f->ssl, oauth_ssl_infocb);
	bev = bufferevent_openssl_socket_new(srv->base, -1, f->ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL) {
		SSL_free(f->ssl);
		return false;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	f->conn = evhttp_connection_base_bufferevent_new(srv->base, srv->dns,
	    bev, host, (ev_uint16_t)port);
	if (f->conn == NULL)
		return false;
	evhttp_connection_set_timeout(f->conn,
	    (int)cfg->limits.upstream_timeout);
	evhttp_connection_set_retries(f->conn, 0);
	evhttp_connection_set_max_body_size(f->conn, OAUTH_ANSWER_MAX);
	return true;
}

/* POST the form body to the token URL's path. */
static bool
oauth_fetch_send(struct oauth_fetch *f, const struct evhttp_uri *uri,
    const char *body)
{
	struct evhttp_request *req;
	struct evkeyvalq *headers;
	const char *path = evhttp_uri_get_path(uri);
	const char *query = evhttp_uri_get_query(uri);
	const char *host = evhttp_uri_get_port(uri) > 0 ? f->endpoint :
	    evhttp_uri_get_host(uri);
	char *target;
	int rc;

	req = evhttp_request_new(oauth_fetch_donecb, f);
	evhttp_request_set_error_cb(req, oauth_fetch_errorcb);
	headers = evhttp_request_get_output_headers(req);
	evhttp_add_header(headers, "Host", host);
	evhttp_add_header(headers, "Content-Type", OAUTH_FORM_TYPE);
	evhttp_add_header(headers, "Accept", "application/json");
	evhttp_add_header(headers, "User-Agent", "tlsrelayd/" PACKAGE_VERSION);
	evhttp_add_header(headers, "Connection", "close");
	evbuffer_add(evhttp_request_get_output_buffer(req), body,
	    strlen(body));
	xasprintf(&target, "%s%s%s", path != NULL && path[0] != '\0' ? path :
	    "/", query != NULL ? "?" : "", query != NULL ? query : "");
	rc = evhttp_make_request(f->conn, req, EVHTTP_REQ_POST, target);
	free(target);
	return rc == 0;
}

/* The form body of a token request with cfg's credential: the client
 * secret, or a fresh signed assertion. */
static char *
oauth_request_body(const struct config *cfg)
{
	char *assertion, *body;

	if (cfg->oauth_secret != NULL)
		return oauth_form_body(&cfg->oauth2, cfg->oauth_secret, NULL);
	assertion = oauth_jwt_assertion(cfg->oauth_key, cfg->oauth_cert,
	    cfg->oauth2.client_id, cfg->oauth2.token_url, time(NULL));
	if (assertion == NULL)
		return NULL;
	body = oauth_form_body(&cfg->oauth2, NULL, assertion);
	OPENSSL_cleanse(assertion, strlen(assertion));
	free(assertion);
	return body;
}

/* An SSL object for the token endpoint: SNI and the host name check. */
static SSL *
oauth_ssl_new(SSL_CTX *ctx, const char *host)
{
	unsigned char ip[16];
	SSL *ssl;

	if ((ssl = SSL_new(ctx)) == NULL)
		return NULL;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (inet_pton(AF_INET, host, ip) != 1 &&
	    inet_pton(AF_INET6, host, ip) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	if (SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	return ssl;
}

/* Remember the socket error that stopped the TLS handshake, which evhttp
 * does not report. */
static void
oauth_ssl_infocb(const SSL *ssl, int where, int ret)
{
	struct oauth_fetch *f = SSL_get_app_data(ssl);
	int err = errno;

	if ((where & SSL_CB_EXIT) && ret < 0 && err != 0 && err != EAGAIN &&
	    err != EWOULDBLOCK && err != EINPROGRESS && err != EINTR)
		f->sys_error = err;
	errno = err;
}

/* Remember why evhttp gave up on the request. */
static void
oauth_fetch_errorcb(enum evhttp_request_error err, void *arg)
{
	struct oauth_fetch *f = arg;

	f->http_error = (int)err;
}

/* The endpoint answered or the request failed: read the answer, then
 * finish outside libevent's HTTP code, which still uses the connection. */
static void
oauth_fetch_donecb(struct evhttp_request *req, void *arg)
{
	struct oauth_fetch *f = arg;
	int status = req != NULL ? evhttp_request_get_response_code(req) : 0;
	struct evbuffer *in;
	unsigned char *body;
	size_t len;

	evtimer_del(f->timer);
	if (status == 0) {
		oauth_fetch_failure(f);
	} else {
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		body = evbuffer_pullup(in, -1);
		oauth_answer_parse(status, body != NULL ? (char *)body : "",
		    body != NULL ? len : 0, &f->answer);
		if (body != NULL)
			OPENSSL_cleanse(body, len);
	}
	event_active(f->finish, EV_TIMEOUT, 1);
}

/* Say why no answer came: certificate, TLS, DNS or connection. */
static void
oauth_fetch_failure(struct oauth_fetch *f)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(f->conn);
	const char *verify = tls_verify_error(f->ssl);
	unsigned long tls = bufferevent_get_openssl_error(bev);
	int dns = bufferevent_socket_get_dns_error(bev);
	char why[128];

	if (verify != NULL)
		snprintf(why, sizeof(why), "certificate verification failed: "
		    "%s", verify);
	else if (ERR_GET_LIB(tls) != 0)
		ERR_error_string_n(tls, why, sizeof(why));
	else if (dns != 0)
		snprintf(why, sizeof(why), "cannot resolve: %s",
		    evutil_gai_strerror(dns));
	else if (f->sys_error != 0)
		snprintf(why, sizeof(why), "%s", strerror(f->sys_error));
	else if (f->http_error >= 0 &&
	    (size_t)f->http_error < nitems(http_errors) &&
	    http_errors[f->http_error] != NULL)
		snprintf(why, sizeof(why), "%s", http_errors[f->http_error]);
	else
		snprintf(why, sizeof(why), "connection failed");
	snprintf(f->answer.problem, sizeof(f->answer.problem),
	    "token endpoint %s: %s", f->endpoint, why);
	ERR_clear_error();
}

/* No answer within upstream_timeout: give up on the request. */
static void
oauth_fetch_timeoutcb(evutil_socket_t fd, short what, void *arg)
{
	struct oauth_fetch *f = arg;

	(void)fd; (void)what;
	snprintf(f->answer.problem, sizeof(f->answer.problem),
	    "token endpoint %s: no answer in time", f->endpoint);
	oauth_fetch_finish(f);
}

/* Finish a fetch once libevent's HTTP callback has returned. */
static void
oauth_fetch_finishcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	oauth_fetch_finish(arg);
}

/* Free the fetch and settle its cache with the answer. */
static void
oauth_fetch_finish(struct oauth_fetch *f)
{
	struct oauth_cache *c = f->cache;
	struct oauth_answer ans = f->answer;

	f->answer.token = NULL;
	oauth_fetch_free(f);
	oauth_cache_settle(c, &ans);
	if (ans.token != NULL) {
		OPENSSL_cleanse(ans.token, strlen(ans.token));
		free(ans.token);
	}
}

/* Close the connection and free the fetch. */
static void
oauth_fetch_free(struct oauth_fetch *f)
{
	if (f->conn != NULL)
		evhttp_connection_free(f->conn);
	event_free(f->timer);
	event_free(f->finish);
	if (f->answer.token != NULL) {
		OPENSSL_cleanse(f->answer.token, strlen(f->answer.token));
		free(f->answer.token);
	}
	free(f->endpoint);
	free(f);
}

/* Is a cached token with this expiry still usable? */
bool
oauth_token_fresh(time_t expires_at, time_t now)
{
	return now + OAUTH_REFRESH_MARGIN < expires_at;
}
