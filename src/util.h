/* Small helpers shared by every module: allocation that cannot fail, and
 * reading a fixed number of decimal digits. */
#ifndef TLSRELAY_UTIL_H
#define TLSRELAY_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "nitems.h"

void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse exactly n decimal digits of text into *out; false on any other
 * character. */
bool	digits_parse(const char *text, size_t n, int *out);

#endif
