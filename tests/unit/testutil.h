/* Fixtures shared by the unit suites: time zone and stderr capture. */
#ifndef TLSRELAY_TESTUTIL_H
#define TLSRELAY_TESTUTIL_H

#include <stdio.h>

/* Check fixture: run the test in UTC, remembering the TZ it started with. */
void	tz_setup(void);
/* Check fixture: restore the TZ the test started with. */
void	tz_teardown(void);
/* Switch the local time zone (localtime_r needs tzset to notice). */
void	tz_set(const char *tz);

/* Redirect stderr to a temporary file; returns the saved descriptor. */
int	stderr_capture_start(FILE **tmp);
/* Restore stderr and return what was written to it (caller frees). */
char	*stderr_capture_end(FILE *tmp, int saved);

#endif
