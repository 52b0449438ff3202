/* Fixtures shared by the unit suites: time zone and stderr capture. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "testutil.h"
#include "util.h"

static char	*saved_tz;

/* Run the test in UTC, remembering the TZ it started with. */
void
tz_setup(void)
{
	const char *tz = getenv("TZ");

	saved_tz = tz != NULL ? xstrdup(tz) : NULL;
	tz_set("UTC");
}

/* Restore the TZ the test started with. */
void
tz_teardown(void)
{
	if (saved_tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved_tz);
	saved_tz = NULL;
}

/* Switch the local time zone (localtime_r needs tzset to notice). */
void
tz_set(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

/* Redirect stderr to a temporary file; returns the saved descriptor. */
int
stderr_capture_start(FILE **tmp)
{
	int saved;

	fflush(stderr);
	*tmp = tmpfile();
	ck_assert_ptr_nonnull(*tmp);
	saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(*tmp), STDERR_FILENO), 0);
	return saved;
}

/* Restore stderr and return what was written to it (caller frees). */
char *
stderr_capture_end(FILE *tmp, int saved)
{
	char *text = xcalloc(1, 16384);
	size_t n;

	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(text, 1, 16383, tmp);
	text[n] = '\0';
	fclose(tmp);
	return text;
}
