/* The token endpoint wire format, no I/O or clock: answer JSON, form, JWT. */
#ifndef TLSRELAY_OAUTH_WIRE_H
#define TLSRELAY_OAUTH_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"

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

/* A parsed token endpoint answer. */
struct oauth_token {
	char	*access_token;	/* heap; NULL on error */
	long	 expires_in;	/* seconds */
};

/*
 * Read a token endpoint answer into ans: on HTTP 200 with a Bearer
 * access_token and expires_in, true with ans->token (heap, caller frees);
 * otherwise false with the answer's AADSTS code, error, trace id and
 * description, or the problem, filled in.
 */
bool	oauth_answer_parse(int status, const char *body, size_t len,
	    struct oauth_answer *ans);
/* The log-safe text of a failed answer: AADSTS code, error and trace id
 * when it has them, else what was wrong, and the HTTP status. */
void	oauth_answer_describe(const struct oauth_answer *ans, char *err,
	    size_t errlen);

/*
 * Parse a token endpoint answer. On HTTP 200 with a Bearer access_token
 * and expires_in, fill tok and return true. Otherwise return false with a
 * log-safe error in err: the AADSTS code, error and trace_id when the
 * answer carries them ("AADSTS7000215 invalid_client trace_id=..."), or
 * what was wrong (malformed JSON, missing field).
 */
bool	oauth_parse_answer(int http_status, const char *body, size_t len,
	    struct oauth_token *tok, char *err, size_t errlen);
/* The form body of a token request (URL-encoded), with either the client
 * secret or a signed assertion. */
char	*oauth_form_body(const struct oauth_conf *oc, const char *secret,
	    const char *assertion);
/* A client assertion JWT (RS256, x5t#S256 header) for the token URL,
 * valid from now for a few minutes; NULL on failure. */
char	*oauth_jwt_assertion(EVP_PKEY *key, X509 *cert, const char *client_id,
	    const char *token_url, time_t now);

#endif
