/* The generic libconfig reader: key tables, value kinds, located errors. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config_int.h"
#include "log.h"
#include "util.h"

/* The libconfig type a kind of key expects, and how it is read. */
struct kind {
	int			 type;
	key_parser		*parse;
};

static char	*vformat(const char *fmt, va_list ap)
		    __attribute__((format(printf, 1, 0)));
static const char *setting_file(const config_setting_t *s);
static const char *type_name(int type);
static bool	 type_matches(int expected, int actual);
static bool	 ident_valid(const char *text);
static char	*path_resolve(const struct load *ld, const char *path);
static void	*field_of(void *obj, const struct key *key);
static const struct key *key_find(const struct section *sec,
		    const char *name);
static void	 member_parse(struct load *ld, const config_setting_t *s,
		    const struct section *sec, void *obj);
static void	 required_check(struct load *ld, const config_setting_t *group,
		    const struct section *sec);
static key_parser value_string, value_host, value_ident, value_address,
		    value_path,
		    value_uint, value_port, value_bool, value_choice,
		    value_group, value_custom;

static const struct kind kinds[] = {
	[KIND_STRING] = { CONFIG_TYPE_STRING, value_string },
	[KIND_HOST] = { CONFIG_TYPE_STRING, value_host },
	[KIND_IDENT] = { CONFIG_TYPE_STRING, value_ident },
	[KIND_ADDRESS] = { CONFIG_TYPE_STRING, value_address },
	[KIND_PATH] = { CONFIG_TYPE_STRING, value_path },
	[KIND_UINT] = { CONFIG_TYPE_INT, value_uint },
	[KIND_PORT] = { CONFIG_TYPE_INT, value_port },
	[KIND_BOOL] = { CONFIG_TYPE_BOOL, value_bool },
	[KIND_CHOICE] = { CONFIG_TYPE_STRING, value_choice },
	[KIND_GROUP] = { CONFIG_TYPE_GROUP, value_group },
	[KIND_CUSTOM] = { CONFIG_TYPE_NONE, value_custom },
};

static const char *const type_names[] = {
	[CONFIG_TYPE_NONE] = "nothing",
	[CONFIG_TYPE_GROUP] = "a group",
	[CONFIG_TYPE_INT] = "an integer",
	[CONFIG_TYPE_INT64] = "an integer",
	[CONFIG_TYPE_FLOAT] = "a floating-point number",
	[CONFIG_TYPE_STRING] = "a string",
	[CONFIG_TYPE_BOOL] = "a boolean",
	[CONFIG_TYPE_ARRAY] = "an array",
	[CONFIG_TYPE_LIST] = "a list",
};

/* Append one formatted message to the list of errors. */
void
config_errors_add(struct config_errors *errs, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1,
	    sizeof(*errs->msgs));
	errs->msgs[errs->n++] = msg;
}

/* Free every message and leave the list empty. */
void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* Read every member of a group into obj through the section's keys. */
void
section_parse(struct load *ld, const config_setting_t *group,
    const struct section *sec, void *obj)
{
	int i;

	for (i = 0; i < config_setting_length(group); i++)
		member_parse(ld, config_setting_get_elem(group, i), sec, obj);
	required_check(ld, group, sec);
	if (sec->check != NULL)
		sec->check(ld, group, obj);
}

/* Read one member of a group: known key, right type, then its parser. */
static void
member_parse(struct load *ld, const config_setting_t *s,
    const struct section *sec, void *obj)
{
	const struct key *key = key_find(sec, config_setting_name(s));
	char path[PATH_TEXT_MAX];
	int type;

	if (key == NULL) {
		setting_path(config_setting_parent(s), path, sizeof(path));
		if (path[0] == '\0')
			load_error(ld, s, "unknown key '%s' at top level",
			    config_setting_name(s));
		else
			load_error(ld, s, "unknown key '%s' in section '%s'",
			    config_setting_name(s), path);
		return;
	}
	type = key->kind == KIND_CUSTOM ? key->type : kinds[key->kind].type;
	if (!type_matches(type, config_setting_type(s))) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be %s, not %s", path,
		    type_name(type), type_name(config_setting_type(s)));
		return;
	}
	kinds[key->kind].parse(ld, s, key, obj);
}

/* Report every required key of a section that the group lacks. */
static void
required_check(struct load *ld, const config_setting_t *group,
    const struct section *sec)
{
	char path[PATH_TEXT_MAX];
	size_t i;

	setting_path(group, path, sizeof(path));
	for (i = 0; i < sec->nkeys; i++) {
		if (!sec->keys[i].required ||
		    config_setting_get_member(group, sec->keys[i].name) != NULL)
			continue;
		if (path[0] == '\0')
			load_error(ld, group, "missing required key '%s'",
			    sec->keys[i].name);
		else
			load_error(ld, group,
			    "missing required key '%s' in section '%s'",
			    sec->keys[i].name, path);
	}
}

/* Read a list of groups into n new objects of size bytes; ok says which
 * ones were read without errors. */
void *
list_parse(struct load *ld, const config_setting_t *list,
    const struct section *sec, size_t size, size_t *n, bool **ok)
{
	char path[PATH_TEXT_MAX];
	char *objs;
	size_t i, before;

	*n = (size_t)config_setting_length(list);
	objs = xcalloc(*n, size);
	*ok = xcalloc(*n, sizeof(**ok));
	for (i = 0; i < *n; i++) {
		const config_setting_t *elem = config_setting_get_elem(list, i);

		before = ld->errs->n;
		if (config_setting_is_group(elem))
			section_parse(ld, elem, sec, objs + i * size);
		else {
			setting_path(elem, path, sizeof(path));
			load_error(ld, elem, "'%s' must be a group { ... }, "
			    "not %s", path, type_name(config_setting_type(elem)));
		}
		(*ok)[i] = ld->errs->n == before;
	}
	return objs;
}

/* Check that an array holds at least one element and only strings. */
bool
strings_check(struct load *ld, const config_setting_t *s, const char *what)
{
	char path[PATH_TEXT_MAX];
	int i;

	setting_path(s, path, sizeof(path));
	if (config_setting_length(s) == 0) {
		load_error(ld, s, "'%s' must list at least one %s", path, what);
		return false;
	}
	for (i = 0; i < config_setting_length(s); i++) {
		if (config_setting_type(config_setting_get_elem(s, i)) !=
		    CONFIG_TYPE_STRING) {
			load_error(ld, s, "'%s' must list strings, each %s "
			    "in double quotes", path, what);
			return false;
		}
	}
	return true;
}

/* Read an array of strings of one kind into a list, reporting each one
 * that is not valid. */
void
string_list_parse(struct load *ld, const config_setting_t *s,
    const struct string_kind *kind, char ***list, size_t *n)
{
	char path[PATH_TEXT_MAX];
	const char *text;
	size_t i, len;

	if (!strings_check(ld, s, kind->what))
		return;
	setting_path(s, path, sizeof(path));
	len = (size_t)config_setting_length(s);
	*list = xcalloc(len, sizeof(**list));
	for (i = 0; i < len; i++) {
		text = config_setting_get_string_elem(s, i);
		if (kind->valid(text))
			(*list)[(*n)++] = xstrdup(text);
		else
			load_error(ld, config_setting_get_elem(s, i),
			    "'%s': bad %s '%s': expected %s", path, kind->name,
			    text, kind->expected);
	}
}

/* Store any text. */
static void
value_string(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	(void)ld;
	string_store(field_of(obj, key), config_setting_get_string(s));
}

/* Store a host name, refusing spaces and control characters. */
static void
value_host(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	string_checked_store(ld, s, host_valid, "a host name",
	    field_of(obj, key));
}

/* Store a name made of letters, digits, '.', '_' and '-'. */
static void
value_ident(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	string_checked_store(ld, s, ident_valid,
	    "made of letters, digits, '.', '_' and '-'", field_of(obj, key));
}

/* Store a mail address: local@domain, printable, no brackets or quotes. */
static void
value_address(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	string_checked_store(ld, s, address_valid,
	    "a mail address (local@domain)", field_of(obj, key));
}

/* Store a path, resolved against the main file's directory. */
static void
value_path(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	const char *text = config_setting_get_string(s);
	char **field = field_of(obj, key);
	char path[PATH_TEXT_MAX];

	if (text[0] == '\0') {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must not be empty", path);
		return;
	}
	free(*field);
	*field = path_resolve(ld, text);
}

/* Store an unsigned integer within the key's range. */
static void
value_uint(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	long long v = config_setting_get_int64(s);
	char path[PATH_TEXT_MAX];

	if (v < key->min || v > key->max) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be between %lld and %lld, not %lld",
		    path, key->min, key->max, v);
		return;
	}
	*(unsigned *)field_of(obj, key) = (unsigned)v;
}

/* Store a TCP port number. */
static void
value_port(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	long long v = config_setting_get_int64(s);
	char path[PATH_TEXT_MAX];

	if (v < 1 || v > 65535) {
		setting_path(s, path, sizeof(path));
		load_error(ld, s, "'%s' must be a port between 1 and 65535, "
		    "not %lld", path, v);
		return;
	}
	*(uint16_t *)field_of(obj, key) = (uint16_t)v;
}

/* Store a boolean. */
static void
value_bool(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	(void)ld;
	*(bool *)field_of(obj, key) = config_setting_get_bool(s);
}

/* Store the value of one of the key's named choices. */
static void
value_choice(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	const char *text = config_setting_get_string(s);
	const struct choice *c = choice_by_name(key->choices, text);
	char path[PATH_TEXT_MAX], names[CHOICES_TEXT_MAX];

	if (c == NULL) {
		setting_path(s, path, sizeof(path));
		choices_format(key->choices, names, sizeof(names));
		load_error(ld, s, "'%s' must be one of %s, not '%s'", path,
		    names, text);
		return;
	}
	*(int *)field_of(obj, key) = c->value;
}

/* Read a nested section into the key's field. */
static void
value_group(struct load *ld, const config_setting_t *s, const struct key *key,
    void *obj)
{
	section_parse(ld, s, key->section, field_of(obj, key));
}

/* Hand the setting and the whole object to the key's own parser. */
static void
value_custom(struct load *ld, const config_setting_t *s,
    const struct key *key, void *obj)
{
	key->parse(ld, s, obj);
}

/* Record an error at the file and line of a setting. */
void
load_error(struct load *ld, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	unsigned line = config_setting_source_line(s);

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (line == 0)
		config_errors_add(ld->errs, "%s: %s", setting_file(s), msg);
	else
		config_errors_add(ld->errs, "%s:%u: %s", setting_file(s), line,
		    msg);
	free(msg);
}

/* Format into a newly allocated string, or die. */
static char *
vformat(const char *fmt, va_list ap)
{
	char *out;

	if (vasprintf(&out, fmt, ap) == -1)
		fatal("vasprintf");
	return out;
}

/* Write the dotted path of a setting, such as "listeners[0].port". */
void
setting_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t used;

	buf[0] = '\0';
	if (parent == NULL)
		return;
	setting_path(parent, buf, len);
	used = strlen(buf);
	if (config_setting_name(s) != NULL)
		snprintf(buf + used, len - used, "%s%s", used > 0 ? "." : "",
		    config_setting_name(s));
	else
		snprintf(buf + used, len - used, "[%d]",
		    config_setting_index(s));
}

/* The file a setting was read from; for a text given in memory, the name
 * its root setting's hook holds. */
static const char *
setting_file(const config_setting_t *s)
{
	const char *file = config_setting_source_file(s);

	while (file == NULL && config_setting_parent(s) != NULL)
		s = config_setting_parent(s);
	if (file == NULL)
		file = config_setting_get_hook(s);
	return file != NULL ? file : "(unknown file)";
}

/* A member of a group, or the group itself when the member is absent. */
const config_setting_t *
member_or_self(const config_setting_t *group, const char *name)
{
	const config_setting_t *member;

	member = config_setting_get_member(group, name);
	return member != NULL ? member : group;
}

/* "an integer", "a string", ... for error messages. */
static const char *
type_name(int type)
{
	if (type < 0 || (size_t)type >= nitems(type_names))
		return "an unknown type";
	return type_names[type];
}

/* Does a setting of type actual satisfy a key expecting type expected? */
static bool
type_matches(int expected, int actual)
{
	if (expected == actual)
		return true;
	if (expected == CONFIG_TYPE_INT)
		return actual == CONFIG_TYPE_INT64;
	if (expected == CONFIG_TYPE_ARRAY)
		return actual == CONFIG_TYPE_LIST;
	return false;
}

/* The choice with this name, or NULL. */
const struct choice *
choice_by_name(const struct choice *choices, const char *name)
{
	for (; choices->name != NULL; choices++)
		if (strcmp(choices->name, name) == 0)
			return choices;
	return NULL;
}

/* The name of the choice with this value, or NULL. */
const char *
choice_name(const struct choice *choices, int value)
{
	for (; choices->name != NULL; choices++)
		if (choices->value == value)
			return choices->name;
	return NULL;
}

/* Write "a, b, c": the names a choice setting may take. */
void
choices_format(const struct choice *choices, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; choices->name != NULL && used < len; choices++)
		used += snprintf(buf + used, len - used, "%s%s",
		    used > 0 ? ", " : "", choices->name);
}

/* Is text a non-empty name made of [A-Za-z0-9._-]? */
static bool
ident_valid(const char *text)
{
	return text[0] != '\0' && text[strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-")] == '\0';
}

/* Is text a non-empty host name or address with no spaces or controls? */
bool
host_valid(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;

	if (*p == '\0')
		return false;
	for (; *p != '\0'; p++)
		if (!isgraph(*p))
			return false;
	return true;
}

/* An absolute path for path, relative ones taken from the main file's dir. */
static char *
path_resolve(const struct load *ld, const char *path)
{
	char *out;

	if (path[0] == '/')
		return xstrdup(path);
	xasprintf(&out, "%s/%s", ld->dir, path);
	return out;
}

/* Store a string setting that valid accepts; report one it refuses as
 * "'<path>' must be <what>, not '<text>'". */
void
string_checked_store(struct load *ld, const config_setting_t *s,
    bool (*valid)(const char *), const char *what, char **field)
{
	const char *text = config_setting_get_string(s);
	char path[PATH_TEXT_MAX];

	if (valid(text)) {
		string_store(field, text);
		return;
	}
	setting_path(s, path, sizeof(path));
	load_error(ld, s, "'%s' must be %s, not '%s'", path, what, text);
}

/* Replace a string field with a copy of value. */
void
string_store(char **field, const char *value)
{
	free(*field);
	*field = xstrdup(value);
}

/* The address of a key's field inside the section's object. */
static void *
field_of(void *obj, const struct key *key)
{
	return (char *)obj + key->offset;
}

/* The key of a section with this name, or NULL. */
static const struct key *
key_find(const struct section *sec, const char *name)
{
	size_t i;

	for (i = 0; i < sec->nkeys; i++)
		if (strcmp(sec->keys[i].name, name) == 0)
			return &sec->keys[i];
	return NULL;
}
