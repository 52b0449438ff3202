/* Small helpers shared by every module: allocation that cannot fail. */
#ifndef TLSRELAY_UTIL_H
#define TLSRELAY_UTIL_H

#include <stddef.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
int xasprintf(char **out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
