/* Unit tests for body_scan.c: the SMTP body cut the same way whatever the
 * chunks it arrives in, splits inside CR LF "." CR LF included. */
#include <stdbool.h>
#include <string.h>

#include "body_scan.h"
#include "suites.h"

/* What the relay sent upstream for a body, and where it stopped. */
struct relayed {
	char	out[512];
	size_t	out_len;
	size_t	used;		/* input bytes taken */
	bool	ended;		/* the end marker was found */
	bool	bare;		/* a cut ended a line with a bare CR or LF */
};

/* Send one cut of the input at in upstream, as smtp_body_step does with
 * smtp_bare_line_endings normalise. */
static void
relayed_apply(struct relayed *r, struct body_cut cut, const char *in)
{
	static const char *const text[] = {
		[BODY_BARE] = "\r\n", [BODY_STUFF] = "..\r\n",
	};
	const char *add = cut.kind == BODY_COPY ? in : text[cut.kind];
	size_t n = cut.kind == BODY_COPY ? cut.len : strlen(add);

	ck_assert_uint_lt(r->out_len + n, sizeof(r->out));
	memcpy(r->out + r->out_len, add, n);
	r->out_len += n;
	r->used += cut.len;
	r->bare |= cut.bare;
}

/* The cut at used, in the chunk up to the next multiple of every that has
 * arrived; an undecided front gets its next bytes made contiguous (as
 * evbuffer_pullup does) unless they have not arrived. */
static struct body_cut
relayed_cut(struct body_scan *bs, const char *in, size_t used, size_t have,
    size_t every)
{
	size_t end = (used / every + 1) * every;
	struct body_cut cut;

	end = end < have ? end : have;
	cut = body_scan_chunk(bs, in + used, end - used);
	if (cut.kind != BODY_HOLD || end == have)
		return cut;
	end = used + 3 < have ? used + 3 : have;
	return body_scan_chunk(bs, in + used, end - used);
}

/* Relay the body in, arriving every bytes at a time, each arrival its own
 * chunk. */
static void
relay(struct relayed *r, const char *in, size_t every)
{
	size_t len = strlen(in), have = 0;
	struct body_scan bs;
	struct body_cut cut;

	memset(r, 0, sizeof(*r));
	body_scan_start(&bs);
	while (have < len && !r->ended) {
		have = have + every < len ? have + every : len;
		while (!r->ended) {
			cut = relayed_cut(&bs, in, r->used, have, every);
			if (cut.kind == BODY_HOLD)
				break;
			if (cut.kind == BODY_END) {
				r->used += cut.len;
				r->ended = true;
			} else
				relayed_apply(r, cut, in + r->used);
		}
	}
}

/* Relay in whole and in every chunk size: the same result each time,
 * and the expected one when the body is whole. */
static void
check_body(const char *in, const char *want, bool ended, bool bare)
{
	struct relayed whole, part;
	size_t every;

	relay(&whole, in, strlen(in));
	ck_assert_uint_eq(whole.out_len, strlen(want));
	ck_assert_mem_eq(whole.out, want, whole.out_len);
	ck_assert(whole.ended == ended);
	ck_assert(whole.bare == bare);
	for (every = 1; every < strlen(in); every++) {
		relay(&part, in, every);
		ck_assert_uint_eq(part.out_len, whole.out_len);
		ck_assert_mem_eq(part.out, whole.out, whole.out_len);
		ck_assert_uint_eq(part.used, whole.used);
		ck_assert(part.ended == whole.ended);
		ck_assert(part.bare == whole.bare);
	}
}

START_TEST(test_end_marker)
{
	check_body(".\r\n", "", true, false);
	check_body("a\r\n.\r\nMAIL", "a\r\n", true, false);
	check_body("line one\r\nline two\r\n.\r\n", "line one\r\nline two\r\n",
	    true, false);
	check_body("a\r\n.\r", "a\r\n", false, false);
	check_body("a\r\n.", "a\r\n", false, false);
}
END_TEST

START_TEST(test_dots)
{
	check_body("..\r\n.\r\n", "..\r\n", true, false);
	check_body(".x\r\n..\r\n.\r\n", ".x\r\n..\r\n", true, false);
	check_body("a.\r\n.\r\n", "a.\r\n", true, false);
	check_body("a\r\n.b\r\n.\r\n", "a\r\n.b\r\n", true, false);
}
END_TEST

START_TEST(test_bare_endings)
{
	check_body("a\nb\r\n.\r\n", "a\r\nb\r\n", true, true);
	check_body("a\rb\r\n.\r\n", "a\r\nb\r\n", true, true);
	check_body("a\n.\r\nb\r\n.\r\n", "a\r\n..\r\nb\r\n", true, true);
	check_body("a\r\n.\nb\r\n.\r\n", "a\r\n..\r\nb\r\n", true, true);
	check_body("a\r\n.\rb\r\n.\r\n", "a\r\n..\r\nb\r\n", true, true);
	check_body("a\r\r\n.\r\n", "a\r\n\r\n", true, true);
	check_body("\n\r\n.\r\n", "\r\n\r\n", true, true);
	check_body("a\r\n\r.\r\n", "a\r\n\r\n..\r\n", false, true);
}
END_TEST

START_TEST(test_long_lines)
{
	check_body("0123456789abcdefghij\r\n.0123456789\r\n"
	    "0123456789abcdefghij0123456789\r\n.\r\n",
	    "0123456789abcdefghij\r\n.0123456789\r\n"
	    "0123456789abcdefghij0123456789\r\n", true, false);
}
END_TEST

/* The body scanner's suite. */
Suite *
body_scan_suite(void)
{
	Suite *s = suite_create("body_scan");
	TCase *tc = tcase_create("chunks");

	tcase_add_test(tc, test_end_marker);
	tcase_add_test(tc, test_dots);
	tcase_add_test(tc, test_bare_endings);
	tcase_add_test(tc, test_long_lines);
	suite_add_tcase(s, tc);
	return s;
}
