/* Unit tests for secret.c: crypt(3) hashes of per-device secrets. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "secret.h"
#include "suites.h"

/* The SHA-crypt specification's test vector for SHA-512, 5000 rounds. */
#define SHA512_VECTOR	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/" \
	"O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
#define SHA512_SECRET	"Hello world!"
/* A yescrypt hash of "secret" made by libxcrypt. */
#define YESCRYPT_VECTOR	"$y$j9T$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU." \
	"J5tVnQlIsCdwzJdS7P0nL4"

/* A new hash is yescrypt, valid, and verifies only its own secret. */
START_TEST(test_hash_verify)
{
	char *hash = secret_hash("copier secret 1");
	char *again = secret_hash("copier secret 1");

	ck_assert_ptr_nonnull(hash);
	ck_assert_ptr_nonnull(again);
	ck_assert_int_eq(strncmp(hash, "$y$", 3), 0);
	ck_assert_str_ne(hash, again);
	ck_assert(secret_hash_valid(hash));
	ck_assert(secret_hash_valid(hash));	/* known valid now */
	hash[strlen(hash) - 44] = '?';		/* a bad salt character */
	ck_assert(!secret_hash_valid(hash));
	free(hash);
	hash = secret_hash("copier secret 1");
	ck_assert(secret_verify(hash, "copier secret 1"));
	ck_assert(secret_verify(again, "copier secret 1"));
	ck_assert(!secret_verify(hash, "copier secret 2"));
	ck_assert(!secret_verify(hash, "copier secret 1 "));
	ck_assert(!secret_verify(hash, ""));
	free(hash);
	free(again);
}
END_TEST

/* A remembered verdict, right or wrong, is tied to its hash and its exact
 * secret: later rounds answer from memory and must agree with crypt(3). */
START_TEST(test_remembered_verification)
{
	char *a = secret_hash("scanner-a"), *b = secret_hash("scanner-b");
	int round;

	for (round = 0; round < 3; round++) {
		ck_assert(secret_verify(a, "scanner-a"));
		ck_assert(secret_verify(b, "scanner-b"));
		ck_assert(!secret_verify(a, "scanner-b"));
		ck_assert(!secret_verify(b, "scanner-a"));
		ck_assert(!secret_verify(a, "scanner-"));
		ck_assert(!secret_verify(a, "scanner-aa"));
	}
	free(a);
	free(b);
}
END_TEST

/* SHA-512 crypt hashes made elsewhere verify. */
START_TEST(test_sha512_vector)
{
	ck_assert(secret_hash_valid(SHA512_VECTOR));
	ck_assert(secret_verify(SHA512_VECTOR, SHA512_SECRET));
	ck_assert(!secret_verify(SHA512_VECTOR, "Hello world"));
}
END_TEST

/* Anything but a whole yescrypt or SHA-512 hash is refused. */
START_TEST(test_invalid_hashes)
{
	static const char *const bad[] = {
		"",
		"secret",
		"$1$abc$OGyl6dDvZCDiGmIVbeuCq/",	/* MD5 */
		"xx0NJ9PLmx6UE",			/* DES */
		"$2b$10$abcdefghijklmnopqrstuu",	/* bcrypt: not ours */
		"$y$",
		"$y$j9T$",
		"$y$j9T$l5K/tetyiP2dtXyXkUAOt/",
		"$y$j9T$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU",
		"$y$j9T$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0nL4x",
		"$y$j9T$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0n!4",
		"$y$zzz$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0nL4",
		"$6$saltstring$",
		"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl",
		"$6$rounds=abc$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
		    "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
		" " SHA512_VECTOR,
	};
	size_t i;

	ck_assert(secret_hash_valid(YESCRYPT_VECTOR));
	ck_assert(secret_verify(YESCRYPT_VECTOR, "secret"));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!secret_hash_valid(bad[i]), "accepted '%s'",
		    bad[i]);
		ck_assert(!secret_verify(bad[i], ""));
	}
	ck_assert(!secret_verify("$1$abc$OGyl6dDvZCDiGmIVbeuCq/", "x"));
}
END_TEST

/* Costs over the ceiling are refused before any hashing: yescrypt N * r
 * up to 2^19 (libxcrypt cost 7), SHA-512 up to 100000 rounds. */
START_TEST(test_cost_ceiling)
{
	static const char *const over[] = {
		"$y$jCT$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0nL4",			/* cost 8: 128 MiB */
		"$y$jFT$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0nL4",			/* cost 11: 1 GiB */
		"$y$jBU$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlIs"
		    "CdwzJdS7P0nL4",			/* r 33 */
		"$y$j9T1$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQwo3hLvBPU.J5tVnQlI"
		    "sCdwzJdS7P0nL4",			/* more parameters */
		"$6$rounds=100001$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMH"
		    "Wjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
		"$6$rounds=999999999$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKw"
		    "SMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
	};
	char *hash;
	size_t i;

	for (i = 0; i < sizeof(over) / sizeof(over[0]); i++)
		ck_assert_msg(!secret_hash_valid(over[i]), "accepted '%s'",
		    over[i]);
	/* At the ceiling: the setting is accepted (the hash part is only
	 * checked by a login). */
	ck_assert(secret_hash_valid("$y$jBT$l5K/tetyiP2dtXyXkUAOt/$OsesJZfebrQ"
	    "wo3hLvBPU.J5tVnQlIsCdwzJdS7P0nL4"));
	ck_assert(secret_hash_valid("$6$rounds=100000$saltstring$svn8UoSVapNt"
	    "Muq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFC"
	    "oEOfaS35inz1"));
	hash = secret_hash("x");
	ck_assert(hash != NULL && secret_hash_valid(hash));
	free(hash);
}
END_TEST

/* Build the secret suite. */
Suite *
secret_suite(void)
{
	Suite *s = suite_create("secret");
	TCase *tc = tcase_create("crypt");

	tcase_add_test(tc, test_hash_verify);
	tcase_add_test(tc, test_remembered_verification);
	tcase_add_test(tc, test_sha512_vector);
	tcase_add_test(tc, test_invalid_hashes);
	tcase_add_test(tc, test_cost_ceiling);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
