/* What a session proves, handed to the exit register. The protocol files
 * call one-line hooks; the observers of observe.c read the stream, and at
 * the end of each message and of the session a record is queued for the
 * writer thread of evidence.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/bufferevent.h>

#include "devices.h"
#include "evidence.h"
#include "evidence_session.h"
#include "nitems.h"
#include "observe.h"
#include "session.h"
#include "session_env.h"
#include "tls.h"
#include "util.h"

#define PEEK_IOVECS	16

/* What one session has observed, by protocol: only the member of its
 * protocol is allocated (evidence_size). */
struct session_evidence {
	union {
		struct smtp_observe	smtp;
		struct pop3_observe	pop3;
		struct imap_observe	imap;
	};
};

typedef void	 peek_fn(struct session_evidence *e, const char *data,
		    size_t len);

static struct session_evidence *evidence_of(struct session *s);
static void	 evidence_peek(struct session_evidence *e,
		    struct evbuffer *in, size_t n, peek_fn *fn);
static void	 evidence_smtp_peek(struct session_evidence *e,
		    const char *data, size_t len);
static void	 evidence_imap_lan_peek(struct session_evidence *e,
		    const char *data, size_t len);
static void	 evidence_imap_up_peek(struct session_evidence *e,
		    const char *data, size_t len);
static void	 evidence_message(struct session *s, const char *reply);
static void	 evidence_failure(struct session *s, const char *failure);
static const char *evidence_hello(const struct session *s);
static void	 evidence_census(struct session *s);
static void	 evidence_session_record(struct session *s,
		    const struct device *dev);
static void	 evidence_session_tls(struct session *s,
		    struct evidence_record *r);
static void	 evidence_session_counts(struct session *s,
		    struct evidence_record *r);
static void	 evidence_folders(struct session *s, const struct device *dev);
static const char *evidence_mailbox(const struct session *s,
		    const struct device *dev);
static unsigned	 evidence_selects(const struct imap_observe *o);

/* Results that say a path failed (others: it worked, or the device left). */
static const bool result_failed[] = {
	[RESULT_AUTH_FAILED] = true,
	[RESULT_UPSTREAM_UNREACHABLE] = true,
	[RESULT_UPSTREAM_TLS_FAILED] = true,
	[RESULT_UPSTREAM_ERROR] = true,
	[RESULT_LAN_TLS_FAILED] = true,
	[RESULT_PROTOCOL_ERROR] = true,
	[RESULT_INJECTION] = true,
	[RESULT_LINE_TOO_LONG] = true,
	[RESULT_NO_MEMORY] = true,
};

/* What each protocol's observations take: a session allocates only its
 * own member of the union (an IMAP session's is 12 KiB, SMTP's 2). */
static const size_t evidence_size[PROTO_COUNT] = {
	[PROTO_SMTP] = sizeof(struct smtp_observe),
	[PROTO_POP3] = sizeof(struct pop3_observe),
	[PROTO_IMAP] = sizeof(struct imap_observe),
};

/* The session's observations, allocated at the first hook. */
static struct session_evidence *
evidence_of(struct session *s)
{
	if (s->evidence == NULL) {
		s->evidence = xcalloc(1, evidence_size[s->ops->proto]);
		if (s->ops->proto == PROTO_SMTP)
			smtp_observe_init(&s->evidence->smtp);
	}
	return s->evidence;
}

/* Hand the first n buffered bytes of in to fn without removing them. */
static void
evidence_peek(struct session_evidence *e, struct evbuffer *in, size_t n,
    peek_fn *fn)
{
	struct evbuffer_iovec v[PEEK_IOVECS];
	struct evbuffer_ptr at;
	int i, got;
	size_t len;

	evbuffer_ptr_set(in, &at, 0, EVBUFFER_PTR_SET);
	while (n > 0) {
		got = evbuffer_peek(in, (ev_ssize_t)n, &at, v, PEEK_IOVECS);
		for (i = 0; i < got && i < PEEK_IOVECS && n > 0; i++) {
			len = v[i].iov_len < n ? v[i].iov_len : n;
			fn(e, v[i].iov_base, len);
			n -= len;
			evbuffer_ptr_set(in, &at, len, EVBUFFER_PTR_ADD);
		}
		if (got <= 0)
			break;
	}
}

/* A command line sent upstream. */
void
evidence_smtp_command(struct session *s, const char *line)
{
	smtp_observe_command(&evidence_of(s)->smtp, line);
}

/* Message data from the device about to go upstream. */
void
evidence_smtp_data(struct session *s, struct evbuffer *in, size_t n)
{
	evidence_peek(evidence_of(s), in, n, evidence_smtp_peek);
}

/* Feed peeked message data to the SMTP observer. */
static void
evidence_smtp_peek(struct session_evidence *e, const char *data, size_t len)
{
	smtp_observe_data(&e->smtp, data, len);
}

/* Message data of the relay's own (line endings, stuffing, end marker). */
void
evidence_smtp_text(struct session *s, const char *text)
{
	smtp_observe_data(&evidence_of(s)->smtp, text, strlen(text));
}

/* The upstream's reply: a message's verdict is recorded. */
void
evidence_smtp_reply(struct session *s, int code, const char *reply)
{
	char why[320];

	switch (smtp_observe_reply(&evidence_of(s)->smtp, code)) {
	case SMTP_OBSERVE_ACCEPTED:
		evidence_message(s, reply);
		break;
	case SMTP_OBSERVE_REJECTED:
		snprintf(why, sizeof(why), "message refused: %s", reply);
		evidence_failure(s, why);
		break;
	case SMTP_OBSERVE_NOTHING:
		break;
	}
}

/* Queue a message the upstream accepted, with its queue id. */
static void
evidence_message(struct session *s, const char *reply)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_MESSAGE);
	struct smtp_observe *o = &s->evidence->smtp;
	char id[128];

	evidence_record_text(r, "session", s->id);
	evidence_record_text(r, "device", s->dev->name);
	evidence_record_text(r, "reply", reply);
	evidence_record_text(r, "queue_id", smtp_observe_queue_id(reply, id,
	    sizeof(id)) ? id : NULL);
	evidence_record_text(r, "sender", o->sender);
	evidence_record_num(r, "recipients", o->recipients);
	evidence_record_num(r, "size", (long long)o->size);
	evidence_record_text(r, "message_id",
	    o->headers.message_id[0] != '\0' ? o->headers.message_id : NULL);
	evidence_submit(s->env->evidence, r);
}

/* Queue a failure inside the session as the path's last one. */
static void
evidence_failure(struct session *s, const char *failure)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_FAILURE);

	evidence_record_text(r, "device", s->dev->name);
	evidence_record_text(r, "protocol", proto_name(s->ops->proto));
	evidence_record_text(r, "failure", failure);
	evidence_submit(s->env->evidence, r);
}

/* A POP3 command forwarded upstream. */
void
evidence_pop3_command(struct session *s, enum pop3_verb verb)
{
	pop3_observe_command(&evidence_of(s)->pop3, verb);
}

/* The status line of a relayed POP3 command. */
void
evidence_pop3_status(struct session *s, bool ok)
{
	pop3_observe_status(&evidence_of(s)->pop3, ok);
}

/* Bytes of a relayed multi-line answer. */
void
evidence_pop3_body(struct session *s, size_t n)
{
	pop3_observe_body(&evidence_of(s)->pop3, n);
}

/* IMAP bytes about to be piped from one side to the other. */
void
evidence_imap_stream(struct session *s, const struct side *from)
{
	struct evbuffer *in = bufferevent_get_input(from->bev);

	evidence_peek(evidence_of(s), in, evbuffer_get_length(in),
	    from == &s->lan ? evidence_imap_lan_peek :
	    evidence_imap_up_peek);
}

/* Feed peeked device bytes to the IMAP observer. */
static void
evidence_imap_lan_peek(struct session_evidence *e, const char *data,
    size_t len)
{
	imap_observe_lan(&e->imap, data, len);
}

/* Feed peeked upstream bytes to the IMAP observer. */
static void
evidence_imap_up_peek(struct session_evidence *e, const char *data,
    size_t len)
{
	imap_observe_up(&e->imap, data, len);
}

/* The session ends: its record, or an unknown client for the census. */
void
evidence_session_end(struct session *s)
{
	const struct device *dev = s->dev;

	if (dev == NULL)
		dev = devices_lookup(s->cfg, (struct sockaddr *)&s->peer);
	if (dev == NULL)
		evidence_census(s);
	else
		evidence_session_record(s, dev);
	if (s->evidence != NULL && s->ops->proto == PROTO_IMAP)
		imap_observe_free(&s->evidence->imap);
	free(s->evidence);
	s->evidence = NULL;
}

/* What the client's ClientHello offered: from the handshake, or from the
 * sniff of a client refused before any handshake ("" if neither). */
static const char *
evidence_hello(const struct session *s)
{
	return s->lan.ssl != NULL ? tls_client_hello(s->lan.ssl) :
	    s->sniffed_hello;
}

/* Count an unknown client: its address, listener and offered TLS. */
static void
evidence_census(struct session *s)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_CENSUS);
	char offered[16];
	int rank;

	rank = evidence_offered_rank(evidence_hello(s), offered,
	    sizeof(offered));
	evidence_record_text(r, "client", s->client);
	evidence_record_text(r, "listener", s->listener_name);
	evidence_record_text(r, "protocol", proto_name(s->ops->proto));
	evidence_record_text(r, "offered_tls", rank > 0 ? offered : NULL);
	evidence_record_num(r, "offered_rank", rank);
	evidence_submit(s->env->evidence, r);
}

/* Queue the session's record: who, how, and what it proved. */
static void
evidence_session_record(struct session *s, const struct device *dev)
{
	struct evidence_record *r = evidence_record_new(EVIDENCE_SESSION);
	struct timespec now;
	long long ms;
	char failure[512];
	bool failed = (size_t)s->result < nitems(result_failed) &&
	    result_failed[s->result];

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - s->started.tv_sec) * 1000LL +
	    (now.tv_nsec - s->started.tv_nsec) / 1000000;
	snprintf(failure, sizeof(failure), "%s: %s",
	    session_result_name(s->result), s->reason != NULL ? s->reason : "");
	evidence_record_text(r, "session", s->id);
	evidence_record_text(r, "device", dev->name);
	evidence_record_text(r, "listener", s->listener_name);
	evidence_record_text(r, "protocol", proto_name(s->ops->proto));
	evidence_record_text(r, "client", s->client);
	evidence_record_text(r, "auth", auth_mode_name(dev->auth));
	evidence_record_text(r, "mailbox", evidence_mailbox(s, dev));
	evidence_record_num(r, "start", (long long)time(NULL) - ms / 1000);
	evidence_record_num(r, "duration_ms", ms);
	evidence_record_text(r, "result", session_result_name(s->result));
	evidence_record_text(r, "reason", s->reason);
	evidence_record_num(r, "ok", s->result == RESULT_OK);
	evidence_record_num(r, "refused", s->result == RESULT_REFUSED);
	evidence_record_num(r, "failed", failed);
	evidence_record_text(r, "failure", failed ? failure : NULL);
	evidence_session_tls(s, r);
	evidence_session_counts(s, r);
	evidence_submit(s->env->evidence, r);
	evidence_folders(s, dev);
}

/* The TLS of both sides, and the best version the device offered. */
static void
evidence_session_tls(struct session *s, struct evidence_record *r)
{
	char offered[16];
	int rank;

	rank = evidence_offered_rank(evidence_hello(s), offered,
	    sizeof(offered));
	evidence_record_text(r, "lan_tls", side_tls_version(&s->lan));
	evidence_record_text(r, "lan_cipher", side_tls_cipher(&s->lan));
	evidence_record_text(r, "offered_tls", rank > 0 ? offered : NULL);
	evidence_record_num(r, "offered_rank", rank);
	evidence_record_text(r, "upstream", s->dev != NULL ?
	    session_upstream(s)->host : NULL);
	evidence_record_text(r, "up_tls", s->up_tls_version);
}

/* The per-protocol counts the observers kept. */
static void
evidence_session_counts(struct session *s, struct evidence_record *r)
{
	const struct session_evidence *e = s->evidence;

	evidence_record_num(r, "messages", s->messages);
	if (e == NULL)
		return;
	if (s->ops->proto == PROTO_POP3) {
		evidence_record_num(r, "stat", e->pop3.stat);
		evidence_record_num(r, "list", e->pop3.list);
		evidence_record_num(r, "retr", e->pop3.retr);
		evidence_record_num(r, "retr_bytes",
		    (long long)e->pop3.retr_bytes);
		evidence_record_num(r, "top", e->pop3.top);
		evidence_record_num(r, "dele", e->pop3.dele);
	} else if (s->ops->proto == PROTO_IMAP) {
		evidence_record_num(r, "selects", evidence_selects(&e->imap));
		evidence_record_num(r, "fetches", e->imap.fetches);
		evidence_record_num(r, "appends", e->imap.appends);
	}
}

/* Queue the IMAP folders the session selected or examined. */
static void
evidence_folders(struct session *s, const struct device *dev)
{
	struct evidence_record *r;
	const struct imap_folder *f;
	size_t i;

	if (s->evidence == NULL || s->ops->proto != PROTO_IMAP)
		return;
	for (i = 0; i < s->evidence->imap.nfolders; i++) {
		f = &s->evidence->imap.folders[i];
		r = evidence_record_new(EVIDENCE_FOLDER);
		evidence_record_text(r, "device", dev->name);
		evidence_record_text(r, "folder", f->name);
		evidence_record_num(r, "selects", f->selects);
		evidence_record_num(r, "examines", f->examines);
		evidence_submit(s->env->evidence, r);
	}
}

/* The mailbox the session acted as: the device's, or the user it gave. */
static const char *
evidence_mailbox(const struct session *s, const struct device *dev)
{
	if (dev->mailbox != NULL)
		return dev->mailbox;
	return s->user;
}

/* How many SELECT and EXAMINE commands succeeded. */
static unsigned
evidence_selects(const struct imap_observe *o)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < o->nfolders; i++)
		n += o->folders[i].selects + o->folders[i].examines;
	return n;
}
