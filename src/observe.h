/* Pure observers of relayed streams for the exit register: they read what
 * passes and count what it proves, never change it. */
#ifndef TLSRELAY_OBSERVE_H
#define TLSRELAY_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pop3_parse.h"

#define OBSERVE_HEADER_MAX	1000	/* bytes of one unfolded header kept */
#define OBSERVE_ID_MAX		256	/* Message-ID, sender, folder name */
#define OBSERVE_LINE_MAX	1024	/* bytes of an IMAP line kept */
#define OBSERVE_FOLDERS		16	/* distinct folders kept per session */
#define OBSERVE_PENDING		16	/* IMAP commands awaiting completion */

/* Finds the Message-ID header in message data fed in any pieces. */
struct header_scan {
	char		 cur[OBSERVE_HEADER_MAX]; /* the header being read */
	size_t		 len;
	bool		 line_start;	/* the last byte ended a line */
	bool		 done;		/* the empty line ending the header */
	char		 message_id[OBSERVE_ID_MAX]; /* "" until found */
};

void	header_scan_init(struct header_scan *h);
/* Feed the next len bytes of the message (header folding and lines split
 * across calls are handled); stops looking after the header. */
void	header_scan_feed(struct header_scan *h, const char *data, size_t len);

/* Where an SMTP transaction is, as far as its evidence goes. */
enum smtp_observe_step {
	SMTP_OBSERVE_NONE,	/* no command whose reply matters */
	SMTP_OBSERVE_MAIL,
	SMTP_OBSERVE_RCPT,
	SMTP_OBSERVE_DATA,	/* DATA sent, 354 expected */
	SMTP_OBSERVE_BODY,	/* the message is passing */
	SMTP_OBSERVE_VERDICT,	/* end marker sent, the verdict expected */
};

/* What a reply meant for the message in progress. */
enum smtp_observe_event {
	SMTP_OBSERVE_NOTHING,
	SMTP_OBSERVE_ACCEPTED,	/* a 2xx to the end of DATA */
	SMTP_OBSERVE_REJECTED,	/* a 4xx/5xx to it */
};

/* One SMTP session's transaction: commands and data as sent upstream. */
struct smtp_observe {
	enum smtp_observe_step step;
	char		 pending_sender[OBSERVE_ID_MAX];
	char		 sender[OBSERVE_ID_MAX];	/* MAIL accepted */
	unsigned	 recipients;			/* RCPT accepted */
	uint64_t	 size;		/* message bytes, dot-stuffing undone */
	bool		 line_start;
	bool		 dot;		/* a line began with '.' */
	struct header_scan headers;
};

void	smtp_observe_init(struct smtp_observe *o);
/* A command line sent upstream. */
void	smtp_observe_command(struct smtp_observe *o, const char *line);
/* Message data sent upstream, in the wire form (dot-stuffed, ended by
 * CRLF "." CRLF). */
void	smtp_observe_data(struct smtp_observe *o, const char *data,
	    size_t len);
/* The upstream's reply code to the last command (or to the data). */
enum smtp_observe_event smtp_observe_reply(struct smtp_observe *o,
	    int code);
/* The queue id in a reply ("queued as X", Exchange's "InternalId=X"),
 * false if there is none. */
bool	smtp_observe_queue_id(const char *reply, char *id, size_t len);

/* POP3 commands answered +OK. */
struct pop3_observe {
	enum pop3_verb	 pending;	/* the command awaiting its status */
	bool		 retr_ok;	/* RETR answered +OK: its body counts */
	unsigned	 stat, list, retr, top, dele;
	uint64_t	 retr_bytes;
};

void	pop3_observe_command(struct pop3_observe *o, enum pop3_verb verb);
void	pop3_observe_status(struct pop3_observe *o, bool ok);
void	pop3_observe_body(struct pop3_observe *o, size_t n);

/* Lines of one direction of an IMAP stream, literals skipped. */
struct imap_lines {
	char		 line[OBSERVE_LINE_MAX];
	size_t		 len;
	uint64_t	 literal;	/* bytes of a literal still to skip */
	bool		 continued;	/* this line follows a literal */
	char		 capture[OBSERVE_ID_MAX]; /* a literal folder name */
	size_t		 capture_len;
	bool		 capturing;
};

/* What an IMAP command in flight is. */
enum imap_observe_kind {
	IMAP_OBSERVE_SELECT,
	IMAP_OBSERVE_EXAMINE,
	IMAP_OBSERVE_FETCH,
	IMAP_OBSERVE_APPEND,
};

struct imap_pending {
	char		 tag[64];
	enum imap_observe_kind kind;
	char		 folder[OBSERVE_ID_MAX];
	bool		 body;		/* FETCH: a message body came back */
};

struct imap_folder {
	char		 name[OBSERVE_ID_MAX];
	unsigned	 selects, examines;
};

/*
 * An IMAP session after login, both directions. The commands in flight
 * are allocated only while there are any (OBSERVE_PENDING of them) and
 * the folders one at a time, so an idle session holds little; when memory
 * runs out, a command or folder goes unobserved.
 */
struct imap_observe {
	struct imap_lines lan, up;
	struct imap_pending *pending;	/* NULL when none is in flight */
	size_t		 npending;
	bool		 up_fetch;	/* the response being read is a FETCH */
	bool		 lan_folder_literal; /* SELECT's folder is a literal */
	struct imap_folder *folders;	/* nfolders, at most OBSERVE_FOLDERS */
	size_t		 nfolders;
	unsigned	 fetches, appends;
};

/* Bytes the device sent, and bytes the upstream sent. */
void	imap_observe_lan(struct imap_observe *o, const char *data, size_t len);
void	imap_observe_up(struct imap_observe *o, const char *data, size_t len);
/* Free the observer's lists (the struct itself is the caller's). */
void	imap_observe_free(struct imap_observe *o);

#endif
