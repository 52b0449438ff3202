/* Unit tests for refusals.c: one log line per address per minute. */
#include <stdlib.h>

#include "refusals.h"
#include "suites.h"

/* Within the window only the first refusal is logged; the next line, a
 * window later, carries the count of those left out. */
START_TEST(test_one_line_per_window)
{
	struct refusals *r = calloc(1, sizeof(*r));
	unsigned n = 99;
	int i;

	ck_assert(refusals_log_due(r, "192.0.2.7", 1000, &n));
	ck_assert_uint_eq(n, 0);
	for (i = 0; i < 5; i++)
		ck_assert(!refusals_log_due(r, "192.0.2.7", 1000 + i, &n));
	ck_assert(!refusals_log_due(r, "192.0.2.7",
	    1000 + REFUSALS_WINDOW - 1, &n));
	ck_assert(refusals_log_due(r, "192.0.2.7", 1000 + REFUSALS_WINDOW,
	    &n));
	ck_assert_uint_eq(n, 6);
	ck_assert(!refusals_log_due(r, "192.0.2.7",
	    1000 + REFUSALS_WINDOW + 1, &n));
	free(r);
}
END_TEST

/* Each address has its own window. */
START_TEST(test_addresses_apart)
{
	struct refusals *r = calloc(1, sizeof(*r));
	unsigned n;

	ck_assert(refusals_log_due(r, "192.0.2.7", 1000, &n));
	ck_assert(refusals_log_due(r, "192.0.2.8", 1000, &n));
	ck_assert(refusals_log_due(r, "2001:db8::1", 1000, &n));
	ck_assert(!refusals_log_due(r, "192.0.2.8", 1001, &n));
	free(r);
}
END_TEST

Suite *
refusals_suite(void)
{
	Suite *s = suite_create("refusals");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_one_line_per_window);
	tcase_add_test(tc, test_addresses_apart);
	suite_add_tcase(s, tc);
	return s;
}
