/* The generic relayed session: two sides, one timer, one teardown path. */
#ifndef TLSRELAY_SESSION_H
#define TLSRELAY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "config.h"
#include "devices.h"
#include "explain.h"
#include "sasl.h"
#include "side.h"

#define SESSION_LOGIN_DELAY	2	/* seconds before a local login refusal */
#define SESSION_MAX_ERRORS	10	/* bad commands before the session ends */

struct session_env;
struct session;
struct upstream_dial;
struct oauth_request;
struct verify_request;
struct session_evidence;

/* How a session ended; the names are the log's result= values. */
enum session_result {
	RESULT_OK,
	RESULT_AUTH_FAILED,
	RESULT_UPSTREAM_UNREACHABLE,
	RESULT_UPSTREAM_TLS_FAILED,
	RESULT_UPSTREAM_ERROR,
	RESULT_LAN_TLS_FAILED,
	RESULT_TIMEOUT,
	RESULT_CLIENT_CLOSED,
	RESULT_PROTOCOL_ERROR,
	RESULT_INJECTION,
	RESULT_LINE_TOO_LONG,
	RESULT_SHUTDOWN,
	RESULT_REFUSED,
	RESULT_NO_MEMORY,	/* an allocation for this session failed */
};

/* Why the session's single timer is running. */
enum session_timer {
	TIMER_PRELOGIN,		/* device has not authenticated yet */
	TIMER_IDLE,		/* device inactive after login */
	TIMER_UPSTREAM,		/* waiting for the upstream */
	TIMER_DELAY,		/* a refused login's reply is held back */
	TIMER_DATA,		/* an SMTP message's DATA took too long */
};

/* A protocol lists its states once, as FOO_STATES(S) with one S(STATE)
 * each, and makes its enum and its table of names from that list. */
#define STATE_ENUM(x)	x,
#define STATE_NAME(x)	[x] = #x,

/* Result of one processing step over buffered input, in every protocol. */
enum step {
	STEP_MORE,		/* progress made, try again */
	STEP_WAIT,		/* need more input or an upstream reply */
	STEP_GONE,		/* the session may be closed: touch nothing */
};

/* Where a device's login is (one list for the enum and the log's names);
 * login.c owns it and changes it in one place. */
#define LOGIN_STATES(S)							\
	S(LOGIN_IDLE)		/* no login under way: LAN commands, or relay */ \
	S(LOGIN_SECRET)		/* the device's secret is being checked */ \
	S(LOGIN_TOKEN)		/* waiting for an XOAUTH2 token */	\
	S(LOGIN_DIAL)		/* dialling the upstream */		\
	S(LOGIN_UPSTREAM)	/* the protocol's upstream login dialogue */

enum login_state {
	LOGIN_STATES(STATE_ENUM)
};

/* Which SASL answer login.c expects from the device next. */
enum sasl_wait {
	SASL_WAIT_NONE,		/* no AUTH exchange under way */
	SASL_WAIT_PLAIN,	/* the PLAIN response */
	SASL_WAIT_USER,		/* the LOGIN user name */
	SASL_WAIT_PASS,		/* the LOGIN password */
};

/* A protocol's replies when an AUTH exchange ends without credentials. */
enum sasl_reply {
	SASL_REPLY_CANCELLED,	/* the device sent "*" */
	SASL_REPLY_MALFORMED,	/* an answer did not decode */
	SASL_REPLY_COUNT,
};

/* The replies of a protocol for the login outcomes login.c decides. */
enum login_reply {
	LOGIN_REPLY_TEMPORARY,	/* no token, or a temporary refusal */
	LOGIN_REPLY_UNAVAILABLE, /* the upstream failed during the login */
	LOGIN_REPLY_REFUSED,	/* the credentials were refused */
	LOGIN_REPLY_BUSY,	/* the mailbox has all its upstream sessions */
	LOGIN_REPLY_COUNT,
};

/* A protocol's login replies: its status before the words every
 * protocol shares (temporary failure, upstream unavailable, mailbox
 * busy), and its own refusal of the credentials, whole. */
#define LOGIN_REPLIES(temporary, unavailable, refused, busy) {		\
	[LOGIN_REPLY_TEMPORARY] = temporary "Temporary authentication "	\
	    "failure, try again later",					\
	[LOGIN_REPLY_UNAVAILABLE] = unavailable "Upstream server "	\
	    "unavailable, try again later",				\
	[LOGIN_REPLY_REFUSED] = refused,				\
	[LOGIN_REPLY_BUSY] = busy "Too many sessions for this mailbox, "	\
	    "try again later",						\
}

/* A protocol's AUTH exchange replies: its status before the shared words. */
#define SASL_REPLIES(cancelled, malformed) {				\
	[SASL_REPLY_CANCELLED] = cancelled "Authentication cancelled",	\
	[SASL_REPLY_MALFORMED] = malformed "Malformed authentication data", \
}

/* What a protocol state machine supplies to the generic session. */
struct proto_ops {
	enum proto	 proto;
	/* The size of its state, which the session allocates zeroed. */
	size_t		 state_size;
	/* What its refusal of a device starts with: permanent (not allowed)
	 * or temporary (busy); the server name and why follow. */
	const char	*refusal[2];
	/* A login takes a place for its mailbox (max_mailbox_sessions). */
	bool		 counts_mailbox;
	/* Its login replies, and how it explains Exchange refusals. */
	const char	*login_replies[LOGIN_REPLY_COUNT];
	enum explain_source explain;
	const char	*explain_prefix;	/* before the explanation */
	/* Its SASL prompt ("334 ", "+ ") and AUTH exchange replies. */
	const char	*sasl_prompt;
	const char	*sasl_replies[SASL_REPLY_COUNT];
	/* The names of the states of its own enum (from STATE_NAME). */
	const char *const *state_names;
	size_t		 nstates;
	/* Set its state up and greet the device; false if out of memory. */
	bool		 (*start)(struct session *s);
	/* One step over the device's buffered input in the current state. */
	enum step	 (*lan_step)(struct session *s);
	/* The device closed while its input waits for nothing more. */
	void		 (*lan_eof)(struct session *s);
	/* The LAN TLS handshake after STARTTLS completed. */
	void		 (*lan_tls_ready)(struct session *s);
	/* TCP to upstream is up (and TLS too, for implicit upstreams), or
	 * the upstream's STARTTLS handshake completed. */
	void		 (*upstream_ready)(struct session *s);
	/* Upstream input is available. */
	void		 (*upstream_input)(struct session *s);
	/* The upstream failed after login: result and reason say how. The
	 * protocol answers the device and ends the session. */
	void		 (*upstream_failed)(struct session *s,
			    enum session_result result, const char *reason);
	/* Count a bad command and answer it with text (STEP_GONE once the
	 * session ends for too many). */
	enum step	 (*lan_error)(struct session *s, const char *text);
	/* Refuse a command line with a bare CR in it (STEP_GONE once the
	 * session ends for too many bad commands). */
	enum step	 (*lan_bare_cr)(struct session *s);
	/* The device's credentials are complete in s->creds. */
	enum step	 (*auth_collected)(struct session *s);
	/* A login ended without success: back to the LAN commands. */
	void		 (*login_reset)(struct session *s);
	/* Write a login reply of text to dst as the device must get it. */
	void		 (*login_reply)(struct session *s, char *dst, size_t len,
			    const char *text);
	/* A device timer fired; the protocol answers and ends the session. */
	void		 (*timeout)(struct session *s, enum session_timer t);
	/* Tell the device the relay is shutting down, then end. */
	void		 (*shutdown)(struct session *s);
	/* Free what its state points to, or NULL if nothing. */
	void		 (*free)(struct session *s);
};

/* The entries of protocol p that follow the naming rule (struct p,
 * p_state_names, p_start, p_lan_step, ...): the part of its proto_ops
 * every protocol writes alike. Its .lan_error and .free it names itself. */
#define PROTO_HOOKS(p)							\
	.state_size = sizeof(struct p),					\
	.state_names = p##_state_names,					\
	.nstates = nitems(p##_state_names),				\
	.start = p##_start,						\
	.lan_step = p##_lan_step,					\
	.lan_eof = p##_lan_eof,						\
	.lan_tls_ready = p##_lan_tls_ready,				\
	.upstream_ready = p##_upstream_ready,				\
	.upstream_input = p##_upstream_input,				\
	.upstream_failed = p##_upstream_failed,				\
	.lan_bare_cr = p##_bare_cr,					\
	.auth_collected = p##_auth_collected,				\
	.login_reset = p##_login_reset,					\
	.login_reply = p##_login_reply,					\
	.timeout = p##_timeout,						\
	.shutdown = p##_shutdown

/* The static prototypes of protocol p's hooks of the naming rule, which
 * its file defines (all but p_upstream_ready, which it may keep in a file
 * of its own). */
#define PROTO_HOOKS_DECLARE(p)						\
	static bool	 p##_start(struct session *);			\
	static enum step p##_lan_step(struct session *);		\
	static void	 p##_lan_eof(struct session *);			\
	static void	 p##_lan_tls_ready(struct session *);		\
	static void	 p##_upstream_input(struct session *);		\
	static void	 p##_upstream_failed(struct session *,		\
			    enum session_result, const char *);		\
	static enum step p##_bare_cr(struct session *);			\
	static enum step p##_auth_collected(struct session *);		\
	static void	 p##_login_reset(struct session *);		\
	static void	 p##_login_reply(struct session *, char *, size_t, \
			    const char *);				\
	static void	 p##_timeout(struct session *, enum session_timer); \
	static void	 p##_shutdown(struct session *)

/* Define protocol p's proto_ops, p_ops, for protocol proto: its hooks of
 * the naming rule (declared here), the names of its states from its list
 * (states, as FOO_STATES), and the entries that follow (its replies,
 * .lan_error and .free). */
#define PROTO_OPS(p, proto_, states, ...)				\
	PROTO_HOOKS_DECLARE(p);						\
	static const char *const p##_state_names[] = {			\
		states(STATE_NAME)					\
	};								\
	const struct proto_ops p##_ops = {				\
		.proto = proto_,					\
		PROTO_HOOKS(p),						\
		__VA_ARGS__						\
	}

/* The handler of verb in a protocol's table of the commands it answers
 * itself (an array indexed by its verb enum), or NULL if it has none. */
#define LAN_HANDLER(table, verb)					\
	((size_t)(verb) < nitems(table) ? (table)[verb] : NULL)

struct session {
	TAILQ_ENTRY(session)	 entry;
	char			 id[17];
	struct session_env	*env;	/* the daemon's, shared */
	struct config		*cfg;	/* reference held for the session */
	const struct proto_ops	*ops;
	int			 state;	/* the protocol's, of its own enum */
	void			*proto_state;
	const struct device	*dev;	/* NULL until identified */
	enum device_verdict	 verdict; /* at accept, on implicit TLS */
	char			*listener_name;
	enum lan_tls_mode	 lan_mode;
	struct sockaddr_storage	 peer;
	char			 client[64];	/* numeric peer address */
	char			*proxy;	/* the PROXY header's sender, or NULL */

	struct side		 lan;
	struct side		 up;
	struct upstream_dial	*dial;	/* non-NULL while dialling */
	struct verify_request	*verify; /* the device secret being checked */
	struct oauth_request	*token_req; /* the XOAUTH2 token being fetched */
	char			*token;	/* for XOAUTH2, wiped once used */
	enum login_state	 login;	/* changed only by login.c */
	enum sasl_wait		 sasl;	/* changed only by login.c */
	bool			 logged_in; /* the upstream took a login */
	struct sasl_creds	*creds;	/* the device's, from the first one
					 * collected until used, or NULL */
	char			*challenge; /* XOAUTH2 error, escaped, or NULL */
	unsigned		 errors;	/* bad commands so far */
	char			*line;	/* the daemon's line buffer: valid only
					 * within the callback that read it */
	size_t			 line_size; /* limits.line_length + 1 */
	const char		*up_tls_version; /* last upstream handshake */
	const char		*up_tls_cipher;

	struct event		*timer;
	enum session_timer	 timer_kind;
	struct timespec		 started;
	bool			 closing;	/* close once output flushed */
	bool			 lan_tls_pending; /* STARTTLS once output flushed */
	bool			 draining;	/* shutdown already announced */
	enum session_result	 result;
	char			*reason;
	enum session_result	 login_result;	/* last failed login, or OK */
	char			*login_reason;
	char			*delayed;	/* reply held back, or NULL */

	char			*user;	/* escaped, for logs, or NULL */
	char			*mailbox; /* counted in env->mailboxes */
	unsigned		 messages;
	struct session_evidence	*evidence; /* evidence_session.c's */
	struct hello_sniff	*sniff;	/* hello_sniff.c's, while waiting */
	char			 sniffed_hello[32]; /* "offered_max=..." or "" */
};

/* Accept a LAN connection: identify the device and start the protocol.
 * proxy is the address of the load balancer that sent a PROXY header for
 * the client in sa, or NULL. */
void	session_accept(struct session_env *env, struct config *cfg,
	    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
	    socklen_t salen, const char *proxy);

/* Judge the client's address as soon as the session knows it (at accept,
 * or after a PROXY header): a plain listener identifies the device at once;
 * on an implicit-TLS listener a client the allow-list refuses (unknown,
 * expired, protocol not allowed) is refused (closed, logged) before any
 * handshake, and an allowed one gets the handshake and is identified
 * after it. */
void	session_admit(struct session *s);
/* Check the allow-list and the session limits for the client (after its
 * handshake, on an implicit-TLS listener): start the protocol, or refuse. */
void	session_identify(struct session *s);
/* Stop what admission still waits for, if anything (at teardown). */
void	session_admit_end(struct session *s);
/* Days left before the device's sunset; writes the date to sunset. */
int	session_days_left(const struct session *s, char *sunset, size_t len);

/* A connection taken with the reserve descriptor when out of descriptors:
 * send a plain listener's protocol its temporary refusal, and close. */
void	session_busy_close(const struct config *cfg,
	    const struct listener_conf *lc, int fd);

/* Start TLS on the LAN side once everything queued so far is flushed. */
void	session_lan_start_tls(struct session *s);
/* Start the LAN side's TLS handshake now (nothing is queued). */
void	session_lan_swap_to_tls(struct session *s);
/* Abandon the dial in progress, if any. */
void	session_dial_cancel(struct session *s);

/* Process as much buffered device input as the state allows (through
 * ops->lan_step), then ops->lan_eof if the device closed meanwhile. */
void	session_lan_input(struct session *s);
/* Read one device command line into buf of size bytes; a longer line gets
 * too_long and ends the session (STEP_GONE). A command line with a bare CR
 * in it is refused (ops->lan_bare_cr) and never reaches the protocol.
 * STEP_MORE with the line. */
enum step session_read_command(struct session *s, char *buf, size_t size,
	    size_t *len, const char *too_long);
/* Change the protocol's state in one place, with a debug trace. */
void	session_enter_state(struct session *s, int next);
/* Send a formatted command line (CRLF added) upstream and enter next, the
 * state that waits for its answer. */
void	session_up_send(struct session *s, int next, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* The name of one of the protocol's states. */
const char *session_state_name(const struct session *s, int state);
/* STARTTLS or STLS (verb) was accepted: end the session if the device
 * sent more after it (an injection), else send reply and start TLS once
 * it is flushed. STEP_WAIT, or STEP_GONE. */
enum step session_lan_starttls(struct session *s, const char *verb,
	    const char *reply);
/* Count a bad command: reply (if not NULL) and go on, or after
 * SESSION_MAX_ERRORS send bye and end the session (STEP_GONE). */
enum step session_lan_error(struct session *s, const char *reply,
	    const char *bye);

/* Arm the session's timer for kind with the configured number of seconds. */
void	session_set_timer(struct session *s, enum session_timer kind);
/* Arm the session's timer for kind with an explicit number of seconds (a
 * protocol's own limit, such as limits.imap_idle_timeout). */
void	session_arm_timer(struct session *s, enum session_timer kind,
	    unsigned seconds);

/* Hold a formatted line (CRLF added) back for seconds with the device's
 * input paused, then send it, re-arm the pre-login timer and hand the
 * device's input to the protocol again: the delay of a refused login. */
void	session_lan_printf_delayed(struct session *s, unsigned seconds,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Record the authenticated user (escaped) for the log. */
void	session_set_user(struct session *s, const char *user);
/*
 * Count the session as an upstream session of mailbox (case-insensitive),
 * releasing the one it held: a session holds at most one. False, logged
 * as event=mailbox_busy, when the mailbox already has
 * limits.max_mailbox_sessions.
 */
bool	session_mailbox_acquire(struct session *s, const char *mailbox);
/* Stop counting the session for the mailbox it holds, if any. */
void	session_mailbox_release(struct session *s);

/* Log a failed login (event=login_failed) with the user and reason, and
 * keep them: a session that ends before its next login ends with them. */
void	session_login_failed(struct session *s, enum session_result r,
	    const char *reason);
/* Keep a failed login's result and reason without a login_failed line
 * (the caller logged a line of its own). */
void	session_login_failure_keep(struct session *s, enum session_result r,
	    const char *reason);
/* The login succeeded: forget the failures before it. */
void	session_login_succeeded(struct session *s);
/* The device quit before logging in: send bye, end once it is flushed,
 * with the last failed login's result, or RESULT_OK and why. STEP_GONE. */
enum step session_quit_before_login(struct session *s, const char *bye,
	    const char *why);
/* The device closed before logging in: end now, with the last failed
 * login's result, or r and reason. */
void	session_close_before_login(struct session *s, enum session_result r,
	    const char *reason);

/* Abandon a token request in flight and wipe the token. */
void	session_token_clear(struct session *s);
/* The device's credentials to fill in, allocated on first use (an idle
 * session holds none); NULL if out of memory. */
struct sasl_creds *session_creds_fill(struct session *s);
/* The credentials collected, or empty ones if none are held. */
const struct sasl_creds *session_creds(const struct session *s);
/* Wipe and free the device's credentials, if any are held. */
void	session_creds_drop(struct session *s);

/* End the session once queued output has reached the device. */
void	session_close_after_flush(struct session *s, enum session_result r,
	    const char *reason);
/* An allocation for the session failed: log it (event=no_memory) and end
 * only this session, with RESULT_NO_MEMORY, from the event loop. */
void	session_no_memory(struct session *s, const char *what);
/* End the session now: the single teardown path, writes the summary line. */
void	session_close(struct session *s, enum session_result r,
	    const char *reason);

/* Ask every session to end for a shutdown. */
void	session_shutdown(struct session *s);

/* The upstream the session's device is relayed to (the device is known). */
const struct upstream_conf *session_upstream(const struct session *s);
/* Its route: the protocol's upstream, or the SMTP connector. */
enum route session_route(const struct session *s);

const char *session_result_name(enum session_result r);

#endif
