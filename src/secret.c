/* Per-device secrets for the oauth2 mode, stored as crypt(3) hashes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/crypto.h>

#include "secret.h"
#include "util.h"

#define SECRET_METHOD	"$y$"	/* yescrypt, libxcrypt's default cost */
#define SECRET_ALPHABET	"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" \
			"abcdefghijklmnopqrstuvwxyz"

/* The methods accepted, with the length of their hash part. */
static const struct {
	const char	*prefix;
	size_t		 hash_len;
} secret_methods[] = {
	{ "$y$", 43 },		/* yescrypt */
	{ "$6$", 86 },		/* SHA-512 crypt */
};

static size_t	 secret_method_hash_len(const char *hash);
static char	*secret_crypt(const char *secret, const char *setting,
		    struct crypt_data *cd);

/* Is hash a crypt(3) hash this libcrypt can check (yescrypt or SHA-512)?
 * Hashing once is the only full check of yescrypt's parameters. */
bool
secret_hash_valid(const char *hash)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out, *tail = strrchr(hash, '$');
	size_t want = secret_method_hash_len(hash);
	bool ok;

	ok = want != 0 && tail != NULL && strlen(tail + 1) == want &&
	    strspn(tail + 1, SECRET_ALPHABET) == want &&
	    (out = secret_crypt("", hash, cd)) != NULL &&
	    strlen(out) == strlen(hash) &&
	    strncmp(out, hash, (size_t)(tail - hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Does secret match its crypt(3) hash? Constant time in the comparison. */
bool
secret_verify(const char *hash, const char *secret)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *out;
	size_t len = strlen(hash);
	bool ok;

	ok = secret_method_hash_len(hash) != 0 &&
	    (out = secret_crypt(secret, hash, cd)) != NULL &&
	    strlen(out) == len && CRYPTO_memcmp(out, hash, len) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* A new yescrypt hash of secret, heap-allocated; NULL on failure. */
char *
secret_hash(const char *secret)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	char salt[CRYPT_GENSALT_OUTPUT_SIZE], *out = NULL;
	const char *hash;

	if (crypt_gensalt_rn(SECRET_METHOD, 0, NULL, 0, salt,
	    sizeof(salt)) != NULL &&
	    (hash = secret_crypt(secret, salt, cd)) != NULL)
		out = xstrdup(hash);
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return out;
}

/* The hash-part length of hash's method, or 0 for a method not accepted. */
static size_t
secret_method_hash_len(const char *hash)
{
	size_t i;

	for (i = 0; i < nitems(secret_methods); i++)
		if (strncmp(hash, secret_methods[i].prefix,
		    strlen(secret_methods[i].prefix)) == 0)
			return secret_methods[i].hash_len;
	return 0;
}

/* Hash secret with setting into cd; NULL when crypt refuses either. */
static char *
secret_crypt(const char *secret, const char *setting, struct crypt_data *cd)
{
	char *out = crypt_rn(secret, setting, cd, (int)sizeof(*cd));

	return out != NULL && out[0] != '*' ? out : NULL;
}
