/* Unit tests for oauth.c and oauth_cred.c: expiry, credential loading,
 * and the token cache against a local HTTPS token endpoint. */
#include <sys/stat.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "oauth.h"
#include "server.h"
#include "suites.h"
#include "testutil.h"
#include "util.h"

#define ERRLEN		256
#define TEST_SECRET	"s3cret+/= &"
#define LOOP_SECONDS	10	/* longest a cache test may run its loop */

/* The local token endpoint: what it answers and what it received. */
struct endpoint {
	struct evhttp	*http;
	SSL_CTX		*ctx;
	int		 port;
	int		 status;	/* HTTP status to answer */
	const char	*error_body;	/* answer when status != 200 */
	int		 requests;	/* requests received */
	char		 body[1024];	/* the last request body */
	char		 content_type[128];
};

/* A server, a config and an endpoint for the cache tests. */
struct fixture {
	struct server	 srv;
	struct config	*cfg;
	struct endpoint	 ep;
	struct cred	 cred;
};

/* One token callback's outcome. */
struct answer {
	struct fixture	*fx;
	bool		 called;
	char		 token[64];
	char		 error[ERRLEN];
};

static struct config *config_make(const char *token_url);
static void	endpoint_start(struct endpoint *ep, struct event_base *base,
		    const struct cred *c);
static struct bufferevent *endpoint_bevcb(struct event_base *base,
		    void *arg);
static void	endpoint_handle(struct evhttp_request *req, void *arg);
static void	fixture_init(struct fixture *fx);
static void	fixture_free(struct fixture *fx);
static void	answer_cb(void *arg, const char *token, const char *error);
static void	loop_until(struct fixture *fx, struct answer *a, size_t n);
static void	loop_deadlinecb(evutil_socket_t fd, short what, void *arg);
static char	*file_write(const char *dir, const char *name,
		    const char *text, mode_t mode);
static void	secret_refused(const char *path, const char *why);

/* A config with only an oauth2 section, as config.c would leave it. */
static struct config *
config_make(const char *token_url)
{
	struct config *cfg = xcalloc(1, sizeof(*cfg));

	cfg->refcount = 1;
	cfg->file = xstrdup("test.conf");
	cfg->limits.upstream_timeout = 5;
	cfg->oauth2.configured = true;
	cfg->oauth2.tenant = xstrdup("contoso.onmicrosoft.com");
	cfg->oauth2.client_id = xstrdup("00000000-1111-2222-3333-444444444444");
	cfg->oauth2.token_url = xstrdup(token_url);
	cfg->oauth2.scope = xstrdup("https://outlook.office365.com/.default");
	return cfg;
}

/* Write text to dir/name with mode; the path (caller frees). */
static char *
file_write(const char *dir, const char *name, const char *text, mode_t mode)
{
	char *path;
	FILE *fp;

	xasprintf(&path, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	fputs(text, fp);
	fclose(fp);
	ck_assert_int_eq(chmod(path, mode), 0);
	return path;
}

/* Loading the client secret file at path fails, saying why. */
static void
secret_refused(const char *path, const char *why)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg = config_make("https://login.example/t/token");

	cfg->oauth2.client_secret_file = xstrdup(path);
	ck_assert(!oauth_config_load(cfg, &errs));
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_msg(strstr(errs.msgs[0], why) != NULL, "%s", errs.msgs[0]);
	ck_assert_ptr_null(strstr(errs.msgs[0], TEST_SECRET));
	ck_assert_ptr_null(cfg->oauth_secret);
	config_errors_clear(&errs);
	config_unref(cfg);
}

/* A token is fresh while more than the 600 s margin is left. */
START_TEST(test_token_fresh)
{
	time_t now = 1800000000;

	ck_assert_int_eq(OAUTH_REFRESH_MARGIN, 600);
	ck_assert(oauth_token_fresh(now + 3599, now));
	ck_assert(oauth_token_fresh(now + 601, now));
	ck_assert(!oauth_token_fresh(now + 600, now));
	ck_assert(!oauth_token_fresh(now + 599, now));
	ck_assert(!oauth_token_fresh(now, now));
	ck_assert(!oauth_token_fresh(0, now));
	ck_assert(oauth_token_fresh(now + 3599, now + 2998));
	ck_assert(!oauth_token_fresh(now + 3599, now + 2999));
}
END_TEST

/* The client secret file is read without its newline; one others can
 * read, an empty one and a missing one are refused. */
START_TEST(test_load_secret)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;
	struct cred c = { .dir = "/tmp/tlsrelay-oauth.XXXXXX" };
	char *path;

	ck_assert_ptr_nonnull(mkdtemp(c.dir));
	cfg = config_make("https://login.example/t/token");
	cfg->oauth2.client_secret_file = file_write(c.dir, "secret",
	    TEST_SECRET "\r\n", 0640);
	ck_assert(oauth_config_load(cfg, &errs));
	ck_assert_str_eq(cfg->oauth_secret, TEST_SECRET);
	ck_assert_ptr_nonnull(cfg->oauth_ctx);
	config_unref(cfg);
	path = file_write(c.dir, "open", TEST_SECRET "\n", 0604);
	secret_refused(path, "is readable by others (mode 0604)");
	free(path);
	path = file_write(c.dir, "empty", "\n", 0600);
	secret_refused(path, "must hold the secret on one line");
	free(path);
	path = file_write(c.dir, "two", "a\nb\n", 0600);
	secret_refused(path, "must hold the secret on one line");
	free(path);
	secret_refused(c.dir, "is not a regular file");
	xasprintf(&path, "%s/missing", c.dir);
	secret_refused(path, "No such file or directory");
	free(path);
	cred_free(&c);
}
END_TEST

/* A certificate and its key load; a key of another certificate does not,
 * nor does a token URL that is not https. */
START_TEST(test_load_assertion)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;
	struct cred c, other;

	cred_make(&c);
	cred_write(&c);
	cred_make(&other);
	cred_write(&other);
	cfg = config_make("https://login.example/t/token");
	cfg->oauth2.certificate = xstrdup(c.cert_path);
	cfg->oauth2.key = xstrdup(c.key_path);
	cfg->oauth2.ca_file = xstrdup(c.cert_path);
	ck_assert(oauth_config_load(cfg, &errs));
	ck_assert_ptr_nonnull(cfg->oauth_cert);
	ck_assert_ptr_nonnull(cfg->oauth_key);
	ck_assert_ptr_null(cfg->oauth_secret);
	config_unref(cfg);
	cfg = config_make("http://login.example/t/token");
	cfg->oauth2.certificate = xstrdup(c.cert_path);
	cfg->oauth2.key = xstrdup(other.key_path);
	ck_assert(!oauth_config_load(cfg, &errs));
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], "not an https URL"));
	ck_assert_ptr_nonnull(strstr(errs.msgs[1], "does not match"));
	config_errors_clear(&errs);
	config_unref(cfg);
	cred_free(&c);
	cred_free(&other);
}
END_TEST

/* A missing certificate file and one that holds no certificate are each
 * named by their oauth2 key, path and reason. */
START_TEST(test_load_pem_errors)
{
	struct config_errors errs = { NULL, 0 };
	struct config *cfg;
	char dir[] = "/tmp/tlsrelay-oauth.XXXXXX", *missing, *text, *want;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	xasprintf(&missing, "%s/missing.pem", dir);
	text = file_write(dir, "text.pem", "not a certificate\n", 0600);
	cfg = config_make("https://login.example/t/token");
	cfg->oauth2.certificate = xstrdup(missing);
	cfg->oauth2.key = xstrdup(text);
	ck_assert(!oauth_config_load(cfg, &errs));
	xasprintf(&want, "test.conf:0: oauth2.certificate %s: No such file or "
	    "directory", missing);
	ck_assert_str_eq(errs.msgs[0], want);
	free(want);
	config_errors_clear(&errs);
	config_unref(cfg);
	cfg = config_make("https://login.example/t/token");
	cfg->oauth2.certificate = xstrdup(text);
	cfg->oauth2.key = xstrdup(text);
	ck_assert(!oauth_config_load(cfg, &errs));
	xasprintf(&want, "test.conf:0: oauth2.certificate %s: ", text);
	ck_assert_msg(strncmp(errs.msgs[0], want, strlen(want)) == 0 &&
	    strlen(errs.msgs[0]) > strlen(want), "%s", errs.msgs[0]);
	ck_assert_ptr_null(cfg->oauth_cert);
	free(want);
	config_errors_clear(&errs);
	config_unref(cfg);
	ck_assert_int_eq(unlink(text), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(text);
	free(missing);
}
END_TEST

/* Each connection to the endpoint is TLS with its certificate. */
static struct bufferevent *
endpoint_bevcb(struct event_base *base, void *arg)
{
	struct endpoint *ep = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(ep->ctx),
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

/* Answer a token request: a numbered token, or the configured error. */
static void
endpoint_handle(struct evhttp_request *req, void *arg)
{
	struct endpoint *ep = arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	const char *type;
	size_t len = evbuffer_get_length(in);

	ep->requests++;
	ck_assert_int_eq(evhttp_request_get_command(req), EVHTTP_REQ_POST);
	ck_assert_str_eq(evhttp_request_get_uri(req), "/tenant/token?x=1");
	type = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	snprintf(ep->content_type, sizeof(ep->content_type), "%s",
	    type != NULL ? type : "");
	ck_assert_uint_lt(len, sizeof(ep->body));
	evbuffer_remove(in, ep->body, len);
	ep->body[len] = '\0';
	if (ep->status == 200)
		evbuffer_add_printf(out, "{\"token_type\":\"Bearer\","
		    "\"expires_in\":3599,\"access_token\":\"tok-%d\"}",
		    ep->requests);
	else
		evbuffer_add_printf(out, "%s", ep->error_body);
	evhttp_send_reply(req, ep->status, "answer", out);
	evbuffer_free(out);
}

/* Listen on a free loopback port with TLS and the credential's cert. */
static void
endpoint_start(struct endpoint *ep, struct event_base *base,
    const struct cred *c)
{
	struct evhttp_bound_socket *sock;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	ep->ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(ep->ctx, c->cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ep->ctx, c->key), 1);
	ep->status = 200;
	ep->http = evhttp_new(base);
	evhttp_set_bevcb(ep->http, endpoint_bevcb, ep);
	evhttp_set_gencb(ep->http, endpoint_handle, ep);
	evhttp_set_allowed_methods(ep->http, EVHTTP_REQ_POST | EVHTTP_REQ_GET);
	sock = evhttp_bind_socket_with_handle(ep->http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(sock);
	ck_assert_int_eq(getsockname(evhttp_bound_socket_get_fd(sock),
	    (struct sockaddr *)&sin, &len), 0);
	ep->port = ntohs(sin.sin_port);
}

/* An event loop, a token endpoint and a config with a client secret,
 * loaded as the daemon loads it. */
static void
fixture_init(struct fixture *fx)
{
	struct config_errors errs = { NULL, 0 };
	char *url;

	memset(fx, 0, sizeof(*fx));
	log_init(LOG_TARGET_STDERR, LOG_DAEMON, LOG_ERR);
	fx->srv.base = event_base_new();
	fx->srv.dns = evdns_base_new(fx->srv.base, 0);
	cred_make(&fx->cred);
	cred_write(&fx->cred);
	endpoint_start(&fx->ep, fx->srv.base, &fx->cred);
	xasprintf(&url, "https://127.0.0.1:%d/tenant/token?x=1", fx->ep.port);
	fx->cfg = config_make(url);
	free(url);
	fx->cfg->oauth2.client_secret_file = file_write(fx->cred.dir, "secret",
	    TEST_SECRET "\n", 0600);
	fx->cfg->oauth2.ca_file = xstrdup(fx->cred.cert_path);
	ck_assert(oauth_config_load(fx->cfg, &errs));
}

/* Free everything fixture_init made. */
static void
fixture_free(struct fixture *fx)
{
	oauth_caches_free(&fx->srv);
	config_unref(fx->cfg);
	evhttp_free(fx->ep.http);
	SSL_CTX_free(fx->ep.ctx);
	evdns_base_free(fx->srv.dns, 0);
	event_base_free(fx->srv.base);
	cred_free(&fx->cred);
}

/* Record a token callback's outcome. */
static void
answer_cb(void *arg, const char *token, const char *error)
{
	struct answer *a = arg;

	ck_assert(!a->called);
	ck_assert((token == NULL) != (error == NULL));
	a->called = true;
	snprintf(a->token, sizeof(a->token), "%s", token != NULL ? token : "");
	snprintf(a->error, sizeof(a->error), "%s", error != NULL ? error : "");
	event_base_loopbreak(a->fx->srv.base);
}

/* Give up on a loop that takes too long. */
static void
loop_deadlinecb(evutil_socket_t fd, short what, void *arg)
{
	bool *expired = arg;

	(void)fd; (void)what;
	*expired = true;
}

/* Run the loop until every answer in a has come. */
static void
loop_until(struct fixture *fx, struct answer *a, size_t n)
{
	struct timeval tv = { LOOP_SECONDS, 0 };
	bool expired = false;
	struct event *deadline;
	size_t i, done;

	deadline = evtimer_new(fx->srv.base, loop_deadlinecb, &expired);
	evtimer_add(deadline, &tv);
	do {
		event_base_loop(fx->srv.base, EVLOOP_ONCE);
		for (i = 0, done = 0; i < n; i++)
			done += a[i].called;
	} while (done < n && !expired);
	event_free(deadline);
	ck_assert_msg(!expired, "only %zu of %zu answers came", done, n);
}

/* Three sessions wait on one request; the cached token then serves
 * another without a request; a rejected token is fetched anew. */
START_TEST(test_cache_single_flight)
{
	struct fixture fx;
	struct answer a[5];
	size_t i;

	fixture_init(&fx);
	memset(a, 0, sizeof(a));
	for (i = 0; i < 5; i++)
		a[i].fx = &fx;
	for (i = 0; i < 3; i++)
		ck_assert_ptr_nonnull(oauth_token_get(&fx.srv, fx.cfg,
		    answer_cb, &a[i]));
	ck_assert(!a[0].called && !a[1].called && !a[2].called);
	loop_until(&fx, a, 3);
	ck_assert_int_eq(fx.ep.requests, 1);
	for (i = 0; i < 3; i++)
		ck_assert_str_eq(a[i].token, "tok-1");
	ck_assert_str_eq(fx.ep.content_type, "application/x-www-form-urlencoded");
	ck_assert_ptr_nonnull(strstr(fx.ep.body,
	    "&grant_type=client_credentials&client_secret="
	    "s3cret%2B%2F%3D%20%26"));
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[3]);
	ck_assert(!a[3].called);
	loop_until(&fx, &a[3], 1);
	ck_assert_str_eq(a[3].token, "tok-1");
	ck_assert_int_eq(fx.ep.requests, 1);
	oauth_token_reject(&fx.srv, fx.cfg, "tok-other");
	oauth_token_reject(&fx.srv, fx.cfg, "tok-1");
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[4]);
	loop_until(&fx, &a[4], 1);
	ck_assert_str_eq(a[4].token, "tok-2");
	ck_assert_int_eq(fx.ep.requests, 2);
	fixture_free(&fx);
}
END_TEST

/* A refused request fails every waiter with the AADSTS code; during the
 * backoff a new request fails at once, without asking again. */
START_TEST(test_cache_backoff)
{
	struct fixture fx;
	struct answer a[3];
	size_t i;

	fixture_init(&fx);
	memset(a, 0, sizeof(a));
	for (i = 0; i < 3; i++)
		a[i].fx = &fx;
	fx.ep.status = 401;
	fx.ep.error_body = "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret provided.\",\"trace_id\":"
	    "\"abc-123\"}";
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[0]);
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[1]);
	loop_until(&fx, a, 2);
	ck_assert_int_eq(fx.ep.requests, 1);
	ck_assert_str_eq(a[0].token, "");
	ck_assert_str_eq(a[0].error, "AADSTS7000215 invalid_client "
	    "trace_id=abc-123 (HTTP 401)");
	ck_assert_str_eq(a[1].error, a[0].error);
	fx.ep.status = 200;
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[2]);
	ck_assert(!a[2].called);
	loop_until(&fx, &a[2], 1);
	ck_assert_str_eq(a[2].error, a[0].error);
	ck_assert_int_eq(fx.ep.requests, 1);
	fixture_free(&fx);
}
END_TEST

/* A cancelled request is never answered, and the fetch it started still
 * fills the cache. */
START_TEST(test_cache_cancel)
{
	struct fixture fx;
	struct answer a[2];
	struct oauth_request *req;

	fixture_init(&fx);
	memset(a, 0, sizeof(a));
	a[0].fx = a[1].fx = &fx;
	req = oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[0]);
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[1]);
	oauth_request_cancel(req);
	oauth_request_cancel(NULL);
	loop_until(&fx, &a[1], 1);
	ck_assert(!a[0].called);
	ck_assert_str_eq(a[1].token, "tok-1");
	req = oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a[0]);
	oauth_request_cancel(req);
	event_base_loop(fx.srv.base, EVLOOP_NONBLOCK);
	ck_assert(!a[0].called);
	ck_assert_int_eq(fx.ep.requests, 1);
	fixture_free(&fx);
}
END_TEST

/* An endpoint whose certificate the CA file does not vouch for gets no
 * request: the error names the verification failure. */
START_TEST(test_cache_bad_certificate)
{
	struct config_errors errs = { NULL, 0 };
	struct fixture fx;
	struct answer a = { 0 };
	struct cred other;

	fixture_init(&fx);
	a.fx = &fx;
	cred_make(&other);
	cred_write(&other);
	SSL_CTX_free(fx.cfg->oauth_ctx);
	free(fx.cfg->oauth2.ca_file);
	fx.cfg->oauth2.ca_file = xstrdup(other.cert_path);
	OPENSSL_cleanse(fx.cfg->oauth_secret, strlen(fx.cfg->oauth_secret));
	free(fx.cfg->oauth_secret);
	ck_assert(oauth_config_load(fx.cfg, &errs));
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a);
	loop_until(&fx, &a, 1);
	ck_assert_int_eq(fx.ep.requests, 0);
	ck_assert_msg(strstr(a.error, "certificate verification failed") !=
	    NULL, "error: %s", a.error);
	cred_free(&other);
	fixture_free(&fx);
}
END_TEST

/* A closed port fails with the endpoint named. */
START_TEST(test_cache_unreachable)
{
	struct fixture fx;
	struct answer a = { 0 };
	char *url;

	fixture_init(&fx);
	a.fx = &fx;
	xasprintf(&url, "https://127.0.0.1:1/tenant/token");
	free(fx.cfg->oauth2.token_url);
	fx.cfg->oauth2.token_url = url;
	oauth_token_get(&fx.srv, fx.cfg, answer_cb, &a);
	loop_until(&fx, &a, 1);
	ck_assert_str_eq(a.error, "token endpoint 127.0.0.1:1: Connection "
	    "refused");
	fixture_free(&fx);
}
END_TEST

/* Build the oauth suite. */
Suite *
oauth_suite(void)
{
	Suite *s = suite_create("oauth");
	TCase *tc;

	tc = tcase_create("expiry");
	tcase_add_test(tc, test_token_fresh);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_load_secret);
	tcase_add_test(tc, test_load_assertion);
	tcase_add_test(tc, test_load_pem_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("cache");
	tcase_set_timeout(tc, 2 * LOOP_SECONDS);
	tcase_add_test(tc, test_cache_single_flight);
	tcase_add_test(tc, test_cache_backoff);
	tcase_add_test(tc, test_cache_cancel);
	tcase_add_test(tc, test_cache_bad_certificate);
	tcase_add_test(tc, test_cache_unreachable);
	suite_add_tcase(s, tc);
	return s;
}
