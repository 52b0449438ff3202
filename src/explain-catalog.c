/* explain-catalog: prints the journald catalog entry of the upstream
 * refusals from explain.c's table (make builds the installed catalog with
 * it), or with -c the table's codes for tests/ops/check. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "explain.h"
#include "msgid.h"

#define CATALOG_WIDTH	76	/* columns of the catalog text */

static void	usage(void) __attribute__((noreturn));
static void	catalog_print_entry(void);
static void	catalog_print_codes(void);
static void	catalog_print_explanation(const struct explanation *e);
static void	catalog_wrap(const char *first, const char *indent,
		    const char *text);

/* The head of the entry: its id (after the empty line that journald wants
 * before each entry), headers and what any such line means. */
static const char catalog_head[] =
    "\n"
    "-- " MSGID_UPSTREAM_REFUSAL "\n"
    "Subject: Exchange Online refused the relay: @TLSRELAY_CODE@\n"
    "Defined-By: tlsrelay\n"
    "Support: man:tlsrelayd(8)\n"
    "Documentation: man:tlsrelayd.conf(5)\n"
    "\n"
    "Exchange Online, or the Entra ID token endpoint the relay gets its\n"
    "OAuth2 tokens from, refused the relay with a reply that tlsrelayd\n"
    "knows (@TLSRELAY_CODE@): @TLSRELAY_REPLY@\n"
    "\n"
    "@TLSRELAY_MEANING@\n"
    "\n"
    "What to do: @TLSRELAY_ACTION@\n"
    "\n"
    "When the fix is on the administrator's side (the tenant, the app\n"
    "registration, a connector or tlsrelayd's configuration) the device\n"
    "was told to retry, and its mail or login goes through once the fix is\n"
    "made; only when the device's own request is wrong was it refused for\n"
    "good. Token endpoint refusals end the logins waiting for the token\n"
    "with a temporary error. Earlier refusals of the same kind are listed\n"
    "by \"journalctl TLSRELAY_CODE=@TLSRELAY_CODE@\".\n"
    "\n"
    "The replies tlsrelayd explains (see EXCHANGE ONLINE REPLIES in\n"
    "tlsrelayd(8)):\n";

/* Print the usage line and exit. */
static void
usage(void)
{
	fprintf(stderr, "usage: explain-catalog [-c]\n"
	    "  -c  print each entry's code and the text it matches, one a "
	    "line\n");
	exit(2);
}

/* Print the catalog entry, or with -c the codes. */
int
main(int argc, char *argv[])
{
	int ch;
	bool codes = false;

	while ((ch = getopt(argc, argv, "c")) != -1) {
		switch (ch) {
		case 'c':
			codes = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (codes)
		catalog_print_codes();
	else
		catalog_print_entry();
	return fflush(stdout) == 0 && !ferror(stdout) ? EXIT_SUCCESS :
	    EXIT_FAILURE;
}

/* Print the whole catalog entry: the head, then every explanation. */
static void
catalog_print_entry(void)
{
	size_t i, n;
	const struct explanation *t = explain_table(&n);

	fputs(catalog_head, stdout);
	for (i = 0; i < n; i++)
		catalog_print_explanation(&t[i]);
}

/* Print each entry's short code and its match text, one a line. */
static void
catalog_print_codes(void)
{
	size_t i, n;
	const struct explanation *t = explain_table(&n);

	for (i = 0; i < n; i++)
		printf("%s\n%s\n", t[i].code, t[i].match);
}

/* Print one explanation: the reply, its meaning, the action and what the
 * device gets. */
static void
catalog_print_explanation(const struct explanation *e)
{
	printf("\n  %s \"%s\" (code=%s)\n", explain_source_name(e->source),
	    e->match, e->code);
	catalog_wrap("      ", "      ", e->meaning);
	catalog_wrap("      What to do: ", "      ", e->action);
	if (e->device != NULL)
		catalog_wrap(e->temporary ? "      The device is told to retry: "
		    : "      The device is refused: ", "      ", e->device);
}

/* Print text wrapped at CATALOG_WIDTH, the first line after first and
 * the others after indent; words are never split. */
static void
catalog_wrap(const char *first, const char *indent, const char *text)
{
	const char *p = text + strspn(text, " ");
	size_t col = strlen(first), len;
	bool line_start = true;

	fputs(first, stdout);
	while (*p != '\0') {
		len = strcspn(p, " ");
		if (!line_start && col + 1 + len > CATALOG_WIDTH) {
			printf("\n%s", indent);
			col = strlen(indent);
		} else if (!line_start) {
			putchar(' ');
			col++;
		}
		fwrite(p, 1, len, stdout);
		col += len;
		line_start = false;
		p += len;
		p += strspn(p, " ");
	}
	putchar('\n');
}
