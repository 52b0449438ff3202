/*
 * Fuzz target: the end of a POP3 multi-line response (pop3_body_scan).
 * Fed in the fuzzer's chunks, the bytes passed on are exactly the input
 * up to and including the first line that is "." (LF or CRLF ended), as a
 * line-by-line model finds it in the whole input: nothing after the end
 * marker goes to the device, and no end is seen inside a line.
 */
#include <stdbool.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "pop3_parse.h"

static size_t	model_end(const uint8_t *, size_t);

/* The offset just after the terminating "." line, or 0 if none. */
static size_t
model_end(const uint8_t *data, size_t size)
{
	size_t at = 0, len;
	const uint8_t *lf;

	while (at < size && (lf = memchr(data + at, '\n', size - at)) != NULL) {
		len = (size_t)(lf - (data + at));
		if ((len == 1 && data[at] == '.') ||
		    (len == 2 && data[at] == '.' && data[at + 1] == '\r'))
			return at + len + 1;
		at += len + 1;
	}
	return 0;
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_chunks chunks;
	struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
	enum pop3_body r = POP3_BODY_WAIT;
	bool line_start = true, ended = false;
	size_t fed = 0, n, end, outlen;
	const char *o;

	fuzz_chunks_init(&chunks, &data, &size);
	while (fed < size && !ended) {
		n = fuzz_chunks_next(&chunks, size - fed);
		evbuffer_add(in, data + fed, n);
		fed += n;
		while ((r = pop3_body_scan(in, &line_start, &n)) !=
		    POP3_BODY_WAIT) {
			FUZZ_CHECK(n > 0 && n <= evbuffer_get_length(in));
			evbuffer_remove_buffer(in, out, n);
			if ((ended = r == POP3_BODY_END))
				break;
		}
		FUZZ_CHECK(r != POP3_BODY_WAIT || n == 0);
	}
	end = model_end(data, size);
	outlen = evbuffer_get_length(out);
	o = (const char *)evbuffer_pullup(out, -1);
	FUZZ_CHECK(ended == (end != 0));
	if (ended)
		FUZZ_CHECK(outlen == end);
	else
		FUZZ_CHECK(outlen <= size);
	FUZZ_CHECK(outlen == 0 || memcmp(o, data, outlen) == 0);
	evbuffer_free(in);
	evbuffer_free(out);
	return 0;
}
