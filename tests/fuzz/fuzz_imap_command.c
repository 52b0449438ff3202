/*
 * Fuzz target: IMAP device commands as imap_session.c assembles them
 * (lines and "{n}"/"{n+}" literals, imap_assemble_line/_literal) and
 * parses them (imap_parse_command). The input fed in the fuzzer's chunks
 * gives the same commands as fed whole; every parsed command prints back,
 * its strings as literals, to a command that parses to the same tag,
 * verb and arguments; a literal never holds more than announced.
 */
#include <stdbool.h>
#include <string.h>

#include <event2/buffer.h>

#include "fuzz.h"
#include "imap_parse.h"

#define LINE_LENGTH	256	/* the relay's line_length, kept small */
#define TRACE_MAX	65536

/* What the commands of one run were, to compare two runs. */
struct trace {
	char	 buf[TRACE_MAX];
	size_t	 len;
};

static void	trace_add(struct trace *, const void *, size_t);
static void	run(const uint8_t *, size_t, struct fuzz_chunks *,
		    struct trace *);
static bool	read_line(struct evbuffer *, struct imap_assembly *, size_t *,
		    bool *);
static void	take_command(struct imap_assembly *, struct trace *);
static size_t	print_command(const struct imap_command *, char *, size_t);
static void	check_reparse(const struct imap_command *);

/* Add bytes to a trace (what does not fit is left out of both runs). */
static void
trace_add(struct trace *t, const void *p, size_t n)
{
	if (n > TRACE_MAX - t->len)
		n = TRACE_MAX - t->len;
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

/* Read one line to the end of the command as session_read_line does:
 * LF ends it, a CR before it is dropped; false if none is complete
 * (*too_long if it cannot be). */
static bool
read_line(struct evbuffer *in, struct imap_assembly *a, size_t *len,
    bool *too_long)
{
	size_t room = a->size - a->len, n;
	struct evbuffer_ptr eol;

	if (room > LINE_LENGTH + 1)
		room = LINE_LENGTH + 1;
	eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF);
	*too_long = eol.pos < 0 ? evbuffer_get_length(in) >= room - 1 :
	    (size_t)eol.pos >= room - 1;
	if (eol.pos < 0 || *too_long)
		return false;
	n = (size_t)eol.pos;
	evbuffer_remove(in, a->buf + a->len, n);
	evbuffer_drain(in, 1);
	if (n > 0 && a->buf[a->len + n - 1] == '\r')
		n--;
	a->buf[a->len + n] = '\0';
	*len = n;
	return true;
}

/* Parse an assembled command, note it in the trace and check it. */
static void
take_command(struct imap_assembly *a, struct trace *t)
{
	static char arena[IMAP_ARENA_SIZE(LINE_LENGTH + IMAP_LITERALS_MAX *
	    (IMAP_LITERAL_MAX + 2))];
	struct imap_command cmd;
	const char *error;
	enum imap_parse_status st;
	size_t i;

	st = imap_parse_command(a->buf, a->len, arena, IMAP_ARENA_SIZE(a->len),
	    &cmd, &error);
	trace_add(t, &st, sizeof(st));
	if (st == IMAP_PARSE_OK) {
		trace_add(t, cmd.tag, strlen(cmd.tag) + 1);
		trace_add(t, &cmd.verb, sizeof(cmd.verb));
		for (i = 0; i < cmd.nargs; i++) {
			FUZZ_CHECK(cmd.args[i].data[cmd.args[i].len] == '\0');
			trace_add(t, &cmd.args[i].type,
			    sizeof(cmd.args[i].type));
			trace_add(t, cmd.args[i].data, cmd.args[i].len + 1);
		}
		check_reparse(&cmd);
	} else
		FUZZ_CHECK(st == IMAP_PARSE_NO_TAG || error != NULL);
	imap_assembly_clear(a);
}

/* Print a command, strings as literals; its length. */
static size_t
print_command(const struct imap_command *cmd, char *buf, size_t size)
{
	static const char *const verbs[] = { "XUNKNOWN", "CAPABILITY", "NOOP",
		"LOGOUT", "ID", "STARTTLS", "LOGIN", "AUTHENTICATE" };
	const struct imap_arg *arg;
	size_t i, n;

	n = (size_t)snprintf(buf, size, "%s %s", cmd->tag, verbs[cmd->verb]);
	for (i = 0; i < cmd->nargs; i++) {
		arg = &cmd->args[i];
		if (arg->type != IMAP_ARG_LIST_CLOSE && (i == 0 ||
		    cmd->args[i - 1].type != IMAP_ARG_LIST_OPEN))
			buf[n++] = ' ';
		if (arg->type == IMAP_ARG_STRING)
			n += (size_t)snprintf(buf + n, size - n, "{%zu}\r\n",
			    arg->len);
		memcpy(buf + n, arg->data, arg->len);
		n += arg->len;
	}
	return n;
}

/* A parsed command, printed back, parses to the same command. */
static void
check_reparse(const struct imap_command *cmd)
{
	static char buf[2 * LINE_LENGTH + IMAP_LITERALS_MAX *
	    (IMAP_LITERAL_MAX + 16) + 2 * IMAP_ARGS_MAX * 16];
	static char arena[IMAP_ARENA_SIZE(sizeof(buf))];
	struct imap_command again;
	const char *error;
	size_t n = print_command(cmd, buf, sizeof(buf)), i;

	FUZZ_CHECK(imap_parse_command(buf, n, arena, IMAP_ARENA_SIZE(n),
	    &again, &error) == IMAP_PARSE_OK);
	FUZZ_CHECK(strcmp(again.tag, cmd->tag) == 0);
	FUZZ_CHECK(again.verb == cmd->verb && again.nargs == cmd->nargs);
	for (i = 0; i < cmd->nargs; i++) {
		FUZZ_CHECK(again.args[i].len == cmd->args[i].len);
		FUZZ_CHECK(memcmp(again.args[i].data, cmd->args[i].data,
		    cmd->args[i].len) == 0);
		FUZZ_CHECK(again.args[i].type == cmd->args[i].type);
	}
}

/* Run the session's reading loop over the input in chunks. */
static void
run(const uint8_t *data, size_t size, struct fuzz_chunks *chunks,
    struct trace *t)
{
	struct imap_assembly a;
	struct evbuffer *in = evbuffer_new();
	enum imap_literal lit;
	enum imap_assemble as;
	bool literal = false, too_long = false;
	size_t fed = 0, n, len, want = 0;

	FUZZ_CHECK(imap_assembly_init(&a, LINE_LENGTH));
	while (fed < size && !too_long) {
		n = fuzz_chunks_next(chunks, size - fed);
		evbuffer_add(in, data + fed, n);
		fed += n;
		for (;;) {
			if (literal) {
				if (!imap_assemble_literal(&a, in))
					break;
				FUZZ_CHECK(a.len == want && a.literal_left == 0);
				literal = false;
				continue;
			}
			if (!read_line(in, &a, &len, &too_long))
				break;
			as = imap_assemble_line(&a, len, &lit);
			trace_add(t, &as, sizeof(as));
			FUZZ_CHECK(a.len < a.size);
			if (as == IMAP_ASSEMBLE_DONE)
				take_command(&a, t);
			else if (as == IMAP_ASSEMBLE_LITERAL) {
				FUZZ_CHECK(a.literal_left <= IMAP_LITERAL_MAX &&
				    a.nliterals <= IMAP_LITERALS_MAX);
				want = a.len + a.literal_left;
				literal = true;
			}
			else
				imap_assembly_clear(&a);
		}
	}
	trace_add(t, &too_long, sizeof(too_long));
	imap_assembly_free(&a);
	evbuffer_free(in);
}

/* One fuzz input: run the parser and check its invariants. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct trace whole, chunked;
	struct fuzz_chunks chunks, none = { NULL, 0, 0 };

	fuzz_chunks_init(&chunks, &data, &size);
	whole.len = chunked.len = 0;
	run(data, size, &none, &whole);
	run(data, size, &chunks, &chunked);
	FUZZ_CHECK(whole.len == chunked.len &&
	    memcmp(whole.buf, chunked.buf, whole.len) == 0);
	return 0;
}
