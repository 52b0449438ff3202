/* POP3 syntax: device commands, upstream status and CAPA lines, the relay's
 * own CAPA list, and the end of a multi-line response. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "pop3_parse.h"
#include "util.h"

#define POP3_NUM_DIGITS	10		/* at most 4294967295 */
#define POP3_NUM_MAX	4294967295UL

/* What a verb takes as arguments. */
enum pop3_args {
	ARGS_NONE,		/* nothing (trailing spaces are tolerated) */
	ARGS_TEXT,		/* the rest of the line, not empty */
	ARGS_ANY,		/* anything; checked by the handler */
	ARGS_MSG,		/* one message number */
	ARGS_OPT_MSG,		/* an optional message number */
	ARGS_MSG_LINES,		/* a message number and a line count */
};

/* Every command verb the relay recognises. */
static const struct {
	const char	*name;
	enum pop3_verb	 verb;
	enum pop3_args	 args;
	const char	*usage;
} pop3_verbs[] = {
	{ "USER", POP3_VERB_USER, ARGS_TEXT, "USER name" },
	{ "PASS", POP3_VERB_PASS, ARGS_TEXT, "PASS password" },
	{ "APOP", POP3_VERB_APOP, ARGS_ANY, "APOP name digest" },
	{ "AUTH", POP3_VERB_AUTH, ARGS_ANY, "AUTH [mechanism [response]]" },
	{ "STLS", POP3_VERB_STLS, ARGS_NONE, "STLS" },
	{ "CAPA", POP3_VERB_CAPA, ARGS_NONE, "CAPA" },
	{ "QUIT", POP3_VERB_QUIT, ARGS_NONE, "QUIT" },
	{ "STAT", POP3_VERB_STAT, ARGS_NONE, "STAT" },
	{ "LIST", POP3_VERB_LIST, ARGS_OPT_MSG, "LIST [msg]" },
	{ "RETR", POP3_VERB_RETR, ARGS_MSG, "RETR msg" },
	{ "DELE", POP3_VERB_DELE, ARGS_MSG, "DELE msg" },
	{ "NOOP", POP3_VERB_NOOP, ARGS_NONE, "NOOP" },
	{ "RSET", POP3_VERB_RSET, ARGS_NONE, "RSET" },
	{ "TOP", POP3_VERB_TOP, ARGS_MSG_LINES, "TOP msg lines" },
	{ "UIDL", POP3_VERB_UIDL, ARGS_OPT_MSG, "UIDL [msg]" },
};

static int	pop3_verb_index(const char *line, size_t len);
static int	pop3_verb_entry(enum pop3_verb verb);
static enum pop3_cmd_status pop3_check_args(enum pop3_args args,
		    struct pop3_cmd *cmd);
static bool	pop3_parse_nums(const char *arg, struct pop3_cmd *cmd);
static bool	pop3_parse_num(const char *s, size_t len, unsigned long *out);
static bool	pop3_word_is(const char *s, size_t len, const char *word);

/* Parse and check one device command line. */
enum pop3_cmd_status
pop3_parse_command(const char *line, size_t len, struct pop3_cmd *cmd)
{
	size_t vlen = strcspn(line, " ");
	int i = pop3_verb_index(line, vlen);

	memset(cmd, 0, sizeof(*cmd));
	cmd->arg = line[vlen] == ' ' ? line + vlen + 1 : "";
	if (i < 0)
		return POP3_CMD_UNKNOWN;
	cmd->verb = pop3_verbs[i].verb;
	if (strlen(line) != len)
		return POP3_CMD_SYNTAX;
	return pop3_check_args(pop3_verbs[i].args, cmd);
}

/* The table index of the verb of len bytes at line, or -1. */
static int
pop3_verb_index(const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < nitems(pop3_verbs); i++)
		if (pop3_word_is(line, len, pop3_verbs[i].name))
			return (int)i;
	return -1;
}

/* Check the argument text of a command against what its verb takes. */
static enum pop3_cmd_status
pop3_check_args(enum pop3_args args, struct pop3_cmd *cmd)
{
	switch (args) {
	case ARGS_TEXT:
		if (cmd->arg[0] == '\0')
			return POP3_CMD_SYNTAX;
		return strlen(cmd->arg) < POP3_ARG_MAX ? POP3_CMD_OK :
		    POP3_CMD_TOO_LONG;
	case ARGS_ANY:
		return POP3_CMD_OK;
	case ARGS_NONE:
	case ARGS_MSG:
	case ARGS_OPT_MSG:
	case ARGS_MSG_LINES:
		break;
	}
	if (!pop3_parse_nums(cmd->arg, cmd))
		return POP3_CMD_SYNTAX;
	switch (args) {
	case ARGS_NONE:
		return cmd->nnums == 0 ? POP3_CMD_OK : POP3_CMD_SYNTAX;
	case ARGS_MSG:
		return cmd->nnums == 1 && cmd->num[0] > 0 ? POP3_CMD_OK :
		    POP3_CMD_SYNTAX;
	case ARGS_OPT_MSG:
		return cmd->nnums == 0 || (cmd->nnums == 1 && cmd->num[0] > 0) ?
		    POP3_CMD_OK : POP3_CMD_SYNTAX;
	default:
		return cmd->nnums == 2 && cmd->num[0] > 0 ? POP3_CMD_OK :
		    POP3_CMD_SYNTAX;
	}
}

/* Read up to two space-separated numbers; false on anything else. */
static bool
pop3_parse_nums(const char *arg, struct pop3_cmd *cmd)
{
	size_t len;

	for (;;) {
		arg += strspn(arg, " ");
		if (*arg == '\0')
			return true;
		len = strcspn(arg, " ");
		if (cmd->nnums == nitems(cmd->num) ||
		    !pop3_parse_num(arg, len, &cmd->num[cmd->nnums]))
			return false;
		cmd->nnums++;
		arg += len;
	}
}

/* Parse len decimal digits up to POP3_NUM_MAX. */
static bool
pop3_parse_num(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > POP3_NUM_DIGITS)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > POP3_NUM_MAX)
		return false;
	*out = v;
	return true;
}

/* Do len bytes at s spell word, ignoring case? */
static bool
pop3_word_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

/* The table index of a verb, or -1 for POP3_VERB_UNKNOWN. */
static int
pop3_verb_entry(enum pop3_verb verb)
{
	size_t i;

	for (i = 0; i < nitems(pop3_verbs); i++)
		if (pop3_verbs[i].verb == verb)
			return (int)i;
	return -1;
}

/* How the verb is used, for syntax error replies. */
const char *
pop3_cmd_usage(enum pop3_verb verb)
{
	int i = pop3_verb_entry(verb);

	return i < 0 ? "unknown command" : pop3_verbs[i].usage;
}

/* Is a +OK answer to this command multi-line? */
bool
pop3_cmd_multiline(const struct pop3_cmd *cmd)
{
	switch (cmd->verb) {
	case POP3_VERB_RETR:
	case POP3_VERB_TOP:
	case POP3_VERB_CAPA:
		return true;
	case POP3_VERB_LIST:
	case POP3_VERB_UIDL:
		return cmd->nnums == 0;
	default:
		return false;
	}
}

/* Write the canonical form of a parsed command to buf. */
void
pop3_cmd_format(const struct pop3_cmd *cmd, char *buf, size_t len)
{
	int i = pop3_verb_entry(cmd->verb);

	if (i < 0)
		fatalx("pop3: formatting an unknown command");
	if (cmd->nnums == 0)
		snprintf(buf, len, "%s", pop3_verbs[i].name);
	else if (cmd->nnums == 1)
		snprintf(buf, len, "%s %lu", pop3_verbs[i].name, cmd->num[0]);
	else
		snprintf(buf, len, "%s %lu %lu", pop3_verbs[i].name,
		    cmd->num[0], cmd->num[1]);
}

/* Split an AUTH argument into its mechanism and initial response. */
enum pop3_mech
pop3_parse_auth(const char *arg, const char **ir)
{
	size_t len = strcspn(arg, " ");

	*ir = arg[len] == ' ' && arg[len + 1] != '\0' ? arg + len + 1 : NULL;
	if (len == 0)
		return *ir == NULL && arg[len] == '\0' ? POP3_MECH_NONE :
		    POP3_MECH_UNKNOWN;
	if (pop3_word_is(arg, len, "PLAIN"))
		return POP3_MECH_PLAIN;
	if (pop3_word_is(arg, len, "LOGIN"))
		return POP3_MECH_LOGIN;
	return POP3_MECH_UNKNOWN;
}

/* Classify an upstream response line. */
enum pop3_status
pop3_parse_status(const char *line, const char **text)
{
	size_t len = strcspn(line, " ");

	*text = line[len] == ' ' ? line + len + 1 : line + len;
	if (pop3_word_is(line, len, "+OK"))
		return POP3_STATUS_OK;
	if (pop3_word_is(line, len, "-ERR"))
		return POP3_STATUS_ERR;
	if (pop3_word_is(line, len, "+"))
		return POP3_STATUS_CONT;
	return POP3_STATUS_BAD;
}

/* Copy the bracketed response code at the start of text into code. */
bool
pop3_resp_code(const char *text, char *code, size_t len)
{
	size_t n;

	if (len > 0)
		code[0] = '\0';
	if (text[0] != '[')
		return false;
	n = strcspn(text + 1, "] ");
	if (n == 0 || text[1 + n] != ']' || n >= len)
		return false;
	memcpy(code, text + 1, n);
	code[n] = '\0';
	return true;
}

/* Note one line of an upstream CAPA list. */
void
pop3_parse_capa_line(const char *line, struct pop3_caps *caps)
{
	size_t len = strcspn(line, " ");
	const char *mech;

	if (pop3_word_is(line, len, "STLS"))
		caps->stls = true;
	else if (pop3_word_is(line, len, "USER"))
		caps->user = true;
	else if (pop3_word_is(line, len, "TOP"))
		caps->top = true;
	else if (pop3_word_is(line, len, "UIDL"))
		caps->uidl = true;
	else if (pop3_word_is(line, len, "SASL")) {
		for (mech = line + len; *mech != '\0'; mech += len) {
			mech += strspn(mech, " ");
			len = strcspn(mech, " ");
			if (pop3_word_is(mech, len, "PLAIN"))
				caps->sasl_plain = true;
			else if (pop3_word_is(mech, len, "XOAUTH2"))
				caps->sasl_xoauth2 = true;
		}
	}
}

/* May the device send credentials now? */
bool
pop3_policy_auth(const struct pop3_policy *p)
{
	return !p->logged_in && (p->lan_tls || p->plaintext_auth);
}

/* Is STLS available now? */
bool
pop3_policy_stls(const struct pop3_policy *p)
{
	return !p->logged_in && p->lan_cert && !p->lan_tls;
}

/* The relay's own CAPA lines: nothing of the upstream's before login. */
size_t
pop3_capa_list(const struct pop3_policy *p, const char *caps[POP3_CAPA_MAX])
{
	size_t n = 0;

	if (pop3_policy_stls(p))
		caps[n++] = "STLS";
	if (pop3_policy_auth(p)) {
		caps[n++] = "USER";
		caps[n++] = "SASL PLAIN LOGIN";
	}
	if (p->logged_in && p->up.top)
		caps[n++] = "TOP";
	if (p->logged_in && p->up.uidl)
		caps[n++] = "UIDL";
	caps[n++] = "RESP-CODES";
	if (!p->logged_in)
		caps[n++] = "AUTH-RESP-CODE";
	return n;
}

/* Find how much of the buffered data is body, and whether it ends. */
enum pop3_body
pop3_body_scan(struct evbuffer *in, bool *line_start, size_t *n)
{
	size_t avail = evbuffer_get_length(in);
	struct evbuffer_ptr p;
	unsigned char head[3] = { 0, 0, 0 }, last;

	*n = 0;
	if (avail == 0)
		return POP3_BODY_WAIT;
	if (*line_start) {
		evbuffer_copyout(in, head, avail < 3 ? avail : 3);
		if (head[0] == '.' && head[1] == '\n') {
			*n = 2;
			return POP3_BODY_END;
		}
		if (head[0] == '.' && head[1] == '\r' && head[2] == '\n') {
			*n = 3;
			return POP3_BODY_END;
		}
		if (head[0] == '.' && (avail == 1 ||
		    (avail == 2 && head[1] == '\r')))
			return POP3_BODY_WAIT;
	}
	p = evbuffer_search(in, "\n.", 2, NULL);
	if (p.pos >= 0) {
		*n = (size_t)p.pos + 1;
		*line_start = true;
		return POP3_BODY_MORE;
	}
	evbuffer_ptr_set(in, &p, avail - 1, EVBUFFER_PTR_SET);
	evbuffer_copyout_from(in, &p, &last, 1);
	*n = avail;
	*line_start = last == '\n';
	return POP3_BODY_MORE;
}
