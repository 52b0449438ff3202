/* Calendar dates as civil day numbers (days since 1970-01-01). */
#ifndef TLSRELAY_DATE_H
#define TLSRELAY_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Parse "YYYY-MM-DD" (a real calendar date) into a civil day number
 * (days since 1970-01-01); false on bad syntax or impossible date. */
bool	date_parse(const char *text, int32_t *day);
/* Format a civil day number as "YYYY-MM-DD" into dst (>= 11 bytes). */
void	date_format(int32_t day, char *dst, size_t dstlen);
/* The civil day number of the local date at time now. */
int32_t	date_today(time_t now);

#endif
