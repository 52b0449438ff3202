/*
 * Fuzz target: the SMTP body normaliser (smtp_body_scan). The input, fed
 * in the fuzzer's chunks, must give exactly what a line-by-line model of
 * the rules gives on the whole input: CRLF lines, lone dots stuffed, the
 * message ended only by CRLF "." CRLF after a CRLF. The output never holds
 * a bare CR or LF, nor an end marker before the end.
 */
#include <stdbool.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "smtp_parse.h"

/* What the model makes of the whole input. */
struct model {
	char	*out;
	size_t	 len;
	size_t	 used;		/* input bytes of the complete lines taken */
	bool	 end;
	bool	 bare;		/* stopped at a bare CR or LF (reject) */
};

static void	model_run(const uint8_t *, size_t, bool, struct model *);
static size_t	model_line(const uint8_t *, size_t, size_t *);
static void	check_output(const char *, size_t, bool);

/* The length of the line at p (n bytes left) and of its ending in *tlen;
 * 0 with *tlen 0 if the line has not ended (or a CR is last). */
static size_t
model_line(const uint8_t *p, size_t n, size_t *tlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n') {
			*tlen = 1;
			return i;
		}
		if (p[i] == '\r') {
			if (i + 1 == n)
				break;
			*tlen = p[i + 1] == '\n' ? 2 : 1;
			return i;
		}
	}
	*tlen = 0;
	return 0;
}

/* Apply the body rules to the complete lines of the whole input. */
static void
model_run(const uint8_t *data, size_t size, bool reject, struct model *m)
{
	bool prev_crlf = true;
	size_t len, tlen, at = 0;

	memset(m, 0, sizeof(*m));
	m->out = malloc(2 * size + 4);
	FUZZ_CHECK(m->out != NULL);
	for (;;) {
		len = model_line(data + at, size - at, &tlen);
		if (tlen == 0)
			break;
		bool crlf = tlen == 2, dot = len == 1 && data[at] == '.';
		if (!crlf && reject) {
			m->bare = true;
			break;
		}
		if (dot && crlf && prev_crlf) {
			memcpy(m->out + m->len, ".\r\n", 3);
			m->len += 3;
			m->end = true;
			at += len + tlen;
			break;
		}
		if (dot)
			m->out[m->len++] = '.';
		memcpy(m->out + m->len, data + at, len);
		memcpy(m->out + m->len + len, "\r\n", 2);
		m->len += len + 2;
		at += len + tlen;
		prev_crlf = crlf;
	}
	m->used = at;
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

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks chunks;
	struct smtp_body_state st;
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum smtp_body r = SMTP_BODY_WAIT;
	struct model m;
	size_t fed = 0, n, outlen;
	bool reject;
	char *o;

	fuzz_chunks_init(&chunks, &data, &size);
	reject = chunks.nsizes % 2 == 1;
	smtp_body_start(&st);
	while (fed < size && r != SMTP_BODY_END && r != SMTP_BODY_BARE) {
		n = fuzz_chunks_next(&chunks, size - fed);
		evbuffer_add(in, data + fed, n);
		fed += n;
		while ((r = smtp_body_scan(in, out, &st, reject)) ==
		    SMTP_BODY_MORE)
			;
	}
	model_run(data, size, reject, &m);
	outlen = evbuffer_get_length(out);
	if ((o = (char *)evbuffer_pullup(out, -1)) == NULL)
		o = "";
	FUZZ_CHECK((r == SMTP_BODY_END) == m.end);
	FUZZ_CHECK((r == SMTP_BODY_BARE) == m.bare);
	/* Everything up to the model's last complete line is the model's;
	 * after it at most a prefix of the unfinished line went out (not
	 * when the message is refused: then the upstream is dropped). */
	FUZZ_CHECK(outlen >= m.len && memcmp(o, m.out, m.len) == 0);
	if (m.end)
		FUZZ_CHECK(outlen == m.len &&
		    fed - evbuffer_get_length(in) == m.used);
	else if (!m.bare)
		FUZZ_CHECK(outlen - m.len <= size - m.used &&
		    memcmp(o + m.len, data + m.used, outlen - m.len) == 0);
	if (!m.bare)
		check_output(o, outlen, m.end);
	else
		check_output(o, m.len, false);
	free(m.out);
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}
