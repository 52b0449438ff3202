/*
 * Fuzz target: the configuration, main file and devices file, through
 * config_load_string (no disk, no user look-up, a fixed clock). A text
 * either loads with no error or fails with at least one, each naming the
 * text and line it is about; loading the same texts again gives the same
 * verdict and the same errors.
 */
#include <stdbool.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define NOW	1798761600	/* 2027-01-01, fixed for repeatable runs */

static struct config *load(const char *, const char *,
		    struct config_errors *);

/*
 * libconfig 1.5 leaks its string token on a syntax error (issue 15, point
 * 7; see src/config.c): a leak in the library, not in the relay, so
 * LeakSanitizer is told to let it pass.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* Load the two texts, checking the verdict against the errors. */
static struct config *
load(const char *main_text, const char *devices_text,
    struct config_errors *errs)
{
	struct config *cfg;
	size_t i;

	memset(errs, 0, sizeof(*errs));
	cfg = config_load_string(main_text, devices_text, NOW, errs);
	FUZZ_CHECK((cfg != NULL) == (errs->n == 0));
	for (i = 0; i < errs->n; i++)
		FUZZ_CHECK(strncmp(errs->msgs[i], "(main)", 6) == 0 ||
		    strncmp(errs->msgs[i], "(devices)", 9) == 0);
	return cfg;
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char text[65536];
	struct config_errors first, again;
	struct config *cfg, *cfg2;
	const char *devices;
	size_t i;

	if (!fuzz_string(text, sizeof(text), data, size))
		return 0;
	/* The main text ends at the first NUL; the devices text follows. */
	devices = strlen(text) < size ? text + strlen(text) + 1 : "";
	cfg = load(text, devices, &first);
	cfg2 = load(text, devices, &again);
	FUZZ_CHECK((cfg == NULL) == (cfg2 == NULL) && first.n == again.n);
	for (i = 0; i < first.n; i++)
		FUZZ_CHECK(strcmp(first.msgs[i], again.msgs[i]) == 0);
	if (cfg != NULL)
		config_unref(cfg);
	if (cfg2 != NULL)
		config_unref(cfg2);
	config_errors_clear(&first);
	config_errors_clear(&again);
	return 0;
}
