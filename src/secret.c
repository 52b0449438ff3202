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
/*
 * The cost ceilings, so that a hand-edited hash cannot make each login
 * (and the check at load) cost seconds of the verifier thread: yescrypt's
 * N * r at most 2^19 (64 MiB, libxcrypt's cost 7, "$y$jBT$"; the default
 * is cost 5), and SHA-512 crypt at most 100000 rounds (the default is
 * 5000). tlsrelayd.conf(5) documents them.
 */
#define SECRET_YESCRYPT_MAX	(1UL << 19)
#define SECRET_SHA512_MAX	100000UL

static bool	 secret_yescrypt_cost_ok(const char *params);
static bool	 secret_sha512_cost_ok(const char *params);

/* The methods accepted, with the length of their hash part and the check
 * of their cost parameters. */
static const struct {
	const char	*prefix;
	size_t		 hash_len;
	bool		(*cost_ok)(const char *params);
} secret_methods[] = {
	{ "$y$", 43, secret_yescrypt_cost_ok },
	{ "$6$", 86, secret_sha512_cost_ok },
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
static int	 secret_method_index(const char *hash);
static bool	 secret_cost_ok(const char *hash);
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
	    strspn(tail + 1, SECRET_ALPHABET) == want && secret_cost_ok(hash) &&
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
	int i = secret_method_index(hash);

	return i < 0 ? 0 : secret_methods[i].hash_len;
}

/* The index of hash's method in secret_methods, or -1. */
static int
secret_method_index(const char *hash)
{
	size_t i;

	for (i = 0; i < nitems(secret_methods); i++)
		if (strncmp(hash, secret_methods[i].prefix,
		    strlen(secret_methods[i].prefix)) == 0)
			return (int)i;
	return -1;
}

/* Are the cost parameters of hash within the method's ceiling? */
static bool
secret_cost_ok(const char *hash)
{
	int i = secret_method_index(hash);

	return i >= 0 && secret_methods[i].cost_ok(hash +
	    strlen(secret_methods[i].prefix));
}

/*
 * yescrypt parameters as crypt_gensalt writes them ("j9T"): the flavour,
 * then log2(N) - 1 and r - 1, one base-64 digit each. Longer parameter
 * strings (p, t, ROM) are refused with the rest.
 */
static bool
secret_yescrypt_cost_ok(const char *params)
{
	const char *n, *r;

	if (strcspn(params, "$") != 3 || params[0] == '\0' ||
	    (n = strchr(SECRET_ALPHABET, params[1])) == NULL ||
	    (r = strchr(SECRET_ALPHABET, params[2])) == NULL ||
	    n - SECRET_ALPHABET + 1 >= 32 || r - SECRET_ALPHABET + 1 > 32)
		return false;
	return (1UL << (n - SECRET_ALPHABET + 1)) *
	    (unsigned long)(r - SECRET_ALPHABET + 1) <= SECRET_YESCRYPT_MAX;
}

/* SHA-512 crypt: the default 5000 rounds, or "rounds=N$" under the
 * ceiling. */
static bool
secret_sha512_cost_ok(const char *params)
{
	unsigned long rounds = 0;
	size_t digits;

	if (strncmp(params, "rounds=", 7) != 0)
		return true;
	params += 7;
	digits = strspn(params, "0123456789");
	if (digits == 0 || digits > 9 || params[digits] != '$')
		return false;
	for (; digits > 0; digits--, params++)
		rounds = rounds * 10 + (unsigned long)(*params - '0');
	return rounds <= SECRET_SHA512_MAX;
}

/* Hash secret with setting into cd; NULL when crypt refuses either. */
static char *
secret_crypt(const char *secret, const char *setting, struct crypt_data *cd)
{
	char *out = crypt_rn(secret, setting, cd, (int)sizeof(*cd));

	return out != NULL && out[0] != '*' ? out : NULL;
}
