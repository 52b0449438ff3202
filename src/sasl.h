/* SASL PLAIN and LOGIN decoding, PLAIN encoding, the XOAUTH2 error
 * challenge, base64. */
#ifndef TLSRELAY_SASL_H
#define TLSRELAY_SASL_H

#include <stdbool.h>
#include <stddef.h>

#define SASL_FIELD_MAX	256	/* user name or password, bytes incl. NUL */

/* Credentials collected from a device; wipe with sasl_creds_clear(). */
struct sasl_creds {
	char	user[SASL_FIELD_MAX];
	char	pass[SASL_FIELD_MAX];
};

/*
 * Decode base64 text (no whitespace allowed; "=" alone decodes to empty)
 * into dst, NUL-terminated. Returns the decoded length, or -1 on bad
 * base64 or when the result (plus NUL) does not fit.
 */
long	sasl_b64_decode(const char *text, size_t textlen, char *dst,
	    size_t dstlen);
/* Encode len bytes as base64 into dst, NUL-terminated; -1 if too small. */
long	sasl_b64_encode(const void *src, size_t len, char *dst, size_t dstlen);

/*
 * Decode an AUTH PLAIN response (base64 of authzid NUL authcid NUL passwd).
 * An authzid, if present, must equal authcid. False on any malformation,
 * empty user or password, or a field too long.
 */
bool	sasl_plain_decode(const char *text, size_t textlen,
	    struct sasl_creds *creds);
/* Decode one AUTH LOGIN answer (a base64 user name or password) into dst
 * of SASL_FIELD_MAX bytes; false if malformed, empty or too long. */
bool	sasl_login_decode(const char *text, size_t textlen, char *dst);
/* Encode user and password as an AUTH PLAIN response (no authzid). */
bool	sasl_plain_encode(const struct sasl_creds *creds, char *dst,
	    size_t dstlen);
/* The XOAUTH2 initial response for user and an access token: base64 of
 * "user=" user ^A "auth=Bearer " token ^A ^A, heap-allocated. */
char	*sasl_xoauth2_encode(const char *user, const char *token);
/* The text of an XOAUTH2 error challenge (base64 of a JSON status),
 * decoded and escaped for the log into dst of len bytes; the text itself,
 * escaped, if it is not base64. */
void	sasl_xoauth2_challenge(char *dst, size_t len, const char *text);
/* Overwrite credentials so they do not linger in memory. */
void	sasl_creds_clear(struct sasl_creds *creds);

#endif
