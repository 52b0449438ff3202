/* The SMTP message body scanner: line ends, lone dots and the end marker
 * found in contiguous chunks of the device's input, not line by line. */
#include <string.h>

#include "body_scan.h"

static struct body_cut body_scan_dot(bool prev_crlf, const char *p,
		    size_t n);
static struct body_cut body_scan_take(struct body_scan *bs,
		    struct body_cut cut);
static struct body_cut body_scan_before(struct body_scan *bs, size_t at,
		    size_t eol, const char *p, size_t n);
static size_t	body_scan_eol(const char *p, size_t n);

/* Start a message body. */
void
body_scan_start(struct body_scan *bs)
{
	bs->line_start = bs->prev_crlf = true;
}

/* The cut at the front of the chunk: as many whole CRLF lines and line
 * parts as can go unchanged, else the one thing that needs changing. */
struct body_cut
body_scan_chunk(struct body_scan *bs, const char *p, size_t n)
{
	struct body_cut dot;
	size_t at = 0, eol;

	while (at < n) {
		if (bs->line_start && p[at] == '.') {
			dot = body_scan_dot(bs->prev_crlf, p + at, n - at);
			if (dot.kind != BODY_COPY)
				return at > 0 ? (struct body_cut){ BODY_COPY,
				    at, false } : body_scan_take(bs, dot);
		}
		eol = at + body_scan_eol(p + at, n - at);
		if (eol == n || p[eol] == '\n' || eol + 1 == n ||
		    p[eol + 1] != '\n')
			return body_scan_before(bs, at, eol, p, n);
		at = eol + 2;
		bs->line_start = bs->prev_crlf = true;
	}
	return (struct body_cut){ at > 0 ? BODY_COPY : BODY_HOLD, at, false };
}

/* A "." at the start of a line: a lone dot (the end marker after CRLF,
 * else stuffed), undecided, or the start of an ordinary line (COPY). */
static struct body_cut
body_scan_dot(bool prev_crlf, const char *p, size_t n)
{
	if (n < 2 || (p[1] == '\r' && n < 3))
		return (struct body_cut){ BODY_HOLD, 0, false };
	if (p[1] == '\n' || (p[1] == '\r' && p[2] != '\n'))
		return (struct body_cut){ BODY_STUFF, 2, true };
	if (p[1] != '\r')
		return (struct body_cut){ BODY_COPY, 0, false };
	return (struct body_cut){ prev_crlf ? BODY_END : BODY_STUFF, 3,
	    false };
}

/* Move the state past a lone-dot cut at the front of the chunk. */
static struct body_cut
body_scan_take(struct body_scan *bs, struct body_cut cut)
{
	if (cut.kind == BODY_STUFF) {
		bs->line_start = true;
		bs->prev_crlf = !cut.bare;
	}
	return cut;
}

/* The bytes before a line end that is not CRLF (at eol: a bare CR or LF,
 * a CR last in the chunk, or the chunk's end), or the bare end itself. */
static struct body_cut
body_scan_before(struct body_scan *bs, size_t at, size_t eol, const char *p,
    size_t n)
{
	if (eol > at)
		bs->line_start = false;
	if (eol > 0)
		return (struct body_cut){ BODY_COPY, eol, false };
	if (n == 1 && p[0] == '\r')
		return (struct body_cut){ BODY_HOLD, 0, false };
	bs->line_start = true;
	bs->prev_crlf = false;
	return (struct body_cut){ BODY_BARE, 1, true };
}

/* The offset of the first CR or LF in the n bytes at p, or n if none. */
static size_t
body_scan_eol(const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n), *cr;

	cr = memchr(p, '\r', lf != NULL ? (size_t)(lf - p) : n);
	if (cr != NULL)
		return (size_t)(cr - p);
	return lf != NULL ? (size_t)(lf - p) : n;
}
