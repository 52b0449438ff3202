/* Unit tests for verifier.c: secrets checked on a worker thread, verdicts
 * delivered on the event loop, cancelled requests never called back. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "secret.h"
#include "suites.h"
#include "util.h"
#include "verifier.h"

/* What one callback saw. */
struct verdict {
	struct event_base	*base;
	int			 calls;
	bool			 match;
	int			*pending;	/* loop exits when it reaches 0 */
};

static void	verdict_cb(void *arg, bool match);
static void	loop_for(struct event_base *base, int seconds);

/* Record a verdict; stop the loop once every expected one is in. */
static void
verdict_cb(void *arg, bool match)
{
	struct verdict *v = arg;

	v->calls++;
	v->match = match;
	if (--*v->pending == 0)
		event_base_loopbreak(v->base);
}

/* Run the loop until a callback breaks it or seconds pass. */
static void
loop_for(struct event_base *base, int seconds)
{
	struct timeval tv = { seconds, 0 };

	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

/* A right and a wrong secret, each answered once, on the loop's thread,
 * never from within verifier_submit. */
START_TEST(test_verdicts)
{
	struct event_base *base = event_base_new();
	struct verifier *vf = verifier_new(base);
	char *hash = secret_hash("copier secret");
	int pending = 2;
	struct verdict right = { base, 0, false, &pending };
	struct verdict wrong = { base, 0, true, &pending };

	ck_assert_ptr_nonnull(hash);
	verifier_submit(vf, hash, "copier secret", verdict_cb, &right);
	verifier_submit(vf, hash, "copier secret!", verdict_cb, &wrong);
	ck_assert_int_eq(right.calls + wrong.calls, 0);
	loop_for(base, 30);
	ck_assert_int_eq(right.calls, 1);
	ck_assert(right.match);
	ck_assert_int_eq(wrong.calls, 1);
	ck_assert(!wrong.match);
	verifier_free(vf);
	event_base_free(base);
	free(hash);
}
END_TEST

/* A cancelled request is never called back, queued or already running;
 * the others still are. */
START_TEST(test_cancel)
{
	struct event_base *base = event_base_new();
	struct verifier *vf = verifier_new(base);
	char *hash = secret_hash("scanner secret");
	int pending = 1, never = 1000;
	struct verdict first = { base, 0, false, &never };
	struct verdict second = { base, 0, false, &never };
	struct verdict last = { base, 0, false, &pending };
	struct verify_request *a, *b;

	a = verifier_submit(vf, hash, "scanner secret", verdict_cb, &first);
	b = verifier_submit(vf, hash, "wrong", verdict_cb, &second);
	verifier_submit(vf, hash, "scanner secret", verdict_cb, &last);
	verifier_cancel(vf, a);
	verifier_cancel(vf, b);
	loop_for(base, 30);
	ck_assert_int_eq(first.calls, 0);
	ck_assert_int_eq(second.calls, 0);
	ck_assert_int_eq(last.calls, 1);
	ck_assert(last.match);
	verifier_free(vf);
	event_base_free(base);
	free(hash);
}
END_TEST

/* Requests still queued when the verifier stops are dropped quietly. */
START_TEST(test_free_with_queue)
{
	struct event_base *base = event_base_new();
	struct verifier *vf = verifier_new(base);
	char *hash = secret_hash("ups secret");
	int never = 1000, i;
	struct verdict v = { base, 0, false, &never };

	for (i = 0; i < 8; i++)
		verifier_submit(vf, hash, "ups secret", verdict_cb, &v);
	verifier_free(vf);
	event_base_free(base);
	ck_assert_int_eq(v.calls, 0);
	free(hash);
}
END_TEST

/* Where no thread can be started (here: no process left under
 * RLIMIT_NPROC), checks run on the loop, still answered via the loop. The
 * test changes its process's user and limits, so it needs Check's fork
 * mode. */
START_TEST(test_no_thread)
{
	struct rlimit none = { 1, 1 };
	const char *fork_mode = getenv("CK_FORK");
	struct event_base *base;
	struct verifier *vf;
	char *hash = secret_hash("ups secret");
	int pending = 2;
	struct verdict right = { NULL, 0, false, &pending };
	struct verdict wrong = { NULL, 0, true, &pending };

	if (fork_mode != NULL && strcmp(fork_mode, "no") == 0)
		return;
	if (geteuid() == 0)
		ck_assert_int_eq(setuid(65534), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_NPROC, &none), 0);
	base = event_base_new();
	right.base = wrong.base = base;
	vf = verifier_new(base);
	verifier_submit(vf, hash, "ups secret", verdict_cb, &right);
	verifier_submit(vf, hash, "ups", verdict_cb, &wrong);
	ck_assert_int_eq(right.calls + wrong.calls, 0);
	loop_for(base, 30);
	ck_assert(right.calls == 1 && right.match);
	ck_assert(wrong.calls == 1 && !wrong.match);
	verifier_free(vf);
	event_base_free(base);
	free(hash);
}
END_TEST

/* The verifier module's suite. */
Suite *
verifier_suite(void)
{
	Suite *s = suite_create("verifier");
	TCase *tc = tcase_create("verifier");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_verdicts);
	tcase_add_test(tc, test_cancel);
	tcase_add_test(tc, test_free_with_queue);
	tcase_add_test(tc, test_no_thread);
	suite_add_tcase(s, tc);
	return s;
}
