/* Calendar dates as civil day numbers: parsing, formatting, today. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "util.h"

static bool	 year_is_leap(int y);
static int	 month_days(int y, int m);
static int32_t	 days_from_civil(int y, int m, int d);
static void	 civil_from_days(int32_t day, int *y, int *m, int *d);

/* Parse "YYYY-MM-DD", a real calendar date, into a civil day number. */
bool
date_parse(const char *text, int32_t *day)
{
	int y, m, d;

	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
	    !digits_parse(text, 4, &y) || !digits_parse(text + 5, 2, &m) ||
	    !digits_parse(text + 8, 2, &d))
		return false;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > month_days(y, m))
		return false;
	*day = days_from_civil(y, m, d);
	return true;
}

/* Format a civil day number as "YYYY-MM-DD". */
void
date_format(int32_t day, char *dst, size_t dstlen)
{
	int y, m, d;

	civil_from_days(day, &y, &m, &d);
	snprintf(dst, dstlen, "%04d-%02d-%02d", y, m, d);
}

/* The civil day number of the local date at time now. */
int32_t
date_today(time_t now)
{
	struct tm tm;

	if (localtime_r(&now, &tm) == NULL)
		return (int32_t)(now / 86400);
	return days_from_civil(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* Is y a leap year in the Gregorian calendar? */
static bool
year_is_leap(int y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

/* The number of days in month m (1..12) of year y. */
static int
month_days(int y, int m)
{
	static const int days[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && year_is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil: years start in March so the leap day comes last). */
static int32_t
days_from_civil(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The proleptic Gregorian date of a day number, inverse of the above. */
static void
civil_from_days(int32_t day, int *y, int *m, int *d)
{
	int32_t z = day + 719468;
	int32_t era = (z >= 0 ? z : z - 146096) / 146097;
	int32_t doe = z - era * 146097;
	int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int32_t mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}
