/* Unit tests for mailboxes.c: upstream sessions counted per mailbox. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailboxes.h"
#include "suites.h"

#define MANY	5000	/* distinct mailboxes: the table grows many times */

/* Sessions are counted up to the limit and no further. */
START_TEST(test_acquire_up_to_max)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert_uint_eq(mailboxes_count(mb, "scan@example.org"), 0);
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	ck_assert(!mailboxes_acquire(mb, "scan@example.org", 2));
	ck_assert_uint_eq(mailboxes_count(mb, "scan@example.org"), 2);
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 3));
	ck_assert_uint_eq(mailboxes_count(mb, "scan@example.org"), 3);
	ck_assert(!mailboxes_acquire(mb, "other@example.org", 0));
	ck_assert_uint_eq(mailboxes_size(mb), 1);
	mailboxes_free(mb);
}
END_TEST

/* Names differing only in case are the same mailbox. */
START_TEST(test_case_insensitive)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert(mailboxes_acquire(mb, "Scan@Example.ORG", 2));
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	ck_assert(!mailboxes_acquire(mb, "SCAN@EXAMPLE.ORG", 2));
	ck_assert_uint_eq(mailboxes_count(mb, "sCaN@eXaMpLe.OrG"), 2);
	ck_assert_uint_eq(mailboxes_size(mb), 1);
	mailboxes_release(mb, "SCAN@example.org");
	ck_assert_uint_eq(mailboxes_count(mb, "scan@example.org"), 1);
	mailboxes_free(mb);
}
END_TEST

/* Mailboxes are counted apart: one at its limit does not hold another. */
START_TEST(test_mailboxes_apart)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert(mailboxes_acquire(mb, "a@example.org", 1));
	ck_assert(!mailboxes_acquire(mb, "a@example.org", 1));
	ck_assert(mailboxes_acquire(mb, "b@example.org", 1));
	ck_assert(mailboxes_acquire(mb, "a@example.com", 1));
	ck_assert_uint_eq(mailboxes_size(mb), 3);
	ck_assert_uint_eq(mailboxes_count(mb, "c@example.org"), 0);
	mailboxes_free(mb);
}
END_TEST

/* A release makes room again; an entry is removed when its count is 0. */
START_TEST(test_release_removes_at_zero)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	mailboxes_release(mb, "scan@example.org");
	ck_assert_uint_eq(mailboxes_size(mb), 1);
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 2));
	mailboxes_release(mb, "scan@example.org");
	mailboxes_release(mb, "scan@example.org");
	ck_assert_uint_eq(mailboxes_count(mb, "scan@example.org"), 0);
	ck_assert_uint_eq(mailboxes_size(mb), 0);
	ck_assert(mailboxes_acquire(mb, "scan@example.org", 1));
	ck_assert_uint_eq(mailboxes_size(mb), 1);
	mailboxes_free(mb);
}
END_TEST

/* Many mailboxes: every count survives the table's growth, and releasing
 * them all, half of them first, empties it. */
START_TEST(test_many_mailboxes)
{
	struct mailboxes *mb = mailboxes_new();
	char name[64];
	int i;

	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "user%d@example.org", i);
		ck_assert(mailboxes_acquire(mb, name, 2));
		ck_assert(mailboxes_acquire(mb, name, 2));
	}
	ck_assert_uint_eq(mailboxes_size(mb), MANY);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "USER%d@example.org", i);
		ck_assert_uint_eq(mailboxes_count(mb, name), 2);
		ck_assert(!mailboxes_acquire(mb, name, 2));
		mailboxes_release(mb, name);
	}
	ck_assert_uint_eq(mailboxes_size(mb), MANY);
	for (i = MANY - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "user%d@example.org", i);
		mailboxes_release(mb, name);
		ck_assert_uint_eq(mailboxes_count(mb, name), 0);
	}
	ck_assert_uint_eq(mailboxes_size(mb), 0);
	mailboxes_free(mb);
}
END_TEST

/* Names that are empty or not ASCII are counted like any other. */
START_TEST(test_odd_names)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert(mailboxes_acquire(mb, "", 1));
	ck_assert(!mailboxes_acquire(mb, "", 1));
	ck_assert(mailboxes_acquire(mb, "\xc3\xa9t\xc3\xa9@example.org", 1));
	ck_assert(!mailboxes_acquire(mb, "\xc3\xa9t\xc3\xa9@EXAMPLE.org", 1));
	ck_assert(mailboxes_acquire(mb, "\xc3\x89t\xc3\xa9@example.org", 1));
	ck_assert_uint_eq(mailboxes_size(mb), 3);
	mailboxes_release(mb, "");
	ck_assert_uint_eq(mailboxes_size(mb), 2);
	mailboxes_free(mb);
}
END_TEST

/* Releasing a mailbox that holds no session is a programming error. */
START_TEST(test_release_unknown_exits)
{
	struct mailboxes *mb = mailboxes_new();

	ck_assert(mailboxes_acquire(mb, "a@example.org", 1));
	mailboxes_release(mb, "b@example.org");
}
END_TEST

/* The mailboxes suite. */
Suite *
mailboxes_suite(void)
{
	const char *ckfork = getenv("CK_FORK");
	bool nofork = ckfork != NULL && strcmp(ckfork, "no") == 0;
	Suite *s = suite_create("mailboxes");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_acquire_up_to_max);
	tcase_add_test(tc, test_case_insensitive);
	tcase_add_test(tc, test_mailboxes_apart);
	tcase_add_test(tc, test_release_removes_at_zero);
	tcase_add_test(tc, test_many_mailboxes);
	tcase_add_test(tc, test_odd_names);
	if (!nofork)
		tcase_add_exit_test(tc, test_release_unknown_exits, 1);
	suite_add_tcase(s, tc);
	return s;
}
