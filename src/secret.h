/* Per-device secrets for the oauth2 mode, stored as crypt(3) hashes. */
#ifndef TLSRELAY_SECRET_H
#define TLSRELAY_SECRET_H

#include <stdbool.h>

/* Is hash a crypt(3) hash this libcrypt can check (yescrypt "$y$" or
 * SHA-512 "$6$")? */
bool	secret_hash_valid(const char *hash);
/* Does secret match its crypt(3) hash? Constant time in the comparison. */
bool	secret_verify(const char *hash, const char *secret);
/* A new yescrypt hash of secret, heap-allocated; NULL on failure. */
char	*secret_hash(const char *secret);

#endif
