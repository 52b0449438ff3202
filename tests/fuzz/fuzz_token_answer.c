/*
 * Fuzz target: the token endpoint's answer (oauth_answer_parse,
 * oauth_parse_answer, oauth_answer_describe). A token comes only from an
 * HTTP 200 Bearer answer with a positive expiry, and is a b64token (RFC
 * 6750), so it cannot break the XOAUTH2 string it goes into; the two
 * entry points agree; what a failure logs is printable and fits.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "oauth_wire.h"

#define B64TOKEN	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789-._~+/="

static void	check_printable(const char *);

/* Every byte is printable ASCII. */
static void
check_printable(const char *s)
{
	for (; *s != '\0'; s++)
		FUZZ_CHECK(*s >= 0x20 && *s < 0x7f);
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int statuses[] = { 200, 400, 401, 500 };
	struct oauth_answer ans;
	struct oauth_token tok;
	char err[256];
	int status;
	bool ok;

	if (size < 1)
		return 0;
	status = statuses[data[0] % 4];
	ok = oauth_answer_parse(status, (const char *)data + 1, size - 1, &ans);
	FUZZ_CHECK(ok == oauth_parse_answer(status, (const char *)data + 1,
	    size - 1, &tok, err, sizeof(err)));
	if (ok) {
		FUZZ_CHECK(status == 200 && ans.expires_in > 0);
		FUZZ_CHECK(ans.token != NULL && ans.token[0] != '\0');
		FUZZ_CHECK(strspn(ans.token, B64TOKEN) == strlen(ans.token));
		FUZZ_CHECK(strcmp(ans.token, tok.access_token) == 0 &&
		    tok.expires_in == ans.expires_in);
		free(ans.token);
		free(tok.access_token);
		return 0;
	}
	FUZZ_CHECK(ans.token == NULL && tok.access_token == NULL);
	check_printable(ans.code);
	check_printable(ans.error);
	check_printable(ans.trace_id);
	check_printable(err);
	oauth_answer_describe(&ans, err, sizeof(err));
	FUZZ_CHECK(strlen(err) < sizeof(err) && err[0] != '\0');
	return 0;
}
