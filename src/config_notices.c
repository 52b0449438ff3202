/* The notices section: owner notices' sender, thresholds, digest and route. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "config_int.h"
#include "util.h"

#define NOTICE_DAYS_LIMIT	3650	/* a threshold at most ten years out */
#define AT(type, field)	.offset = offsetof(type, field)

static custom_parser notices_days_parse;
static section_checker notices_check;
static bool	 notices_day_store(struct load *ld, const config_setting_t *e,
		    struct notices_conf *nc);
static void	 notices_route_check(struct load *ld,
		    const config_setting_t *group,
		    const struct notices_conf *nc);

static const unsigned default_days[] = { 30, 7, 1 };

static const struct choice notice_routes[] = {
	{ "smtp", NOTICE_ROUTE_SMTP },
	{ "connector", NOTICE_ROUTE_CONNECTOR },
	{ NULL, 0 }
};

static const struct key notices_keys[] = {
	{ "from", KIND_ADDRESS, true, AT(struct notices_conf, from) },
	{ "admin", KIND_ADDRESS, AT(struct notices_conf, admin) },
	{ "days", KIND_CUSTOM, .type = CONFIG_TYPE_ARRAY,
	    .parse = notices_days_parse },
	{ "route", KIND_CHOICE, true, AT(struct notices_conf, route),
	    .choices = notice_routes },
	{ "mailbox", KIND_ADDRESS, AT(struct notices_conf, mailbox) },
};

const struct section notices_section = {
	notices_keys, nitems(notices_keys), notices_check
};

/* The defaults of a configuration without a notices section. */
void
notices_conf_init(struct notices_conf *nc)
{
	memcpy(nc->days, default_days, sizeof(default_days));
	nc->ndays = nitems(default_days);
}

/* Free the section's strings. */
void
notices_conf_free(struct notices_conf *nc)
{
	free(nc->from);
	free(nc->admin);
	free(nc->mailbox);
}

/* The configuration name of a notice route. */
const char *
notice_route_name(enum notice_route route)
{
	const char *name = choice_name(notice_routes, (int)route);

	return name != NULL ? name : "unknown";
}

/* Read the thresholds: days before the sunset, each once, in descending
 * order. */
static void
notices_days_parse(struct load *ld, const config_setting_t *s, void *obj)
{
	struct notices_conf *nc = obj;
	int i, n = config_setting_length(s);

	nc->ndays = 0;
	if (n == 0 || n > NOTICE_DAYS_MAX) {
		load_error(ld, s, "'notices.days' must list 1 to %d numbers of "
		    "days before the sunset", NOTICE_DAYS_MAX);
		return;
	}
	for (i = 0; i < n; i++)
		if (!notices_day_store(ld, config_setting_get_elem(s, i), nc))
			return;
}

/* Append one threshold, which must be below the one before it. */
static bool
notices_day_store(struct load *ld, const config_setting_t *e,
    struct notices_conf *nc)
{
	long long v;

	if (config_setting_type(e) != CONFIG_TYPE_INT) {
		load_error(ld, e, "'notices.days' must list whole numbers");
		return false;
	}
	v = config_setting_get_int(e);
	if (v < 1 || v > NOTICE_DAYS_LIMIT ||
	    (nc->ndays > 0 && v >= nc->days[nc->ndays - 1])) {
		load_error(ld, e, "'notices.days' must count down from at most "
		    "%d to at least 1 without repeats, as [30, 7, 1]; %lld "
		    "does not fit", NOTICE_DAYS_LIMIT, v);
		return false;
	}
	nc->days[nc->ndays++] = (unsigned)v;
	return true;
}

/* Mark the section configured; its route is checked once the upstreams
 * and oauth2 are read (notices_crosscheck). */
static void
notices_check(struct load *ld, const config_setting_t *group, void *obj)
{
	struct notices_conf *nc = obj;

	(void)ld;
	nc->configured = true;
	nc->line = (int)config_setting_source_line(group);
}

/* The route the notices take must be configured, and fit the sender. */
void
notices_crosscheck(struct load *ld, const config_setting_t *group)
{
	const struct notices_conf *nc = &ld->cfg->notices;

	if (group == NULL || !nc->configured || nc->from == NULL)
		return;
	notices_route_check(ld, group, nc);
}

/* smtp: the SMTP upstream, oauth2 and a mailbox; connector: the connector
 * route accepting the sender's domain, and no mailbox. */
static void
notices_route_check(struct load *ld, const config_setting_t *group,
    const struct notices_conf *nc)
{
	const struct config *cfg = ld->cfg;
	const struct upstream_conf *up;

	if (nc->route == NOTICE_ROUTE_CONNECTOR) {
		up = &cfg->upstreams[ROUTE_CONNECTOR];
		if (!up->configured)
			load_error(ld, member_or_self(group, "route"),
			    "'notices.route' is \"connector\" but "
			    "'upstreams.connector' is not configured");
		else if (!route_domain_accepted(up, nc->from))
			load_error(ld, member_or_self(group, "from"),
			    "'notices.from' (%s) is not in the connector's "
			    "accepted_domains", nc->from);
		if (nc->mailbox != NULL)
			load_error(ld, member_or_self(group, "mailbox"),
			    "'notices.mailbox' is for route \"smtp\"; the "
			    "connector route logs in as nobody");
		return;
	}
	if (!cfg->upstreams[ROUTE_SMTP].configured || !cfg->oauth2.configured)
		load_error(ld, member_or_self(group, "route"),
		    "'notices.route' is \"smtp\": it needs 'upstreams.smtp' "
		    "and 'oauth2' (XOAUTH2 as notices.mailbox)");
	if (nc->mailbox == NULL)
		load_error(ld, group, "'notices.route' is \"smtp\": set "
		    "'notices.mailbox', the mailbox the notices are sent as");
}
