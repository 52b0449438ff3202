/* OAuth2 client credentials: app-only tokens for SASL XOAUTH2 upstream,
 * cached per token URL, client and scope, with one request in flight. */
#include <sys/queue.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "explain.h"
#include "log.h"
#include "metrics.h"
#include "oauth.h"
#include "server.h"
#include "tls.h"
#include "util.h"

#define OAUTH_BACKOFF_FIRST	5	/* seconds after a first failure */
#define OAUTH_BACKOFF_MAX	300	/* seconds, doubling up to this */
#define OAUTH_ERROR_MAX		256	/* log-safe error text */
#define OAUTH_SECRET_MAX	4096	/* bytes in a client secret file */
#define OAUTH_ANSWER_MAX	(64 * 1024)	/* bytes of an answer body */
#define OAUTH_JWT_LIFETIME	300	/* seconds an assertion is valid */
#define OAUTH_JTI_BYTES		16
#define OAUTH_HTTPS_PORT	443
#define OAUTH_AADSTS		"AADSTS"
#define OAUTH_FORM_TYPE		"application/x-www-form-urlencoded"
#define OAUTH_ASSERTION_TYPE \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define OAUTH_UNRESERVED	"ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
	"abcdefghijklmnopqrstuvwxyz0123456789-._~"

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

/* What a token endpoint answer says, or why there was none. */
struct oauth_answer {
	int	 status;		/* HTTP status; 0: no answer */
	char	*token;			/* heap; NULL on failure */
	long	 expires_in;
	char	 code[24];		/* "AADSTS7000215", or empty */
	char	 error[64];		/* the answer's error, escaped */
	char	 trace_id[64];		/* escaped */
	char	 problem[192];		/* what else went wrong */
	char	 description[512];	/* error_description as it came */
};

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

/* One field of a form body. */
struct form_field {
	const char	*name;
	const char	*value;		/* NULL: left out */
};

static const char *const http_errors[] = {
	[EVREQ_HTTP_TIMEOUT] = "timed out",
	[EVREQ_HTTP_EOF] = "connection closed",
	[EVREQ_HTTP_INVALID_HEADER] = "invalid HTTP answer",
	[EVREQ_HTTP_BUFFER_ERROR] = "connection failed",
	[EVREQ_HTTP_REQUEST_CANCEL] = "request cancelled",
	[EVREQ_HTTP_DATA_TOO_LONG] = "answer too long",
};

static void	 oauth_url_check(const struct config *cfg,
		    struct config_errors *errs);
static char	*oauth_secret_read(const struct config *cfg,
		    struct config_errors *errs);
static bool	 oauth_secret_file_ok(const struct config *cfg, int fd,
		    struct config_errors *errs);
static char	*oauth_secret_trim(const struct config *cfg, char *buf,
		    size_t len, struct config_errors *errs);
static void	 oauth_assertion_load(struct config *cfg,
		    struct config_errors *errs);
static X509	*oauth_cert_read(const struct config *cfg,
		    struct config_errors *errs);
static EVP_PKEY	*oauth_key_read(const struct config *cfg,
		    struct config_errors *errs);
static SSL_CTX	*oauth_ctx_new(const struct config *cfg,
		    struct config_errors *errs);
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
static bool	 oauth_answer_parse(int status, const char *body,
		    size_t len, struct oauth_answer *ans);
static void	 oauth_answer_error_fields(json_t *root,
		    struct oauth_answer *ans);
static void	 oauth_answer_code(json_t *root, struct oauth_answer *ans);
static bool	 oauth_answer_token(json_t *root, struct oauth_answer *ans);
static bool	 oauth_answer_expiry(json_t *value, long *expires_in);
static void	 oauth_answer_describe(const struct oauth_answer *ans,
		    char *err, size_t errlen);
static void	 oauth_json_string(json_t *root, const char *key, char *dst,
		    size_t dstlen);
static size_t	 oauth_urlencoded_len(const char *value);
static char	*oauth_urlencode(char *dst, const char *value);
static char	*oauth_jwt_header(X509 *cert);
static char	*oauth_jwt_claims(const char *client_id,
		    const char *token_url, time_t now);
static char	*oauth_jwt_sign(EVP_PKEY *key, const char *input);
static char	*oauth_json_b64url(json_t *obj);
static char	*oauth_b64url(const unsigned char *data, size_t len);

/* Load the client secret or the assertion certificate and key, and build
 * the token endpoint's TLS context; does nothing without oauth2. */
bool
oauth_config_load(struct config *cfg, struct config_errors *errs)
{
	size_t before = errs->n;

	if (!cfg->oauth2.configured)
		return true;
	oauth_url_check(cfg, errs);
	if (cfg->oauth2.client_secret_file != NULL)
		cfg->oauth_secret = oauth_secret_read(cfg, errs);
	else
		oauth_assertion_load(cfg, errs);
	cfg->oauth_ctx = oauth_ctx_new(cfg, errs);
	return errs->n == before;
}

/* The token URL must parse as an https URL with a host. */
static void
oauth_url_check(const struct config *cfg, struct config_errors *errs)
{
	struct evhttp_uri *uri = evhttp_uri_parse(cfg->oauth2.token_url);
	const char *scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;
	const char *host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;

	if (scheme == NULL || strcasecmp(scheme, "https") != 0 ||
	    host == NULL || host[0] == '\0')
		config_errors_add(errs, "%s:%d: oauth2.token_url %s is not an "
		    "https URL with a host", cfg->file, cfg->oauth2.line,
		    cfg->oauth2.token_url);
	if (uri != NULL)
		evhttp_uri_free(uri);
}

/* Read the client secret: one line from a regular file that others
 * cannot read; NULL with an error otherwise. */
static char *
oauth_secret_read(const struct config *cfg, struct config_errors *errs)
{
	const char *path = cfg->oauth2.client_secret_file;
	char buf[OAUTH_SECRET_MAX + 1], *secret = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		config_errors_add(errs, "%s:%d: oauth2.client_secret_file %s: "
		    "%s", cfg->file, cfg->oauth2.line, path,
		    strerror(errno));
		return NULL;
	}
	if (oauth_secret_file_ok(cfg, fd, errs)) {
		if ((n = read(fd, buf, sizeof(buf))) < 0)
			config_errors_add(errs, "%s:%d: oauth2."
			    "client_secret_file %s: %s", cfg->file,
			    cfg->oauth2.line, path, strerror(errno));
		else
			secret = oauth_secret_trim(cfg, buf, (size_t)n, errs);
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return secret;
}

/* Is the open secret file a regular file that others cannot access? */
static bool
oauth_secret_file_ok(const struct config *cfg, int fd,
    struct config_errors *errs)
{
	const char *path = cfg->oauth2.client_secret_file;
	struct stat st;

	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		config_errors_add(errs, "%s:%d: oauth2.client_secret_file %s "
		    "is not a regular file", cfg->file, cfg->oauth2.line,
		    path);
		return false;
	}
	if (st.st_mode & S_IRWXO) {
		config_errors_add(errs, "%s:%d: oauth2.client_secret_file %s "
		    "is readable by others (mode %04o): run chmod o-rwx on it",
		    cfg->file, cfg->oauth2.line, path,
		    (unsigned)(st.st_mode & 07777));
		return false;
	}
	return true;
}

/* The secret in buf without its trailing newline, as one line of
 * printable text; NULL with an error otherwise. */
static char *
oauth_secret_trim(const struct config *cfg, char *buf, size_t len,
    struct config_errors *errs)
{
	const char *path = cfg->oauth2.client_secret_file;
	size_t i;

	if (len > OAUTH_SECRET_MAX) {
		config_errors_add(errs, "%s:%d: oauth2.client_secret_file %s "
		    "is longer than %d bytes", cfg->file, cfg->oauth2.line,
		    path, OAUTH_SECRET_MAX);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			break;
	if (len == 0 || i < len) {
		config_errors_add(errs, "%s:%d: oauth2.client_secret_file %s "
		    "must hold the secret on one line", cfg->file,
		    cfg->oauth2.line, path);
		return NULL;
	}
	return xstrdup(buf);
}

/* Load the assertion certificate and its RSA key, which must match. */
static void
oauth_assertion_load(struct config *cfg, struct config_errors *errs)
{
	const struct oauth_conf *oc = &cfg->oauth2;

	if ((cfg->oauth_cert = oauth_cert_read(cfg, errs)) == NULL ||
	    (cfg->oauth_key = oauth_key_read(cfg, errs)) == NULL)
		return;
	if (!EVP_PKEY_is_a(cfg->oauth_key, "RSA"))
		config_errors_add(errs, "%s:%d: oauth2.key %s is not an RSA "
		    "key (the assertion is signed with RS256)", cfg->file,
		    cfg->oauth2.line, oc->key);
	else if (X509_check_private_key(cfg->oauth_cert, cfg->oauth_key) != 1)
		config_errors_add(errs, "%s:%d: oauth2.key %s does not match "
		    "certificate %s", cfg->file, cfg->oauth2.line, oc->key,
		    oc->certificate);
	ERR_clear_error();
}

/* Read the assertion certificate (PEM); NULL with an error. */
static X509 *
oauth_cert_read(const struct config *cfg, struct config_errors *errs)
{
	const char *path = cfg->oauth2.certificate;
	FILE *fp = fopen(path, "r");
	X509 *cert = NULL;
	char err[256];

	if (fp == NULL)
		config_errors_add(errs, "%s:%d: oauth2.certificate %s: %s",
		    cfg->file, cfg->oauth2.line, path, strerror(errno));
	else if ((cert = PEM_read_X509(fp, NULL, NULL, NULL)) == NULL)
		config_errors_add(errs, "%s:%d: oauth2.certificate %s: %s",
		    cfg->file, cfg->oauth2.line, path,
		    tls_error_string(err, sizeof(err)));
	if (fp != NULL)
		fclose(fp);
	return cert;
}

/* Read the assertion's private key (PEM); NULL with an error. */
static EVP_PKEY *
oauth_key_read(const struct config *cfg, struct config_errors *errs)
{
	const char *path = cfg->oauth2.key;
	FILE *fp = fopen(path, "r");
	EVP_PKEY *key = NULL;
	char err[256];

	if (fp == NULL)
		config_errors_add(errs, "%s:%d: oauth2.key %s: %s", cfg->file,
		    cfg->oauth2.line, path, strerror(errno));
	else if ((key = PEM_read_PrivateKey(fp, NULL, NULL, NULL)) == NULL)
		config_errors_add(errs, "%s:%d: oauth2.key %s: %s", cfg->file,
		    cfg->oauth2.line, path,
		    tls_error_string(err, sizeof(err)));
	if (fp != NULL)
		fclose(fp);
	return key;
}

/* The token endpoint's context: TLS 1.2+, the chain verified against
 * ca_file or the system store. */
static SSL_CTX *
oauth_ctx_new(const struct config *cfg, struct config_errors *errs)
{
	const char *ca = cfg->oauth2.ca_file;
	char err[256];
	SSL_CTX *ctx;
	int ok;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		fatalx("SSL_CTX_new: %s", tls_error_string(err, sizeof(err)));
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (ca != NULL)
		ok = SSL_CTX_load_verify_locations(ctx, ca, NULL);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok == 1)
		return ctx;
	config_errors_add(errs, "%s:%d: oauth2.ca_file %s: %s", cfg->file,
	    cfg->oauth2.line, ca != NULL ? ca : "(system store)",
	    tls_error_string(err, sizeof(err)));
	SSL_CTX_free(ctx);
	return NULL;
}

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
	metrics_count_token_request(ans.token != NULL);
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

/* Parse a token endpoint answer into tok, or a log-safe error into err. */
bool
oauth_parse_answer(int http_status, const char *body, size_t len,
    struct oauth_token *tok, char *err, size_t errlen)
{
	struct oauth_answer ans;

	if (oauth_answer_parse(http_status, body, len, &ans)) {
		tok->access_token = ans.token;
		tok->expires_in = ans.expires_in;
		return true;
	}
	tok->access_token = NULL;
	tok->expires_in = 0;
	oauth_answer_describe(&ans, err, errlen);
	return false;
}

/* Read an answer: a token on HTTP 200, else what the error says. */
static bool
oauth_answer_parse(int status, const char *body, size_t len,
    struct oauth_answer *ans)
{
	json_t *root;
	bool ok;

	memset(ans, 0, sizeof(*ans));
	ans->status = status;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root)) {
		snprintf(ans->problem, sizeof(ans->problem), "%s",
		    status == 200 ? "malformed JSON answer" :
		    "unexpected answer");
		json_decref(root);
		return false;
	}
	oauth_answer_error_fields(root, ans);
	ok = status == 200 && ans->error[0] == '\0' && ans->code[0] == '\0' &&
	    oauth_answer_token(root, ans);
	if (!ok && ans->problem[0] == '\0')
		snprintf(ans->problem, sizeof(ans->problem), "%s",
		    "unexpected answer");
	json_decref(root);
	return ok;
}

/* Take the error, its AADSTS code and the trace id from an answer. */
static void
oauth_answer_error_fields(json_t *root, struct oauth_answer *ans)
{
	const char *desc = json_string_value(json_object_get(root,
	    "error_description"));

	snprintf(ans->description, sizeof(ans->description), "%s",
	    desc != NULL ? desc : "");
	oauth_json_string(root, "error", ans->error, sizeof(ans->error));
	oauth_json_string(root, "trace_id", ans->trace_id,
	    sizeof(ans->trace_id));
	oauth_answer_code(root, ans);
}

/* The AADSTS code from the start of error_description, else from the
 * first of error_codes. */
static void
oauth_answer_code(json_t *root, struct oauth_answer *ans)
{
	const char *desc = json_string_value(json_object_get(root,
	    "error_description"));
	json_t *first = json_array_get(json_object_get(root, "error_codes"),
	    0);
	size_t digits;

	if (desc != NULL && strncmp(desc, OAUTH_AADSTS,
	    strlen(OAUTH_AADSTS)) == 0) {
		digits = strspn(desc + strlen(OAUTH_AADSTS), "0123456789");
		if (digits > 0 && digits + strlen(OAUTH_AADSTS) <
		    sizeof(ans->code)) {
			memcpy(ans->code, desc, strlen(OAUTH_AADSTS) + digits);
			return;
		}
	}
	if (json_is_integer(first))
		snprintf(ans->code, sizeof(ans->code), OAUTH_AADSTS "%lld",
		    (long long)json_integer_value(first));
}

/* A Bearer access_token with its expires_in; false with the problem. */
static bool
oauth_answer_token(json_t *root, struct oauth_answer *ans)
{
	const char *type = json_string_value(json_object_get(root,
	    "token_type"));
	json_t *token = json_object_get(root, "access_token");
	const char *problem = NULL;

	if (type == NULL)
		problem = "no token_type in the answer";
	else if (strcasecmp(type, "Bearer") != 0)
		problem = "token_type is not Bearer";
	else if (!json_is_string(token) || json_string_length(token) == 0)
		problem = "no access_token in the answer";
	else if (!oauth_answer_expiry(json_object_get(root, "expires_in"),
	    &ans->expires_in))
		problem = "no valid expires_in in the answer";
	if (problem != NULL) {
		snprintf(ans->problem, sizeof(ans->problem), "%s", problem);
		return false;
	}
	ans->token = xstrdup(json_string_value(token));
	return true;
}

/* Read expires_in, an integer or a numeric string, greater than 0. */
static bool
oauth_answer_expiry(json_t *value, long *expires_in)
{
	const char *text = json_string_value(value);
	char *end;
	long long n;

	if (json_is_integer(value))
		n = json_integer_value(value);
	else if (text != NULL && text[0] >= '0' && text[0] <= '9') {
		errno = 0;
		n = strtoll(text, &end, 10);
		if (*end != '\0' || errno != 0)
			return false;
	} else
		return false;
	if (n <= 0 || n > INT32_MAX)
		return false;
	*expires_in = (long)n;
	return true;
}

/* The log-safe text of a failed answer: AADSTS code, error and trace id
 * when it has them, else what was wrong, and the HTTP status. */
static void
oauth_answer_describe(const struct oauth_answer *ans, char *err,
    size_t errlen)
{
	char status[24] = "";

	if (ans->status != 0)
		snprintf(status, sizeof(status), " (HTTP %d)", ans->status);
	if (ans->code[0] == '\0' && ans->error[0] == '\0')
		snprintf(err, errlen, "%s%s", ans->problem, status);
	else
		snprintf(err, errlen, "%s%s%s%s%s%s", ans->code,
		    ans->code[0] != '\0' && ans->error[0] != '\0' ? " " : "",
		    ans->error, ans->trace_id[0] != '\0' ? " trace_id=" : "",
		    ans->trace_id, status);
}

/* Copy a string member, escaped for logs, into dst (empty if absent). */
static void
oauth_json_string(json_t *root, const char *key, char *dst, size_t dstlen)
{
	json_t *value = json_object_get(root, key);

	dst[0] = '\0';
	if (json_is_string(value))
		log_escape(dst, dstlen, json_string_value(value),
		    json_string_length(value));
}

/* The URL-encoded form body of a token request. */
char *
oauth_form_body(const struct oauth_conf *oc, const char *secret,
    const char *assertion)
{
	const struct form_field fields[] = {
		{ "client_id", oc->client_id },
		{ "scope", oc->scope },
		{ "grant_type", "client_credentials" },
		{ "client_secret", secret },
		{ "client_assertion_type",
		    assertion != NULL ? OAUTH_ASSERTION_TYPE : NULL },
		{ "client_assertion", assertion },
	};
	size_t i, len = 0;
	char *body, *p;

	for (i = 0; i < nitems(fields); i++)
		if (fields[i].value != NULL)
			len += strlen(fields[i].name) + 2 +
			    oauth_urlencoded_len(fields[i].value);
	body = p = xcalloc(1, len + 1);
	for (i = 0; i < nitems(fields); i++) {
		if (fields[i].value == NULL)
			continue;
		if (p != body)
			*p++ = '&';
		p = oauth_urlencode(p, fields[i].name);
		*p++ = '=';
		p = oauth_urlencode(p, fields[i].value);
	}
	*p = '\0';
	return body;
}

/* The length of value once URL-encoded. */
static size_t
oauth_urlencoded_len(const char *value)
{
	size_t len = 0;

	for (; *value != '\0'; value++)
		len += strchr(OAUTH_UNRESERVED, *value) != NULL ? 1 : 3;
	return len;
}

/* URL-encode value at dst (every byte but the unreserved as %XX); the end
 * of what was written. */
static char *
oauth_urlencode(char *dst, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char ch;

	for (; *value != '\0'; value++) {
		ch = (unsigned char)*value;
		if (strchr(OAUTH_UNRESERVED, ch) != NULL) {
			*dst++ = (char)ch;
			continue;
		}
		*dst++ = '%';
		*dst++ = hex[ch >> 4];
		*dst++ = hex[ch & 0x0f];
	}
	return dst;
}

/* A signed client assertion (RS256, x5t#S256) for the token URL. */
char *
oauth_jwt_assertion(EVP_PKEY *key, X509 *cert, const char *client_id,
    const char *token_url, time_t now)
{
	char *header = oauth_jwt_header(cert);
	char *claims = oauth_jwt_claims(client_id, token_url, now);
	char *input, *sig, *jwt = NULL;

	if (header != NULL && claims != NULL) {
		xasprintf(&input, "%s.%s", header, claims);
		if ((sig = oauth_jwt_sign(key, input)) != NULL)
			xasprintf(&jwt, "%s.%s", input, sig);
		free(sig);
		free(input);
	}
	free(header);
	free(claims);
	return jwt;
}

/* The encoded JWT header naming the certificate by its SHA-256
 * thumbprint. */
static char *
oauth_jwt_header(X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char *thumb, *out = NULL;
	json_t *obj;

	if (X509_digest(cert, EVP_sha256(), md, &mdlen) != 1)
		return NULL;
	thumb = oauth_b64url(md, mdlen);
	obj = json_pack("{s:s, s:s, s:s}", "alg", "RS256", "typ", "JWT",
	    "x5t#S256", thumb);
	if (obj != NULL)
		out = oauth_json_b64url(obj);
	json_decref(obj);
	free(thumb);
	return out;
}

/* The encoded claims: audience, issuer and subject, a unique id, and a
 * short validity from now. */
static char *
oauth_jwt_claims(const char *client_id, const char *token_url, time_t now)
{
	unsigned char rnd[OAUTH_JTI_BYTES];
	char jti[2 * OAUTH_JTI_BYTES + 1], *out = NULL;
	json_t *obj;
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return NULL;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	obj = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
	    "aud", token_url, "iss", client_id, "sub", client_id, "jti", jti,
	    "nbf", (json_int_t)now, "exp", (json_int_t)now + OAUTH_JWT_LIFETIME,
	    "iat", (json_int_t)now);
	if (obj != NULL)
		out = oauth_json_b64url(obj);
	json_decref(obj);
	return out;
}

/* The base64url RS256 (SHA-256, PKCS#1 v1.5) signature of input. */
static char *
oauth_jwt_sign(EVP_PKEY *key, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *out = NULL;

	if (md != NULL &&
	    EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input,
	    strlen(input)) == 1) {
		sig = xcalloc(1, siglen);
		if (EVP_DigestSign(md, sig, &siglen,
		    (const unsigned char *)input, strlen(input)) == 1)
			out = oauth_b64url(sig, siglen);
	}
	free(sig);
	EVP_MD_CTX_free(md);
	return out;
}

/* A JSON object, compact and in order, encoded as base64url. */
static char *
oauth_json_b64url(json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char *out;

	if (text == NULL)
		return NULL;
	out = oauth_b64url((const unsigned char *)text, strlen(text));
	free(text);
	return out;
}

/* Base64url without padding, heap-allocated. */
static char *
oauth_b64url(const unsigned char *data, size_t len)
{
	char *out = xcalloc(1, (len + 2) / 3 * 4 + 1);
	char *p;

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	for (p = out; *p != '\0' && *p != '='; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	*p = '\0';
	return out;
}

/* Is a cached token with this expiry still usable? */
bool
oauth_token_fresh(time_t expires_at, time_t now)
{
	return now + OAUTH_REFRESH_MARGIN < expires_at;
}
