/* Pure observers of relayed streams for the exit register. Each reads
 * bytes or lines as they pass, in whatever pieces they arrive, and keeps
 * counts; none of them touches the stream. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "observe.h"

#define LINE_KEEP_HEAD	512	/* an over-long line keeps its start ... */
#define LINE_DROP	64	/* ... and drops from there to keep its end */

typedef void	 imap_line_fn(struct imap_observe *o, struct imap_lines *l);

static void	 header_scan_byte(struct header_scan *h, char c);
static void	 header_scan_append(struct header_scan *h, char c);
static void	 header_scan_finish(struct header_scan *h);
static void	 smtp_observe_byte(struct smtp_observe *o, char c);
static void	 smtp_observe_reset(struct smtp_observe *o);
static void	 text_address(const char *arg, char *dst, size_t len);
static const char *text_word(const char *p, char *dst, size_t len);
static void	 imap_lines_feed(struct imap_observe *o, struct imap_lines *l,
		    const char *data, size_t len, imap_line_fn *fn);
static size_t	 imap_lines_skip(struct imap_lines *l, const char *data,
		    size_t len);
static void	 imap_lines_byte(struct imap_lines *l, char c);
static void	 imap_lines_end(struct imap_observe *o, struct imap_lines *l,
		    imap_line_fn *fn);
static bool	 imap_literal_size(const char *line, size_t len,
		    uint64_t *size);
static void	 imap_lan_line(struct imap_observe *o, struct imap_lines *l);
static void	 imap_up_line(struct imap_observe *o, struct imap_lines *l);
static void	 imap_pending_add(struct imap_observe *o, const char *tag,
		    enum imap_observe_kind kind, const char *args);
static void	 imap_pending_done(struct imap_observe *o, const char *tag,
		    bool ok);
static void	 imap_folder_add(struct imap_observe *o,
		    const struct imap_pending *p);
static bool	 imap_has_body(const char *line);
static bool	 imap_body_section(const char *section, size_t len);

/* IMAP commands the register counts, with or without UID. */
static const struct {
	const char		*name;
	enum imap_observe_kind	 kind;
} imap_commands[] = {
	{ "SELECT", IMAP_OBSERVE_SELECT },
	{ "EXAMINE", IMAP_OBSERVE_EXAMINE },
	{ "FETCH", IMAP_OBSERVE_FETCH },
	{ "APPEND", IMAP_OBSERVE_APPEND },
};

/* Start looking for the Message-ID of a new message. */
void
header_scan_init(struct header_scan *h)
{
	memset(h, 0, sizeof(*h));
	h->line_start = true;
}

/* Feed message bytes; the header ends at the first empty line. */
void
header_scan_feed(struct header_scan *h, const char *data, size_t len)
{
	size_t i;

	for (i = 0; i < len && !h->done; i++)
		header_scan_byte(h, data[i]);
}

/* One byte: a line starting with space or tab folds into the header before
 * it, any other line starts a new header, an empty one ends them. */
static void
header_scan_byte(struct header_scan *h, char c)
{
	if (c == '\r')
		return;
	if (!h->line_start) {
		if (c == '\n')
			h->line_start = true;
		else
			header_scan_append(h, c);
		return;
	}
	h->line_start = false;
	if (c == ' ' || c == '\t') {
		header_scan_append(h, c);
		return;
	}
	header_scan_finish(h);
	h->len = 0;
	if (c == '\n')
		h->done = true;
	else
		header_scan_append(h, c);
}

/* Keep a byte of the current header, as far as there is room. */
static void
header_scan_append(struct header_scan *h, char c)
{
	if (h->len < sizeof(h->cur) - 1)
		h->cur[h->len++] = c;
}

/* A header is complete: keep its value if it is the first Message-ID. */
static void
header_scan_finish(struct header_scan *h)
{
	static const char name[] = "message-id";
	size_t n = sizeof(name) - 1, end;
	const char *v;

	h->cur[h->len] = '\0';
	if (h->message_id[0] != '\0' || strncasecmp(h->cur, name, n) != 0)
		return;
	for (v = h->cur + n; *v == ' ' || *v == '\t'; v++)
		;
	if (*v++ != ':')
		return;
	v += strspn(v, " \t");
	for (end = strlen(v); end > 0 && isspace((unsigned char)v[end - 1]);
	    end--)
		;
	snprintf(h->message_id, sizeof(h->message_id), "%.*s", (int)end, v);
}

/* A new SMTP session: no transaction yet. */
void
smtp_observe_init(struct smtp_observe *o)
{
	memset(o, 0, sizeof(*o));
}

/* Forget the transaction (RSET, a new EHLO, or its verdict). */
static void
smtp_observe_reset(struct smtp_observe *o)
{
	o->sender[0] = '\0';
	o->recipients = 0;
	o->step = SMTP_OBSERVE_NONE;
}

/* A command sent upstream: note the one whose reply counts. */
void
smtp_observe_command(struct smtp_observe *o, const char *line)
{
	char verb[8];
	const char *arg = text_word(line, verb, sizeof(verb));

	o->step = SMTP_OBSERVE_NONE;
	if (strcasecmp(verb, "MAIL") == 0) {
		text_address(arg, o->pending_sender,
		    sizeof(o->pending_sender));
		o->step = SMTP_OBSERVE_MAIL;
	} else if (strcasecmp(verb, "RCPT") == 0)
		o->step = SMTP_OBSERVE_RCPT;
	else if (strcasecmp(verb, "DATA") == 0)
		o->step = SMTP_OBSERVE_DATA;
	else if (strcasecmp(verb, "RSET") == 0 ||
	    strcasecmp(verb, "EHLO") == 0 || strcasecmp(verb, "HELO") == 0)
		smtp_observe_reset(o);
}

/* The upstream's reply: a sender or recipient taken, the body started,
 * or the message's verdict. */
enum smtp_observe_event
smtp_observe_reply(struct smtp_observe *o, int code)
{
	bool ok = code >= 200 && code < 300;
	enum smtp_observe_step step = o->step;

	o->step = SMTP_OBSERVE_NONE;
	switch (step) {
	case SMTP_OBSERVE_MAIL:
		if (ok) {
			memcpy(o->sender, o->pending_sender, sizeof(o->sender));
			o->recipients = 0;
		}
		break;
	case SMTP_OBSERVE_RCPT:
		o->recipients += ok;
		break;
	case SMTP_OBSERVE_DATA:
		if (code == 354) {
			o->step = SMTP_OBSERVE_BODY;
			o->size = 0;
			o->line_start = true;
			o->dot = false;
			header_scan_init(&o->headers);
		}
		break;
	case SMTP_OBSERVE_BODY:
	case SMTP_OBSERVE_VERDICT:
		return ok ? SMTP_OBSERVE_ACCEPTED : SMTP_OBSERVE_REJECTED;
	case SMTP_OBSERVE_NONE:
		break;
	}
	return SMTP_OBSERVE_NOTHING;
}

/* Message data in the wire form: count it and scan its header. */
void
smtp_observe_data(struct smtp_observe *o, const char *data, size_t len)
{
	const char *end = data + len, *nl;
	size_t n;

	while (data < end && o->step == SMTP_OBSERVE_BODY) {
		if (o->line_start || o->dot || !o->headers.done) {
			smtp_observe_byte(o, *data++);
			continue;
		}
		/* Within a body line only its end matters: take it whole. */
		nl = memchr(data, '\n', (size_t)(end - data));
		n = nl != NULL ? (size_t)(nl + 1 - data) : (size_t)(end - data);
		o->size += n;
		o->line_start = nl != NULL;
		data += n;
	}
}

/* One byte of the wire form: a '.' starting a line is stuffing, unless a
 * line ending follows it, which ends the message. */
static void
smtp_observe_byte(struct smtp_observe *o, char c)
{
	if (o->line_start && c == '.' && !o->dot) {
		o->dot = true;
		o->line_start = false;
		return;
	}
	if (o->dot && (c == '\r' || c == '\n')) {
		o->step = SMTP_OBSERVE_VERDICT;
		return;
	}
	o->dot = false;
	o->line_start = c == '\n';
	o->size++;
	header_scan_feed(&o->headers, &c, 1);
}

/* The queue id an upstream's final reply names. */
bool
smtp_observe_queue_id(const char *reply, char *id, size_t len)
{
	static const char *const marks[] = { "queued as ", "InternalId=" };
	const char *p = NULL;
	size_t i, n;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]) && p == NULL; i++)
		if ((p = strcasestr(reply, marks[i])) != NULL)
			p += strlen(marks[i]);
	id[0] = '\0';
	if (p == NULL || (n = strcspn(p, " ,;]\\")) == 0)
		return false;
	snprintf(id, len, "%.*s", (int)n, p);
	return true;
}

/* The first word of text (up to a space) into dst; returns what follows
 * it, spaces skipped. */
static const char *
text_word(const char *p, char *dst, size_t len)
{
	size_t n = strcspn(p, " ");

	snprintf(dst, len, "%.*s", (int)n, p);
	p += n;
	return p + strspn(p, " ");
}

/* The address of "FROM:<a>" ("" for the null sender or no brackets). */
static void
text_address(const char *arg, char *dst, size_t len)
{
	const char *open = strchr(arg, '<'), *close;

	dst[0] = '\0';
	if (open != NULL && (close = strchr(open, '>')) != NULL)
		snprintf(dst, len, "%.*s", (int)(close - open - 1), open + 1);
}

/* A POP3 command forwarded upstream. */
void
pop3_observe_command(struct pop3_observe *o, enum pop3_verb verb)
{
	o->pending = verb;
	o->retr_ok = false;
}

/* The upstream's status line for it: count what was answered +OK. */
void
pop3_observe_status(struct pop3_observe *o, bool ok)
{
	unsigned *counts[] = {
		[POP3_VERB_STAT] = &o->stat, [POP3_VERB_LIST] = &o->list,
		[POP3_VERB_RETR] = &o->retr, [POP3_VERB_TOP] = &o->top,
		[POP3_VERB_DELE] = &o->dele,
	};

	if (ok && o->pending < sizeof(counts) / sizeof(counts[0]) &&
	    counts[o->pending] != NULL)
		(*counts[o->pending])++;
	o->retr_ok = ok && o->pending == POP3_VERB_RETR;
	o->pending = POP3_VERB_UNKNOWN;
}

/* Bytes of a multi-line answer: a retrieved message's count. */
void
pop3_observe_body(struct pop3_observe *o, size_t n)
{
	if (o->retr_ok)
		o->retr_bytes += n;
}

/* Bytes the device sent after login. */
void
imap_observe_lan(struct imap_observe *o, const char *data, size_t len)
{
	imap_lines_feed(o, &o->lan, data, len, imap_lan_line);
}

/* Bytes the upstream sent after login. */
void
imap_observe_up(struct imap_observe *o, const char *data, size_t len)
{
	imap_lines_feed(o, &o->up, data, len, imap_up_line);
}

/* Free the commands in flight and the folders. */
void
imap_observe_free(struct imap_observe *o)
{
	free(o->pending);
	free(o->folders);
	o->pending = NULL;
	o->folders = NULL;
	o->npending = o->nfolders = 0;
}

/* Split bytes into lines, skipping literals, and hand each line to fn. */
static void
imap_lines_feed(struct imap_observe *o, struct imap_lines *l,
    const char *data, size_t len, imap_line_fn *fn)
{
	size_t i = 0;

	while (i < len) {
		if (l->literal > 0) {
			i += imap_lines_skip(l, data + i, len - i);
			continue;
		}
		if (data[i] == '\n')
			imap_lines_end(o, l, fn);
		else
			imap_lines_byte(l, data[i]);
		i++;
	}
}

/* Skip literal bytes (keeping them when a folder name is wanted). */
static size_t
imap_lines_skip(struct imap_lines *l, const char *data, size_t len)
{
	size_t n = len < l->literal ? len : (size_t)l->literal, k;

	if (l->capturing) {
		k = sizeof(l->capture) - 1 - l->capture_len;
		k = n < k ? n : k;
		memcpy(l->capture + l->capture_len, data, k);
		l->capture_len += k;
		l->capture[l->capture_len] = '\0';
	}
	l->literal -= n;
	return n;
}

/* Keep a line byte; an over-long line keeps its start and its end. */
static void
imap_lines_byte(struct imap_lines *l, char c)
{
	if (c == '\r')
		return;
	if (l->len == sizeof(l->line) - 1) {
		memmove(l->line + LINE_KEEP_HEAD,
		    l->line + LINE_KEEP_HEAD + LINE_DROP,
		    l->len - LINE_KEEP_HEAD - LINE_DROP);
		l->len -= LINE_DROP;
	}
	l->line[l->len++] = c;
}

/* A line is complete: hand it on, then skip the literal it announces. */
static void
imap_lines_end(struct imap_observe *o, struct imap_lines *l,
    imap_line_fn *fn)
{
	uint64_t size;

	l->line[l->len] = '\0';
	fn(o, l);
	l->capture_len = 0;
	l->capture[0] = '\0';
	l->capturing = false;
	if (imap_literal_size(l->line, l->len, &size)) {
		l->literal = size;
		l->continued = true;
		l->capturing = o->lan_folder_literal && l == &o->lan;
	} else
		l->continued = false;
	o->lan_folder_literal = false;
	l->len = 0;
}

/* Does the line end with a literal's announcement, "{n}" or "{n+}"? */
static bool
imap_literal_size(const char *line, size_t len, uint64_t *size)
{
	const char *open;
	char *end;

	if (len < 3 || line[len - 1] != '}' ||
	    (open = strrchr(line, '{')) == NULL || !isdigit((unsigned char)open[1]))
		return false;
	*size = strtoull(open + 1, &end, 10);
	if (*end == '+' || *end == '-')
		end++;
	return end == line + len - 1;
}

/* A device line: note the commands whose completion counts. */
static void
imap_lan_line(struct imap_observe *o, struct imap_lines *l)
{
	char tag[64], cmd[16];
	const char *p;
	size_t i;

	if (l->continued) {
		if (l->capture_len > 0 && o->npending > 0 &&
		    o->pending[o->npending - 1].folder[0] == '\0')
			snprintf(o->pending[o->npending - 1].folder,
			    OBSERVE_ID_MAX, "%s", l->capture);
		return;
	}
	p = text_word(l->line, tag, sizeof(tag));
	p = text_word(p, cmd, sizeof(cmd));
	if (strcasecmp(cmd, "UID") == 0)
		p = text_word(p, cmd, sizeof(cmd));
	for (i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++)
		if (strcasecmp(cmd, imap_commands[i].name) == 0)
			imap_pending_add(o, tag, imap_commands[i].kind, p);
}

/* Note a command in flight (the oldest is forgotten when full). */
static void
imap_pending_add(struct imap_observe *o, const char *tag,
    enum imap_observe_kind kind, const char *args)
{
	struct imap_pending *p;
	const char *end;

	if (o->pending == NULL && (o->pending = calloc(OBSERVE_PENDING,
	    sizeof(*o->pending))) == NULL)
		return;
	if (o->npending == OBSERVE_PENDING)
		memmove(o->pending, o->pending + 1,
		    --o->npending * sizeof(*p));
	p = &o->pending[o->npending++];
	memset(p, 0, sizeof(*p));
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	p->kind = kind;
	if (kind != IMAP_OBSERVE_SELECT && kind != IMAP_OBSERVE_EXAMINE)
		return;
	if (*args == '"' && (end = strchr(args + 1, '"')) != NULL)
		snprintf(p->folder, sizeof(p->folder), "%.*s",
		    (int)(end - args - 1), args + 1);
	else if (*args == '{')
		o->lan_folder_literal = true;
	else
		text_word(args, p->folder, sizeof(p->folder));
}

/* An upstream line: FETCH responses with bodies, tagged completions. */
static void
imap_up_line(struct imap_observe *o, struct imap_lines *l)
{
	char tag[64], word[16], status[8];
	const char *p;
	size_t i;

	if (!l->continued) {
		p = text_word(l->line, tag, sizeof(tag));
		p = text_word(p, word, sizeof(word));
		text_word(p, status, sizeof(status));
		o->up_fetch = strcmp(tag, "*") == 0 &&
		    strcasecmp(status, "FETCH") == 0;
		if (strcmp(tag, "*") != 0 && strcmp(tag, "+") != 0) {
			imap_pending_done(o, tag, strcasecmp(word, "OK") == 0);
			return;
		}
	}
	if (!o->up_fetch || !imap_has_body(l->line))
		return;
	for (i = 0; i < o->npending; i++)
		if (o->pending[i].kind == IMAP_OBSERVE_FETCH) {
			o->pending[i].body = true;
			break;
		}
}

/* A command completed: count it if it succeeded, and forget it. */
static void
imap_pending_done(struct imap_observe *o, const char *tag, bool ok)
{
	struct imap_pending *p;
	size_t i;

	for (i = 0; i < o->npending; i++)
		if (strcmp(o->pending[i].tag, tag) == 0)
			break;
	if (i == o->npending)
		return;
	p = &o->pending[i];
	if (ok && p->kind == IMAP_OBSERVE_FETCH)
		o->fetches += p->body;
	else if (ok && p->kind == IMAP_OBSERVE_APPEND)
		o->appends++;
	else if (ok)
		imap_folder_add(o, p);
	memmove(p, p + 1, (o->npending - i - 1) * sizeof(*p));
	if (--o->npending == 0) {
		free(o->pending);
		o->pending = NULL;
	}
}

/* Count a folder selected or examined. */
static void
imap_folder_add(struct imap_observe *o, const struct imap_pending *p)
{
	struct imap_folder *f = NULL, *grown;
	size_t i;

	for (i = 0; i < o->nfolders && f == NULL; i++)
		if (strcmp(o->folders[i].name, p->folder) == 0)
			f = &o->folders[i];
	if (f == NULL) {
		if (o->nfolders == OBSERVE_FOLDERS || (grown = realloc(
		    o->folders, (o->nfolders + 1) * sizeof(*grown))) == NULL)
			return;
		o->folders = grown;
		f = &o->folders[o->nfolders++];
		memset(f, 0, sizeof(*f));
		memcpy(f->name, p->folder, sizeof(f->name));
	}
	if (p->kind == IMAP_OBSERVE_SELECT)
		f->selects++;
	else
		f->examines++;
}

/* Does a FETCH response line carry a message body (BODY[], BODY[TEXT],
 * BODY[1], BINARY[...], RFC822, RFC822.TEXT), not only headers? */
static bool
imap_has_body(const char *line)
{
	static const char *const items[] = { "BODY[", "BINARY[" };
	const char *p, *end;
	size_t i;

	for (i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		for (p = line; (p = strcasestr(p, items[i])) != NULL; p++) {
			p += strlen(items[i]);
			if ((end = strchr(p, ']')) != NULL &&
			    imap_body_section(p, (size_t)(end - p)))
				return true;
		}
	for (p = line; (p = strcasestr(p, "RFC822")) != NULL; p++)
		if (p[6] == ' ' || strncasecmp(p + 6, ".TEXT", 5) == 0)
			return true;
	return false;
}

/* Is a BODY[section] the message or a part of it, not a header? */
static bool
imap_body_section(const char *section, size_t len)
{
	char text[64];

	snprintf(text, sizeof(text), "%.*s", (int)len, section);
	if (len == 0 || strcasecmp(text, "TEXT") == 0)
		return true;
	return isdigit((unsigned char)text[0]) &&
	    strcasestr(text, "HEADER") == NULL &&
	    strcasestr(text, "MIME") == NULL;
}
