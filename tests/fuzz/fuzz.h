/* Shared by the fuzz targets: an invariant that must hold, and a reader
 * that hands out the fuzz input in pieces. */
#ifndef TLSRELAY_FUZZ_H
#define TLSRELAY_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libFuzzer's entry point, which every target defines. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* libFuzzer's start-up hook, which a target may define. */
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the target checks: a broken one is a finding, so abort
 * (libFuzzer saves the input as a crash). */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/* Copy the input to buf of len bytes as a C string (a NUL in it ends the
 * string early, as in the relay); false if it does not fit. */
static inline bool
fuzz_string(char *buf, size_t len, const uint8_t *data, size_t size)
{
	if (size >= len)
		return false;
	memcpy(buf, data, size);
	buf[size] = '\0';
	return true;
}

/* The fuzz input as chunk sizes first, then data: the same data can be
 * fed whole and in the chunks the fuzzer chose. */
struct fuzz_chunks {
	const uint8_t	*sizes;		/* one byte per chunk, 0 means 1 */
	size_t		 nsizes;
	size_t		 next;
};

/* Split input into up to 8 chunk sizes (the first byte says how many)
 * and the data after them. */
static inline void
fuzz_chunks_init(struct fuzz_chunks *c, const uint8_t **data, size_t *size)
{
	size_t n = *size > 0 ? (*data)[0] % 9 : 0;

	if (n + 1 > *size)
		n = *size > 0 ? *size - 1 : 0;
	c->sizes = *size > 0 ? *data + 1 : NULL;
	c->nsizes = n;
	c->next = 0;
	*data += *size > 0 ? n + 1 : 0;
	*size -= *size > 0 ? n + 1 : 0;
}

/* The size of the next chunk, at most left (the sizes repeat). */
static inline size_t
fuzz_chunks_next(struct fuzz_chunks *c, size_t left)
{
	size_t n;

	if (c->nsizes == 0)
		return left;
	n = c->sizes[c->next++ % c->nsizes];
	n = n == 0 ? 1 : n;
	return n < left ? n : left;
}

#endif
