/* The SMTP message body scanner: line ends, lone dots and the end marker
 * found in contiguous chunks of the device's input, not line by line. */
#ifndef TLSRELAY_BODY_SCAN_H
#define TLSRELAY_BODY_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* What the relay does with the next bytes of the body. */
enum body_cut_kind {
	BODY_COPY,	/* forward len bytes as they are */
	BODY_BARE,	/* a bare CR or LF (len 1): send CRLF instead */
	BODY_STUFF,	/* a lone "." line that does not end the message
			 * (len 2 or 3): send "..\r\n" instead */
	BODY_END,	/* CRLF "." CRLF: ".\r\n" (len 3) ends the message */
	BODY_HOLD,	/* undecided until more bytes arrive: len 0 */
};

/* The next cut: its kind, its length, and whether it ended a line with
 * a bare CR or LF. */
struct body_cut {
	enum body_cut_kind	 kind;
	size_t			 len;
	bool			 bare;
};

/* Where the body is between chunks. */
struct body_scan {
	bool	line_start;	/* the next byte starts a line */
	bool	prev_crlf;	/* the last line ended with CRLF */
};

/* Start a message body (just after DATA's 354). */
void	body_scan_start(struct body_scan *bs);
/* The cut at the front of the n bytes at p, the state moved past it.
 * Cuts are the same whatever the chunks: a chunk ending in a byte that
 * needs the next one gives a shorter COPY, or HOLD if nothing else. */
struct body_cut body_scan_chunk(struct body_scan *bs, const char *p,
	    size_t n);

#endif
