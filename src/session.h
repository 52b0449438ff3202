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
#include "sasl.h"

#define SESSION_LOGIN_DELAY	2	/* seconds before a local login refusal */

struct server;
struct session;
struct upstream_dial;
struct oauth_request;
struct verify_request;

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
};

/* Why the session's single timer is running. */
enum session_timer {
	TIMER_PRELOGIN,		/* device has not authenticated yet */
	TIMER_IDLE,		/* device inactive after login */
	TIMER_UPSTREAM,		/* waiting for the upstream */
	TIMER_DELAY,		/* a refused login's reply is held back */
};

/* One connection: the LAN device or the upstream server. */
struct side {
	int			 fd;
	struct bufferevent	*bev;
	SSL			*ssl;	/* owned by bev once TLS has started */
	bool			 tls_up; /* handshake completed */
	bool			 eof;	/* peer closed its end */
};

/* What a protocol state machine supplies to the generic session. */
struct proto_ops {
	enum proto	 proto;
	/* Allocate protocol state and greet the device. */
	void		 (*start)(struct session *s);
	/* Send the protocol's refusal: permanent (not allowed) or temporary
	 * (busy), with why as the text. */
	void		 (*refuse)(struct session *s, bool temporary,
			    const char *why);
	/* LAN input is available (or the LAN side reached EOF). */
	void		 (*lan_input)(struct session *s);
	/* The LAN TLS handshake after STARTTLS completed. */
	void		 (*lan_tls_ready)(struct session *s);
	/* TCP to upstream is up (and TLS too, for implicit upstreams). */
	void		 (*upstream_ready)(struct session *s);
	/* Upstream input is available. */
	void		 (*upstream_input)(struct session *s);
	/* The upstream side failed: result and reason say how. The protocol
	 * answers the device and ends the session. */
	void		 (*upstream_failed)(struct session *s,
			    enum session_result result, const char *reason);
	/* The secret check of session_device_login() ended: refusal is
	 * NULL if the device may log in, else why it may not. */
	void		 (*login_checked)(struct session *s, const char *refusal);
	/* The token request of session_token_get() ended: s->token is set,
	 * or error says why there is none. */
	void		 (*token_ready)(struct session *s, const char *error);
	/* The timer fired; the protocol answers and ends the session. */
	void		 (*timeout)(struct session *s, enum session_timer t);
	/* Tell the device the relay is shutting down, then end. */
	void		 (*shutdown)(struct session *s);
	/* Free protocol state. */
	void		 (*free)(struct session *s);
};

struct session {
	TAILQ_ENTRY(session)	 entry;
	char			 id[17];
	struct server		*server;
	struct config		*cfg;	/* reference held for the session */
	const struct proto_ops	*ops;
	void			*proto_state;
	const struct device	*dev;	/* NULL until identified */
	char			*listener_name;
	enum lan_tls_mode	 lan_mode;
	struct sockaddr_storage	 peer;
	char			 client[64];	/* numeric peer address */

	struct side		 lan;
	struct side		 up;
	struct upstream_dial	*dial;	/* non-NULL while dialling */
	struct verify_request	*verify; /* the device secret being checked */
	struct oauth_request	*token_req; /* the XOAUTH2 token being fetched */
	char			*token;	/* for XOAUTH2, wiped once used */
	const char		*up_tls_version; /* last upstream handshake */
	const char		*up_tls_cipher;

	struct event		*timer;
	enum session_timer	 timer_kind;
	struct timespec		 started;
	bool			 closing;	/* close once output flushed */
	bool			 lan_tls_pending; /* STARTTLS once output flushed */
	bool			 lan_congested;	/* LAN paused: upstream is full */
	bool			 up_congested;	/* upstream paused: LAN is full */
	bool			 draining;	/* shutdown already announced */
	enum session_result	 result;
	char			*reason;
	enum session_result	 login_result;	/* last failed login, or OK */
	char			*login_reason;
	char			*delayed;	/* reply held back, or NULL */

	char			 user[SASL_FIELD_MAX * 4]; /* escaped, for logs */
	char			*mailbox; /* counted in server->mailboxes */
	uint64_t		 bytes_in;	/* from the device */
	uint64_t		 bytes_out;	/* to the device */
	unsigned		 messages;
};

/* Is there a state machine for this protocol? */
bool	session_proto_supported(enum proto proto);

/* Accept a LAN connection: identify the device and start the protocol. */
void	session_accept(struct server *srv, struct config *cfg,
	    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
	    socklen_t salen);

/* Queue bytes or a formatted line (CRLF added) to the device. */
void	session_lan_write(struct session *s, const void *data, size_t len);
void	session_lan_printf(struct session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Queue a formatted line (CRLF added) to the upstream. */
void	session_up_printf(struct session *s, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Outcome of reading one line from a side. */
enum line_status {
	LINE_OK,	/* buf holds a line, CRLF or LF removed, NUL-terminated */
	LINE_NONE,	/* no complete line yet */
	LINE_TOO_LONG,	/* longer than the limit: caller ends the session */
};
enum line_status session_read_line(struct side *side, char *buf, size_t size,
	    size_t *len);

/* Start TLS on the LAN side once everything queued so far is flushed. */
void	session_lan_start_tls(struct session *s);
/* Are there bytes after the command just read (a STARTTLS injection)? */
bool	session_lan_has_pending(struct session *s);

/* Stop or resume reading from the device (backpressure, waiting). */
void	session_lan_pause(struct session *s, bool paused);

/* Pause the device while the upstream's output is over the high-water
 * mark; true if paused. The upstream's drain resumes it. */
bool	session_up_congested(struct session *s);
/* The upstream's output drained: resume a paused device. */
void	session_up_drained(struct session *s);
/* Pause the upstream while the device's output is over the high-water
 * mark; true if paused. The device's drain resumes it (the upstream's
 * input callback runs again). */
bool	session_lan_congested(struct session *s);

/* Which way session_pipe() moves bytes. */
enum pipe_dir {
	PIPE_TO_UPSTREAM,
	PIPE_TO_LAN,
};
/*
 * Move everything buffered on one side to the other side's output without
 * copying. Returns false when the destination is over the high-water mark:
 * the source is then paused, and resumed (with its input callback run
 * again) once the destination has drained.
 */
bool	session_pipe(struct session *s, enum pipe_dir dir);

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
/* The device quit before logging in: end once the goodbye is flushed,
 * with the last failed login's result, or RESULT_OK and why. */
void	session_quit_before_login(struct session *s, const char *why);
/* The device closed before logging in: end now, with the last failed
 * login's result, or r and reason. */
void	session_close_before_login(struct session *s, enum session_result r,
	    const char *reason);

/*
 * Check a device's login in the oauth2 mode: the user must be the
 * device's mailbox (case-insensitive), or false at once with the reason
 * in why; then the secret must match its hash, which a worker thread
 * checks off the loop (the secret is copied): true, and the verdict ends
 * in ops->login_checked.
 */
bool	session_device_login(struct session *s,
	    const struct sasl_creds *creds, char *why, size_t len);
/* Ask for an XOAUTH2 token (arming the upstream timer); ends in
 * ops->token_ready. */
void	session_token_get(struct session *s);
/* Abandon a token request in flight and wipe the token. */
void	session_token_clear(struct session *s);

/* The upstream refused the relay's XOAUTH2 token: drop it from the token
 * cache and write the reason to log (reply and challenge are escaped;
 * challenge may be ""). */
void	session_token_refused(struct session *s, const char *token,
	    const char *reply, const char *challenge, char *why, size_t len);

/* End the session once queued output has reached the device. */
void	session_close_after_flush(struct session *s, enum session_result r,
	    const char *reason);
/* End the session now: the single teardown path, writes the summary line. */
void	session_close(struct session *s, enum session_result r,
	    const char *reason);

/* Close one side's connection (close_notify first if TLS is up) and
 * reset it to unconnected. */
void	side_close(struct side *side);

/* Ask every session to end for a shutdown. */
void	session_shutdown(struct session *s);

/* The upstream the session's device is relayed to (the device is known). */
const struct upstream_conf *session_upstream(const struct session *s);
/* Its route: the protocol's upstream, or the SMTP connector. */
enum route session_route(const struct session *s);

const char *session_result_name(enum session_result r);
const char *session_tls_version(const struct side *side);
const char *session_tls_cipher(const struct side *side);

#endif
