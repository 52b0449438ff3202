/* OAuth2 credentials at load: client secret, or certificate and key. */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/http.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "log.h"
#include "oauth.h"
#include "tls.h"
#include "util.h"

#define OAUTH_SECRET_MAX	4096	/* bytes in a client secret file */

/* Reads the first PEM object of an open file; NULL if there is none. */
typedef void	*pem_reader(FILE *fp);

static void	 oauth_cred_error(const struct config *cfg,
		    struct config_errors *errs, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
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
static void	*oauth_pem_read(const struct config *cfg, const char *key,
		    const char *path, pem_reader *read,
		    struct config_errors *errs);
static pem_reader oauth_pem_cert, oauth_pem_key;
static SSL_CTX	*oauth_ctx_new(const struct config *cfg,
		    struct config_errors *errs);

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
		oauth_cred_error(cfg, errs, "token_url %s is not an https URL "
		    "with a host", cfg->oauth2.token_url);
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
		oauth_cred_error(cfg, errs, "client_secret_file %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (oauth_secret_file_ok(cfg, fd, errs)) {
		if ((n = read(fd, buf, sizeof(buf))) < 0)
			oauth_cred_error(cfg, errs, "client_secret_file %s: "
			    "%s", path, strerror(errno));
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
		oauth_cred_error(cfg, errs, "client_secret_file %s is not a "
		    "regular file", path);
		return false;
	}
	if (st.st_mode & S_IRWXO) {
		oauth_cred_error(cfg, errs, "client_secret_file %s is readable "
		    "by others (mode %04o): run chmod o-rwx on it", path,
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
		oauth_cred_error(cfg, errs, "client_secret_file %s is longer "
		    "than %d bytes", path, OAUTH_SECRET_MAX);
		return NULL;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			break;
	if (len == 0 || i < len) {
		oauth_cred_error(cfg, errs, "client_secret_file %s must hold "
		    "the secret on one line", path);
		return NULL;
	}
	return xstrdup(buf);
}

/* Load the assertion certificate and its RSA key, which must match. */
static void
oauth_assertion_load(struct config *cfg, struct config_errors *errs)
{
	const struct oauth_conf *oc = &cfg->oauth2;

	if ((cfg->oauth_cert = oauth_pem_read(cfg, "certificate",
	    oc->certificate, oauth_pem_cert, errs)) == NULL ||
	    (cfg->oauth_key = oauth_pem_read(cfg, "key", oc->key,
	    oauth_pem_key, errs)) == NULL)
		return;
	if (!EVP_PKEY_is_a(cfg->oauth_key, "RSA"))
		oauth_cred_error(cfg, errs, "key %s is not an RSA key (the "
		    "assertion is signed with RS256)", oc->key);
	else if (X509_check_private_key(cfg->oauth_cert, cfg->oauth_key) != 1)
		oauth_cred_error(cfg, errs, "key %s does not match "
		    "certificate %s", oc->key, oc->certificate);
	ERR_clear_error();
}

/* Read the first object of an oauth2 PEM file with read; NULL with an
 * error naming the file by its key. */
static void *
oauth_pem_read(const struct config *cfg, const char *key, const char *path,
    pem_reader *read, struct config_errors *errs)
{
	FILE *fp = fopen(path, "r");
	void *obj = NULL;
	char err[256];

	if (fp == NULL)
		oauth_cred_error(cfg, errs, "%s %s: %s", key, path,
		    strerror(errno));
	else if ((obj = read(fp)) == NULL)
		oauth_cred_error(cfg, errs, "%s %s: %s", key, path,
		    tls_error_string(err, sizeof(err)));
	if (fp != NULL)
		fclose(fp);
	return obj;
}

/* The first certificate of a PEM file. */
static void *
oauth_pem_cert(FILE *fp)
{
	return PEM_read_X509(fp, NULL, NULL, NULL);
}

/* The first private key of a PEM file. */
static void *
oauth_pem_key(FILE *fp)
{
	return PEM_read_PrivateKey(fp, NULL, NULL, NULL);
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
	oauth_cred_error(cfg, errs, "ca_file %s: %s",
	    ca != NULL ? ca : "(system store)",
	    tls_error_string(err, sizeof(err)));
	SSL_CTX_free(ctx);
	return NULL;
}

/* Record an error about the oauth2 section, at its line in the main file;
 * fmt starts with the key ("key %s: ..."). */
static void
oauth_cred_error(const struct config *cfg, struct config_errors *errs,
    const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	config_errors_add(errs, "%s:%d: oauth2.%s", cfg->file,
	    cfg->oauth2.line, msg);
	free(msg);
}
