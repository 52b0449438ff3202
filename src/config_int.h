/* What the config*.c files share: load state, schema types, prototypes. */
#ifndef TLSRELAY_CONFIG_INT_H
#define TLSRELAY_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "config.h"

#define PATH_TEXT_MAX		256	/* "devices[12].addresses" and the like */
#define CHOICES_TEXT_MAX	256	/* "mail, daemon, local0, ..." */

/* One name a string setting may take, and the value it stands for. */
struct choice {
	const char	*name;
	int		 value;
};

/* The main and devices texts of a configuration given in memory. */
struct load_texts {
	const char	*main;
	const char	*devices;
};

/* State while loading: the config being built and where errors go. */
struct load {
	struct config		*cfg;
	struct config_errors	*errs;
	const struct load_texts	*texts;		/* NULL: read the files */
	char			*dir;		/* absolute dir of the main
						 * file; "" for texts, whose
						 * relative paths start at / */
	int32_t			 today;		/* for max_sunset_days */
	bool			*listener_ok;	/* per listener: parsed cleanly */
	bool			*device_ok;	/* per device: parsed cleanly */
};

struct key;

/* Reads one setting into the object of its section. */
typedef void	 key_parser(struct load *, const config_setting_t *,
		    const struct key *, void *);
/* Reads one setting whose key needs a function of its own. */
typedef void	 custom_parser(struct load *, const config_setting_t *, void *);
/* Checks a whole section once its keys are read. */
typedef void	 section_checker(struct load *, const config_setting_t *,
		    void *);

/* How a key's value is read and where it is stored. */
enum key_kind {
	KIND_STRING,	/* char *: any text */
	KIND_HOST,	/* char *: a host name, no spaces or controls */
	KIND_IDENT,	/* char *: [A-Za-z0-9._-]+ */
	KIND_ADDRESS,	/* char *: a mail address, local@domain */
	KIND_PATH,	/* char *: resolved against the main file's directory */
	KIND_UINT,	/* unsigned: between min and max */
	KIND_PORT,	/* uint16_t: 1..65535 */
	KIND_BOOL,	/* bool */
	KIND_CHOICE,	/* int: one of the names in choices */
	KIND_GROUP,	/* a section of its own, read into the field */
	KIND_CUSTOM,	/* read by parse, which gets the whole object */
};

/* One allowed key of a section. */
struct key {
	const char		*name;
	enum key_kind		 kind;
	bool			 required;
	size_t			 offset;	/* of the field in the object */
	long long		 min, max;	/* KIND_UINT */
	const struct choice	*choices;	/* KIND_CHOICE */
	const struct section	*section;	/* KIND_GROUP */
	int			 type;		/* KIND_CUSTOM: libconfig type */
	custom_parser		*parse;		/* KIND_CUSTOM */
};

/* What the elements of a string array must be, for its errors. */
struct string_kind {
	const char	*what;		/* "must list at least one <what>" */
	const char	*name;		/* "bad <name> 'x'" */
	const char	*expected;	/* "expected <expected>" */
	bool		 (*valid)(const char *);
};

/* The keys a group may hold, and a check to run once they are read. */
struct section {
	const struct key	*keys;
	size_t			 nkeys;
	section_checker		*check;		/* may be NULL */
};

/* config.c: the names of the auth modes, which device checks look up, and
 * the check of a mail address (local@domain). */
extern const struct choice auth_modes[];
bool		 address_valid(const char *text);

/* config_notices.c: the notices section, its defaults, and freeing it. */
extern const struct section notices_section;
void		 notices_conf_init(struct notices_conf *nc);
void		 notices_conf_free(struct notices_conf *nc);
void		 notices_crosscheck(struct load *ld,
		    const config_setting_t *group);

/* config_schema.c: the generic reader of sections, keys and values. */
void		 section_parse(struct load *ld, const config_setting_t *group,
		    const struct section *sec, void *obj);
void		*list_parse(struct load *ld, const config_setting_t *list,
		    const struct section *sec, size_t size, size_t *n,
		    bool **ok);
bool		 strings_check(struct load *ld, const config_setting_t *s,
		    const char *what);
void		 string_list_parse(struct load *ld, const config_setting_t *s,
		    const struct string_kind *kind, char ***list, size_t *n);
void		 load_error(struct load *ld, const config_setting_t *s,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* config_addr.c: the address settings' parsers. */
custom_parser	 device_addresses_parse, trusted_proxies_parse;
void		 setting_path(const config_setting_t *s, char *buf,
		    size_t len);
const config_setting_t *member_or_self(const config_setting_t *group,
		    const char *name);
const struct choice *choice_by_name(const struct choice *choices,
		    const char *name);
const char	*choice_name(const struct choice *choices, int value);
void		 choices_format(const struct choice *choices, char *buf,
		    size_t len);
bool		 host_valid(const char *text);
void		 string_store(char **field, const char *value);
void		 string_checked_store(struct load *ld,
		    const config_setting_t *s, bool (*valid)(const char *),
		    const char *what, char **field);

/* config_check.c: checks of a section once read, and across sections. */
section_checker	 listener_check, upstream_check, lan_tls_check, oauth2_check,
		    device_check, metrics_check;
void		 devices_crosscheck(struct load *ld,
		    const config_setting_t *list);
void		 listeners_crosscheck(struct load *ld,
		    const config_setting_t *list);

#endif
