/* TLS contexts: the legacy-friendly LAN side and the strict upstream side. */
#ifndef TLSRELAY_TLS_H
#define TLSRELAY_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

#define TLS_READ_AHEAD	(64 * 1024)	/* bytes one read() may take in */

/* Build cfg's LAN and upstream contexts; false with errors on failure
 * (unreadable files, key not matching certificate, bad cipher list). */
bool	tls_config_load(struct config *cfg, struct config_errors *errs);

/* The LAN context's ECDSA certificate (lan_tls.ecdsa_certificate's leaf),
 * or NULL if it has none. */
const X509 *tls_lan_ecdsa_certificate(const struct config *cfg);
/* A new LAN-side SSL object, or NULL when no LAN certificate is set. */
SSL	*tls_lan_new(const struct config *cfg);
/* A new upstream SSL object for a route: SNI, host name check,
 * resumption, and the client certificate of the connector route. */
SSL	*tls_upstream_new(const struct config *cfg, enum route route);

/* What the client offered in its ClientHello ("max=TLSv1 ciphers=...") if
 * the handshake got that far, else NULL. Owned by ssl. */
const char *tls_client_hello(SSL *ssl);
/* The first error of the OpenSSL error queue as text (or "closed"), and
 * clear the queue. */
const char *tls_error_string(char *buf, size_t len);
/* Describe why an upstream certificate failed verification, or NULL. */
const char *tls_verify_error(SSL *ssl);

#endif
