/*
 * Fuzz target: the configuration, main file and devices file, through
 * config_load_string (no disk, no user look-up, a fixed clock). A text
 * either loads with no error or fails with at least one, each naming the
 * text and line it is about; loading the same texts again gives the same
 * verdict and the same errors.
 *
 * libconfig 1.5 leaks its string token on a syntax error (issue 15, point
 * 7; see src/config.c), which most fuzzed texts have. libFuzzer answers
 * every input that leaks with a full LeakSanitizer pass, which made the
 * target crawl (16 inputs a second, slower as the lost blocks piled up).
 * So the target notes the blocks an input allocates and, at its end,
 * frees those still held that libconfig's scanner allocated (in
 * libconfig_yylex or in the string buffer it fills, strbuf_append, which
 * the relay never owns): only a leak elsewhere, in the relay above all,
 * is left for libFuzzer to find.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sanitizer/allocator_interface.h>
#include <sanitizer/asan_interface.h>

#include "config.h"
#include "fuzz.h"

#define NOW		1798761600	/* 2027-01-01, for repeatable runs */
#define LIVE_SLOTS	16384		/* a power of two */
#define LIVE_FREED	((const void *)1)
#define STACK_DEPTH	64

/* The blocks the input allocated (open addressing; LIVE_FREED once
 * freed), from the start of an input to its end, and the slots used. */
struct live {
	const void	*slot[LIVE_SLOTS];
	size_t		 used[LIVE_SLOTS / 2];
	size_t		 added;
	bool		 full;		/* too many: nothing is freed */
};

/* A function of libconfig's scanner and where its code lies. */
struct scanner_fn {
	const char	*name;
	uintptr_t	 lo, hi;
};

static struct live	live;
static __thread bool	live_on;	/* noting, in this thread */
static struct scanner_fn scanner[] = {
	{ "libconfig_yylex", 0, 0 },
	{ "strbuf_append", 0, 0 },
};

static size_t	live_find(const void *);
static void	live_malloc_hook(const volatile void *, size_t);
static void	live_free_hook(const volatile void *);
static bool	live_by_scanner(const void *);
static void	live_free_scanner(void);
static struct config *load(const char *, const char *,
		    struct config_errors *);

/*
 * libconfig's scanner leak, for the leak check at exit and for an input
 * too big to note all its blocks: a leak in the library, not in the
 * relay, so LeakSanitizer is told to let it pass.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:strbuf_append\nleak:libconfig_yylex\n";
}

/* Find where libconfig's scanner lies and start noting blocks. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const ElfW(Sym) *sym;
	Dl_info info;
	void *fn;
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < sizeof(scanner) / sizeof(scanner[0]); i++) {
		fn = dlsym(RTLD_DEFAULT, scanner[i].name);
		sym = NULL;
		FUZZ_CHECK(fn != NULL && dladdr1(fn, &info, (void **)&sym,
		    RTLD_DL_SYMENT) != 0 && sym != NULL && sym->st_size > 0);
		scanner[i].lo = (uintptr_t)fn;
		scanner[i].hi = scanner[i].lo + sym->st_size;
	}
	FUZZ_CHECK(__sanitizer_install_malloc_and_free_hooks(live_malloc_hook,
	    live_free_hook) != 0);
	return 0;
}

/* The slot holding p, or the empty slot where it would go. */
static size_t
live_find(const void *p)
{
	size_t i = ((uintptr_t)p >> 4) & (LIVE_SLOTS - 1);

	while (live.slot[i] != NULL && live.slot[i] != p)
		i = (i + 1) & (LIVE_SLOTS - 1);
	return i;
}

/* Note a block allocated while an input runs (a malloc hook: it must not
 * allocate). */
static void
live_malloc_hook(const volatile void *p, size_t size)
{
	size_t i;

	(void)size;
	if (!live_on || live.full)
		return;
	if (live.added == LIVE_SLOTS / 2) {
		live.full = true;
		return;
	}
	i = live_find((const void *)p);
	live.slot[i] = (const void *)p;
	live.used[live.added++] = i;
}

/* Note that a block was freed. */
static void
live_free_hook(const volatile void *p)
{
	size_t i;

	if (!live_on || live.full || p == NULL)
		return;
	i = live_find((const void *)p);
	if (live.slot[i] == p)
		live.slot[i] = LIVE_FREED;
}

/* Whether libconfig's scanner allocated block p. */
static bool
live_by_scanner(const void *p)
{
	void *trace[STACK_DEPTH];
	size_t i, k, n;
	int tid;

	n = __asan_get_alloc_stack((void *)p, trace, STACK_DEPTH, &tid);
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(scanner) / sizeof(scanner[0]); k++)
			if ((uintptr_t)trace[i] > scanner[k].lo &&
			    (uintptr_t)trace[i] <= scanner[k].hi)
				return true;
	return false;
}

/* At the end of an input, free the blocks libconfig's scanner lost, and
 * forget them all. */
static void
live_free_scanner(void)
{
	const void *p;
	size_t k;

	live_on = false;
	for (k = 0; k < live.added; k++) {
		p = live.slot[live.used[k]];
		if (!live.full && p != LIVE_FREED && live_by_scanner(p))
			free((void *)p);
		live.slot[live.used[k]] = NULL;
	}
	live.added = 0;
	live.full = false;
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
	live_on = true;
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
	live_free_scanner();
	return 0;
}
