/* Per-device secrets for the oauth2 mode, stored as crypt(3) hashes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "secret.h"
#include "util.h"

#define SECRET_METHOD	"$y$"	/* yescrypt, libxcrypt's default cost */
#define SECRET_REMEMBERED 256	/* verdicts kept, by HMAC of the secret */
#define SECRET_VALID_MAX 4096	/* hashes known to be valid, kept */
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

/*
 * crypt(3) verdicts, kept as HMAC-SHA256(key, hash NUL secret) under a
 * per-process random key with whether the secret matched: a device that
 * logs in again with the same secret, right or wrong, costs an HMAC
 * instead of a yescrypt run on the event loop. crypt(3) is deterministic,
 * so a remembered verdict is the verdict.
 */
static struct {
	char		*hash;
	unsigned char	 mac[32];
	bool		 match;
} remembered[SECRET_REMEMBERED];
/* Hashes that passed secret_hash_valid(): a reload that keeps a device's
 * hash does not pay for crypt(3) again. Used on the loop's thread only. */
static char		*valid_hashes[SECRET_VALID_MAX];
static size_t		 nvalid_hashes;
static unsigned char	 remember_key[32];
static bool		 remember_keyed;
static size_t		 remember_next;

static size_t	 secret_method_hash_len(const char *hash);
static bool	 secret_hash_known_valid(const char *hash);
static bool	 secret_mac(const char *hash, const char *secret,
		    unsigned char mac[32]);
static bool	 secret_recall(const char *hash, const unsigned char *mac,
		    bool *match);
static void	 secret_remember(const char *hash, const unsigned char *mac,
		    bool match);
static char	*secret_crypt(const char *secret, const char *setting,
		    struct crypt_data *cd);

/* Is hash a crypt(3) hash this libcrypt can check (yescrypt or SHA-512)?
 * Hashing once is the only full check of yescrypt's parameters. */
bool
secret_hash_valid(const char *hash)
{
	struct crypt_data *cd;
	const char *out, *tail = strrchr(hash, '$');
	size_t want = secret_method_hash_len(hash);
	bool ok;

	if (secret_hash_known_valid(hash))
		return true;
	cd = xcalloc(1, sizeof(*cd));
	ok = want != 0 && tail != NULL && strlen(tail + 1) == want &&
	    strspn(tail + 1, SECRET_ALPHABET) == want &&
	    (out = secret_crypt("", hash, cd)) != NULL &&
	    strlen(out) == strlen(hash) &&
	    strncmp(out, hash, (size_t)(tail - hash)) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	if (ok && nvalid_hashes < SECRET_VALID_MAX)
		valid_hashes[nvalid_hashes++] = xstrdup(hash);
	return ok;
}

/* Did this hash pass secret_hash_valid() before? */
static bool
secret_hash_known_valid(const char *hash)
{
	size_t i;

	for (i = 0; i < nvalid_hashes; i++)
		if (strcmp(valid_hashes[i], hash) == 0)
			return true;
	return false;
}

/* Does secret match its crypt(3) hash? Constant time in the comparison. */
bool
secret_verify(const char *hash, const char *secret)
{
	struct crypt_data *cd;
	unsigned char mac[32];
	const char *out;
	size_t len = strlen(hash);
	bool have_mac = secret_mac(hash, secret, mac), ok;

	if (have_mac && secret_recall(hash, mac, &ok)) {
		OPENSSL_cleanse(mac, sizeof(mac));
		return ok;
	}
	cd = xcalloc(1, sizeof(*cd));
	ok = secret_method_hash_len(hash) != 0 &&
	    (out = secret_crypt(secret, hash, cd)) != NULL &&
	    strlen(out) == len && CRYPTO_memcmp(out, hash, len) == 0;
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	if (have_mac)
		secret_remember(hash, mac, ok);
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

/* HMAC-SHA256 of hash NUL secret under the process's random key. */
static bool
secret_mac(const char *hash, const char *secret, unsigned char mac[32])
{
	size_t hlen = strlen(hash), slen = strlen(secret);
	unsigned char *data = xcalloc(1, hlen + 1 + slen);
	unsigned int maclen = 0;
	bool ok;

	if (!remember_keyed)
		remember_keyed = RAND_bytes(remember_key,
		    sizeof(remember_key)) == 1;
	memcpy(data, hash, hlen);
	memcpy(data + hlen + 1, secret, slen);
	ok = remember_keyed && HMAC(EVP_sha256(), remember_key,
	    sizeof(remember_key), data, hlen + 1 + slen, mac, &maclen) != NULL
	    && maclen == 32;
	OPENSSL_cleanse(data, hlen + 1 + slen);
	free(data);
	return ok;
}

/* Was this secret already checked against this hash? Its verdict in
 * *match if so. */
static bool
secret_recall(const char *hash, const unsigned char *mac, bool *match)
{
	size_t i;

	for (i = 0; i < SECRET_REMEMBERED; i++) {
		if (remembered[i].hash != NULL &&
		    strcmp(remembered[i].hash, hash) == 0 &&
		    CRYPTO_memcmp(remembered[i].mac, mac, 32) == 0) {
			*match = remembered[i].match;
			return true;
		}
	}
	return false;
}

/* Keep a secret's verdict by its HMAC, replacing the oldest when full. */
static void
secret_remember(const char *hash, const unsigned char *mac, bool match)
{
	size_t i = remember_next++ % SECRET_REMEMBERED;

	free(remembered[i].hash);
	remembered[i].hash = xstrdup(hash);
	memcpy(remembered[i].mac, mac, 32);
	remembered[i].match = match;
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
