/*
 * Fuzz target: the SMTP body scanner (body_scan_chunk), driven as
 * smtp_body_step drives it: the first contiguous piece of the input, three
 * bytes made contiguous on HOLD, the upstream's bytes rebuilt from the
 * cuts. Fed in the fuzzer's chunks it gives what it gives on the whole
 * input, and both give what a line-by-line model of the rules gives: CRLF
 * lines, lone dots stuffed, the message ended only by CRLF "." CRLF. The
 * output never holds a bare CR or LF, nor an end marker before the end;
 * under "reject" the first bare line end is reported where the model
 * finds it, and nothing after it goes upstream.
 */
#include <stdbool.h>
#include <string.h>

#include "body_scan.h"
#include "fuzz.h"

#define NO_BARE	((size_t)-1)

/* What goes upstream and where the body ended, from the scanner or the
 * model. */
struct result {
	char	*out;
	size_t	 len;
	size_t	 used;		/* input bytes up to the end marker */
	size_t	 bares;		/* bare line ends before the end */
	size_t	 bare_at;	/* output length at the first, or NO_BARE */
	bool	 end;
};

/* The input as the relay's buffer holds it: bytes read so far and the
 * end of its first contiguous piece. */
struct feed {
	const uint8_t	*data;
	size_t		 fed;
	size_t		 pos;
	size_t		 seg_end;
	size_t		*ends;		/* ends of the pieces as read */
	size_t		 nends;
};

static void	result_init(struct result *, size_t);
static void	result_add(struct result *, const void *, size_t, bool);
static size_t	model_line(const uint8_t *, size_t, size_t *);
static void	model_run(const uint8_t *, size_t, struct result *);
static bool	scan_step(struct feed *, struct body_scan *, bool,
		    struct result *);
static void	scan_run(const uint8_t *, size_t, struct fuzz_chunks *,
		    bool, struct result *);
static void	check_cut(struct body_cut);
static void	check_output(const char *, size_t, bool);
static void	check_same(const struct result *, const struct result *);

/* An empty result with room for the input doubled. */
static void
result_init(struct result *r, size_t size)
{
	memset(r, 0, sizeof(*r));
	r->out = malloc(2 * size + 4);
	FUZZ_CHECK(r->out != NULL);
	r->bare_at = NO_BARE;
}

/* Append n bytes to the output unless the message was refused. */
static void
result_add(struct result *r, const void *p, size_t n, bool refused)
{
	if (refused)
		return;
	memcpy(r->out + r->len, p, n);
	r->len += n;
}

/* The length of the line at p (n bytes left) and of its ending in *tlen;
 * *tlen 0 if the line has not ended (or a CR is last). */
static size_t
model_line(const uint8_t *p, size_t n, size_t *tlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n' || (p[i] == '\r' && i + 1 < n)) {
			*tlen = p[i] == '\r' && p[i + 1] == '\n' ? 2 : 1;
			return i;
		}
	}
	*tlen = 0;
	return 0;
}

/* The body rules over the complete lines of the whole input. */
static void
model_run(const uint8_t *data, size_t size, struct result *m)
{
	bool prev_crlf = true, dot;
	size_t len, tlen, at = 0;

	result_init(m, size);
	while ((len = model_line(data + at, size - at, &tlen), tlen != 0)) {
		dot = len == 1 && data[at] == '.';
		if (dot && tlen == 2 && prev_crlf) {
			result_add(m, ".\r\n", 3, false);
			m->end = true;
			at += 3;
			break;
		}
		if (tlen == 1 && m->bares++ == 0)
			m->bare_at = m->len + (dot ? 0 : len);
		result_add(m, "..", dot ? 2 : 0, false);
		result_add(m, data + at + dot, len - dot, false);
		result_add(m, "\r\n", 2, false);
		at += len + tlen;
		prev_crlf = tlen == 2;
	}
	m->used = at;
}

/* One cut at the front of the buffer, applied as smtp_body_step applies
 * it; false when the scanner waits for bytes not read yet, or ended. */
static bool
scan_step(struct feed *f, struct body_scan *bs, bool reject,
    struct result *r)
{
	static const char *const text[] = {
		[BODY_BARE] = "\r\n", [BODY_STUFF] = "..\r\n",
		[BODY_END] = ".\r\n",
	};
	size_t view, i;
	struct body_cut cut;
	bool refused = reject && r->bares > 0;

	for (i = 0; f->seg_end <= f->pos; i++)
		f->seg_end = f->ends[i];
	view = f->seg_end - f->pos;
	cut = body_scan_chunk(bs, (const char *)f->data + f->pos, view);
	FUZZ_CHECK(cut.len <= view);
	if (cut.bare && r->bares++ == 0)
		r->bare_at = r->len;
	refused = refused || (reject && cut.bare);
	switch (cut.kind) {
	case BODY_HOLD:
		FUZZ_CHECK(cut.len == 0 && view < 3);
		if (f->fed == f->seg_end)
			return false;
		f->seg_end = f->fed - f->pos < 3 ? f->fed : f->pos + 3;
		return true;
	case BODY_COPY:
		FUZZ_CHECK(cut.len > 0 && !cut.bare);
		result_add(r, f->data + f->pos, cut.len, refused);
		break;
	default:
		check_cut(cut);
		result_add(r, text[cut.kind], strlen(text[cut.kind]), refused);
	}
	f->pos += cut.len;
	r->end = cut.kind == BODY_END;
	return !r->end && f->pos < f->fed;
}

/* Scan the input fed in the fuzzer's chunks (whole if chunks is NULL). */
static void
scan_run(const uint8_t *data, size_t size, struct fuzz_chunks *chunks,
    bool reject, struct result *r)
{
	struct feed f = { .data = data };
	struct body_scan bs;

	result_init(r, size);
	f.ends = malloc((size + 1) * sizeof(*f.ends));
	FUZZ_CHECK(f.ends != NULL);
	body_scan_start(&bs);
	while (f.fed < size && !r->end) {
		f.fed += chunks != NULL ?
		    fuzz_chunks_next(chunks, size - f.fed) : size;
		f.ends[f.nends++] = f.fed;
		while (scan_step(&f, &bs, reject, r))
			;
	}
	r->used = f.pos;
	free(f.ends);
}

/* A cut that replaces bytes has the length and bare flag of its kind:
 * a bare CR or LF, a lone dot ended bare or by CRLF, the end marker. */
static void
check_cut(struct body_cut cut)
{
	FUZZ_CHECK(cut.kind == BODY_BARE || cut.kind == BODY_STUFF ||
	    cut.kind == BODY_END);
	if (cut.kind == BODY_BARE)
		FUZZ_CHECK(cut.len == 1 && cut.bare);
	else if (cut.kind == BODY_END)
		FUZZ_CHECK(cut.len == 3 && !cut.bare);
	else
		FUZZ_CHECK(cut.len == (cut.bare ? 2u : 3u));
}

/* No bare CR or LF, and an end marker (CRLF "." CRLF, the start counting
 * as after a CRLF) only as the last bytes, and only when ended. */
static void
check_output(const char *out, size_t len, bool ended)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (out[i] == '\r')
			FUZZ_CHECK(i + 1 < len ? out[i + 1] == '\n' : !ended);
		if (out[i] == '\n')
			FUZZ_CHECK(i > 0 && out[i - 1] == '\r');
		if (i + 2 < len && memcmp(out + i, ".\r\n", 3) == 0 &&
		    (i == 0 || out[i - 1] == '\n'))
			FUZZ_CHECK(ended && i + 3 == len);
	}
}

/* The chunked scan gives exactly what the whole scan gives. */
static void
check_same(const struct result *a, const struct result *b)
{
	FUZZ_CHECK(a->len == b->len && memcmp(a->out, b->out, a->len) == 0);
	FUZZ_CHECK(a->end == b->end && a->used == b->used);
	FUZZ_CHECK(a->bares == b->bares && a->bare_at == b->bare_at);
}

/* One fuzz input: scan it in chunks, whole and by the model; compare. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks chunks;
	struct result whole, part, m;
	bool reject;

	fuzz_chunks_init(&chunks, &data, &size);
	reject = chunks.nsizes % 2 == 1;
	scan_run(data, size, &chunks, reject, &part);
	scan_run(data, size, NULL, reject, &whole);
	model_run(data, size, &m);
	check_same(&part, &whole);
	FUZZ_CHECK(whole.end == m.end && whole.bare_at == m.bare_at &&
	    whole.bares == m.bares);
	if (m.end)
		FUZZ_CHECK(whole.used == m.used);
	if (reject && m.bare_at != NO_BARE) {
		FUZZ_CHECK(whole.len == m.bare_at &&
		    memcmp(whole.out, m.out, whole.len) == 0);
		check_output(whole.out, whole.len, false);
	} else {
		/* The model's complete lines, then at most the front of the
		 * unfinished line as it is. */
		FUZZ_CHECK(whole.len >= m.len &&
		    memcmp(whole.out, m.out, m.len) == 0);
		FUZZ_CHECK(m.end ? whole.len == m.len :
		    whole.len - m.len <= size - m.used &&
		    memcmp(whole.out + m.len, data + m.used,
		    whole.len - m.len) == 0);
		check_output(whole.out, whole.len, m.end);
	}
	free(part.out);
	free(whole.out);
	free(m.out);
	return 0;
}
