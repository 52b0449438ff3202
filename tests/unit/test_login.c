/* Unit tests for login.c: its states and the replies a failed login gets,
 * through a fake protocol. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config.h"
#include "login.h"
#include "nitems.h"
#include "session.h"
#include "side.h"
#include "suites.h"

/* A session of the fake protocol and what its hooks were asked to do. */
struct fixture {
	struct event_base	*base;
	struct config		 cfg;
	struct device		 dev;
	struct session		 s;
	int			 far;		/* the device's end of the LAN */
	unsigned		 resets;	/* ops->login_reset calls */
	unsigned		 collected;	/* ops->auth_collected calls */
	unsigned		 up_failures;	/* ops->upstream_failed calls */
	enum session_result	 up_result;
	char			 lan_error[64];	/* the last ops->lan_error text */
};

static struct fixture fx;

static enum step fake_auth_collected(struct session *s);
static enum step fake_lan_error(struct session *s, const char *text);
static void	fake_lan_eof(struct session *s);
static enum step fake_lan_step(struct session *s);
static void	fake_login_reply(struct session *s, char *dst, size_t len,
		    const char *text);
static void	fake_login_reset(struct session *s);
static void	fake_side_event(struct side *side, enum side_event ev,
		    void *arg);
static void	fake_timercb(evutil_socket_t fd, short what, void *arg);
static void	fake_upstream_failed(struct session *s, enum session_result r,
		    const char *reason);
static int	upstream_sends(const char *bytes, size_t len);

static const char *const fake_state_names[] = { "FAKE_LAN" };

/* A protocol whose every reply says which one it is. */
static const struct proto_ops fake_ops = {
	.proto = PROTO_SMTP,
	.login_replies = {
		[LOGIN_REPLY_TEMPORARY] = "T temporary",
		[LOGIN_REPLY_UNAVAILABLE] = "U unavailable",
		[LOGIN_REPLY_REFUSED] = "R refused",
		[LOGIN_REPLY_BUSY] = "B busy",
	},
	.explain = EXPLAIN_SMTP,
	.explain_prefix = "X ",
	.sasl_prompt = "P ",
	.sasl_replies = {
		[SASL_REPLY_CANCELLED] = "C cancelled",
		[SASL_REPLY_MALFORMED] = "M malformed",
	},
	.state_names = fake_state_names,
	.nstates = 1,
	.lan_step = fake_lan_step,
	.lan_eof = fake_lan_eof,
	.upstream_failed = fake_upstream_failed,
	.lan_error = fake_lan_error,
	.auth_collected = fake_auth_collected,
	.login_reset = fake_login_reset,
	.login_reply = fake_login_reply,
};

/* The credentials are complete: count it. */
static enum step
fake_auth_collected(struct session *s)
{
	(void)s;
	fx.collected++;
	return STEP_WAIT;
}

/* Keep the text of a bad-command reply. */
static enum step
fake_lan_error(struct session *s, const char *text)
{
	(void)s;
	snprintf(fx.lan_error, sizeof(fx.lan_error), "%s", text);
	return STEP_MORE;
}

/* The device never closes in these tests. */
static void
fake_lan_eof(struct session *s)
{
	(void)s;
}

/* No device input is ever buffered. */
static enum step
fake_lan_step(struct session *s)
{
	(void)s;
	return STEP_WAIT;
}

/* A login reply as it stands in the table. */
static void
fake_login_reply(struct session *s, char *dst, size_t len, const char *text)
{
	(void)s;
	snprintf(dst, len, "%s", text);
}

/* Count the returns to the LAN commands. */
static void
fake_login_reset(struct session *s)
{
	(void)s;
	fx.resets++;
}

/* The LAN side's events: the device sends nothing in these tests. */
static void
fake_side_event(struct side *side, enum side_event ev, void *arg)
{
	(void)side;
	(void)ev;
	(void)arg;
}

/* The session timer never fires: no test waits for it. */
static void
fake_timercb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Keep the result an upstream failure after login was handed on with. */
static void
fake_upstream_failed(struct session *s, enum session_result r,
    const char *reason)
{
	(void)s;
	(void)reason;
	fx.up_failures++;
	fx.up_result = r;
}

/* A pass-through session of the fake protocol with its LAN side attached. */
static void
fixture_setup(void)
{
	int sv[2];

	memset(&fx, 0, sizeof(fx));
	fx.base = event_base_new();
	fx.cfg.limits.prelogin_timeout = 60;
	fx.dev.name = "dev1";
	fx.dev.auth = AUTH_PASSTHROUGH;
	fx.s.cfg = &fx.cfg;
	fx.s.dev = &fx.dev;
	fx.s.ops = &fake_ops;
	memcpy(fx.s.id, "0123456789abcdef", 17);
	fx.s.line_size = 512;
	fx.s.line = calloc(1, fx.s.line_size);
	fx.s.timer = evtimer_new(fx.base, fake_timercb, NULL);
	side_init(&fx.s.lan, fx.base, &fx.s.up, 4096, fake_side_event, NULL);
	side_init(&fx.s.up, fx.base, &fx.s.lan, 4096, fake_side_event, NULL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert(side_attach(&fx.s.lan, sv[0]));
	fx.far = sv[1];
}

/* Free what the fixture and the login left. */
static void
fixture_teardown(void)
{
	side_close(&fx.s.lan);
	close(fx.far);
	event_free(fx.s.timer);
	free(fx.s.line);
	free(fx.s.login_reason);
	free(fx.s.delayed);
	session_creds_drop(&fx.s);
	event_base_free(fx.base);
}

/* Is what the relay sent the device so far exactly want? */
static void
lan_output_is(const char *want)
{
	struct evbuffer *out = bufferevent_get_output(fx.s.lan.bev);
	char got[512];
	ssize_t n;
	int i;

	for (i = 0; i < 10 && evbuffer_get_length(out) > 0; i++)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
	n = recv(fx.far, got, sizeof(got) - 1, MSG_DONTWAIT);
	got[n > 0 ? n : 0] = '\0';
	ck_assert_str_eq(got, want);
}

/* Did the login end back at the LAN commands with result r? */
static void
login_ended_with(enum session_result r)
{
	ck_assert_int_eq(fx.s.login, LOGIN_IDLE);
	ck_assert_uint_eq(fx.resets, 1);
	ck_assert_int_eq(fx.s.login_result, r);
	ck_assert_ptr_nonnull(fx.s.login_reason);
}

START_TEST(test_upstream_failure_in_login_is_temporary)
{
	fx.s.login = LOGIN_UPSTREAM;
	ck_assert(login_active(&fx.s));
	login_upstream_failed(&fx.s, RESULT_UPSTREAM_ERROR, "reset by peer");
	lan_output_is("U unavailable\r\n");
	login_ended_with(RESULT_UPSTREAM_ERROR);
	ck_assert(!login_active(&fx.s));
	ck_assert_uint_eq(fx.up_failures, 0);
}
END_TEST

START_TEST(test_upstream_failure_after_login_is_the_protocols)
{
	fx.s.logged_in = true;
	ck_assert(!login_active(&fx.s));
	login_upstream_failed(&fx.s, RESULT_UPSTREAM_ERROR, "reset by peer");
	ck_assert_uint_eq(fx.up_failures, 1);
	ck_assert_int_eq(fx.up_result, RESULT_UPSTREAM_ERROR);
	ck_assert_uint_eq(fx.resets, 0);
	lan_output_is("");
}
END_TEST

/* Attach the upstream side to a socket pair, send it bytes from the far
 * end and run the loop until they have all arrived; the far end's fd. */
static int
upstream_sends(const char *bytes, size_t len)
{
	struct evbuffer *in;
	int sv[2], i;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert(side_attach(&fx.s.up, sv[0]));
	ck_assert_int_eq(write(sv[1], bytes, len), (ssize_t)len);
	in = bufferevent_get_input(fx.s.up.bev);
	for (i = 0; i < 100 && evbuffer_get_length(in) < len; i++)
		event_base_loop(fx.base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(evbuffer_get_length(in), len);
	return sv[1];
}

START_TEST(test_read_upstream_line_and_overlong_line)
{
	char bytes[600];
	size_t len = 0;
	int far;

	memset(bytes, 'x', sizeof(bytes));
	memcpy(bytes, "+OK ready\r\n", 11);
	bytes[sizeof(bytes) - 1] = '\n';	/* 589 bytes: over line_size */
	fx.s.logged_in = true;
	far = upstream_sends(bytes, sizeof(bytes));
	ck_assert_int_eq(login_read_upstream(&fx.s, &len), STEP_MORE);
	ck_assert_str_eq(fx.s.line, "+OK ready");
	ck_assert_uint_eq(len, 9);
	ck_assert_uint_eq(fx.up_failures, 0);
	ck_assert_int_eq(login_read_upstream(&fx.s, &len), STEP_GONE);
	ck_assert_uint_eq(fx.up_failures, 1);
	ck_assert_int_eq(fx.up_result, RESULT_UPSTREAM_ERROR);
	side_close(&fx.s.up);
	close(far);
}
END_TEST

START_TEST(test_read_upstream_waits_for_a_whole_line)
{
	size_t len = 0;
	int far;

	far = upstream_sends("+OK no end yet", 14);
	ck_assert_int_eq(login_read_upstream(&fx.s, &len), STEP_WAIT);
	ck_assert_uint_eq(fx.up_failures, 0);
	side_close(&fx.s.up);
	close(far);
}
END_TEST

START_TEST(test_refused_credentials_are_permanent)
{
	fx.s.login = LOGIN_UPSTREAM;
	login_refused(&fx.s, "no such user", "535 5.7.8 no such user");
	lan_output_is("R refused\r\n");
	login_ended_with(RESULT_AUTH_FAILED);
}
END_TEST

/* An upstream timer firing in each waiting login state: the reply and
 * the result it must give. */
static const struct {
	enum login_state	 state;
	const char		*reply;
	enum session_result	 result;
} timeouts[] = {
	{ LOGIN_TOKEN, "T temporary\r\n", RESULT_UPSTREAM_ERROR },
	{ LOGIN_DIAL, "U unavailable\r\n", RESULT_UPSTREAM_UNREACHABLE },
	{ LOGIN_UPSTREAM, "U unavailable\r\n", RESULT_UPSTREAM_ERROR },
};

START_TEST(test_upstream_timeout_in_login)
{
	fx.s.login = timeouts[_i].state;
	ck_assert(login_timeout(&fx.s, TIMER_UPSTREAM));
	lan_output_is(timeouts[_i].reply);
	login_ended_with(timeouts[_i].result);
}
END_TEST

START_TEST(test_device_timer_is_left_to_the_protocol)
{
	fx.s.login = LOGIN_UPSTREAM;
	ck_assert(!login_timeout(&fx.s, TIMER_PRELOGIN));
	ck_assert_int_eq(fx.s.login, LOGIN_UPSTREAM);
	ck_assert_uint_eq(fx.resets, 0);
	lan_output_is("");
}
END_TEST

START_TEST(test_wrong_mailbox_refused_after_a_delay)
{
	fx.dev.auth = AUTH_OAUTH2;
	fx.dev.mailbox = "box@example.com";
	strcpy(session_creds_fill(&fx.s)->user, "other@example.com");
	strcpy(fx.s.creds->pass, "secret");
	ck_assert_int_eq(login_begin(&fx.s), STEP_WAIT);
	ck_assert_int_eq(fx.s.login, LOGIN_IDLE);
	ck_assert_ptr_null(fx.s.verify);
	ck_assert_str_eq(fx.s.delayed, "R refused");
	ck_assert_int_eq(fx.s.timer_kind, TIMER_DELAY);
	ck_assert_int_eq(fx.s.login_result, RESULT_AUTH_FAILED);
	ck_assert_uint_eq(fx.resets, 1);
	ck_assert_ptr_null(fx.s.creds);
	ck_assert_str_eq(session_creds(&fx.s)->pass, "");
	lan_output_is("");
}
END_TEST

START_TEST(test_sasl_cancel_and_malformed)
{
	ck_assert_int_eq(login_sasl_start(&fx.s, SASL_WAIT_PLAIN, NULL),
	    STEP_MORE);
	lan_output_is("P \r\n");
	login_sasl_line(&fx.s, "*");
	ck_assert_str_eq(fx.lan_error, "C cancelled");
	ck_assert_int_eq(fx.s.sasl, SASL_WAIT_NONE);
	ck_assert_ptr_null(fx.s.creds);
	fx.s.sasl = SASL_WAIT_PLAIN;
	login_sasl_line(&fx.s, "not base64!");
	ck_assert_str_eq(fx.lan_error, "M malformed");
	ck_assert_ptr_null(fx.s.creds);
	ck_assert_uint_eq(fx.resets, 2);
	ck_assert_uint_eq(fx.collected, 0);
}
END_TEST

START_TEST(test_sasl_login_collects_user_then_password)
{
	login_sasl_start(&fx.s, SASL_WAIT_USER, NULL);
	/* "user" and "pass" in base64 */
	ck_assert_int_eq(login_sasl_line(&fx.s, "dXNlcg=="), STEP_MORE);
	ck_assert_int_eq(fx.s.sasl, SASL_WAIT_PASS);
	login_sasl_line(&fx.s, "cGFzcw==");
	ck_assert_uint_eq(fx.collected, 1);
	ck_assert_str_eq(fx.s.creds->user, "user");
	ck_assert_str_eq(fx.s.creds->pass, "pass");
	ck_assert_int_eq(fx.s.sasl, SASL_WAIT_NONE);
	login_done(&fx.s);
	ck_assert_ptr_null(fx.s.creds);
}
END_TEST

/* The login suite. */
Suite *
login_suite(void)
{
	Suite *s = suite_create("login");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, test_upstream_failure_in_login_is_temporary);
	tcase_add_test(tc, test_upstream_failure_after_login_is_the_protocols);
	tcase_add_test(tc, test_refused_credentials_are_permanent);
	tcase_add_test(tc, test_read_upstream_line_and_overlong_line);
	tcase_add_test(tc, test_read_upstream_waits_for_a_whole_line);
	tcase_add_loop_test(tc, test_upstream_timeout_in_login, 0,
	    (int)nitems(timeouts));
	tcase_add_test(tc, test_device_timer_is_left_to_the_protocol);
	tcase_add_test(tc, test_wrong_mailbox_refused_after_a_delay);
	tcase_add_test(tc, test_sasl_cancel_and_malformed);
	tcase_add_test(tc, test_sasl_login_collects_user_then_password);
	suite_add_tcase(s, tc);
	return s;
}
