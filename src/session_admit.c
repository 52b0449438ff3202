/* Admission of a new session: the allow-list, the session limits, the
 * refusals and their log lines, and the start line of an admitted device. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "hello_sniff.h"
#include "log.h"
#include "metrics.h"
#include "msgid.h"
#include "session_env.h"
#include "session.h"
#include "nitems.h"

/* The MESSAGE_ID of each refusal by the allow-list. */
static const char *const refusal_msgids[] = {
	[DEVICE_UNKNOWN] = MSGID_REFUSED_UNKNOWN,
	[DEVICE_EXPIRED] = MSGID_REFUSED_EXPIRED,
	[DEVICE_PROTO_DENIED] = MSGID_REFUSED_PROTOCOL,
};

static void	session_refuse(struct session *s, enum device_verdict v);
static void	session_refuse_judged(struct session *s);
static void	session_log_refusal(struct session *s, enum device_verdict v);
static void	session_refusal(struct session *s, bool temporary,
		    const char *why);
static bool	session_over_limits(struct session *s);
static void	session_log_start(struct session *s);
static unsigned	session_device_count(const struct session_env *env,
		    const struct device *dev);

/* Refuse a client judged at accept (after its ClientHello was sniffed),
 * naming its device if it has one. */
static void
session_refuse_judged(struct session *s)
{
	s->dev = devices_lookup(s->cfg, (struct sockaddr *)&s->peer);
	session_refuse(s, s->verdict);
}

/* Judge the client's address: refused ones (unknown, expired, protocol
 * not allowed) never get a TLS handshake, only a short wait for their
 * ClientHello, for the census and the register. */
void
session_admit(struct session *s)
{
	if (s->lan_mode != LAN_TLS_IMPLICIT) {
		session_identify(s);
		return;
	}
	s->verdict = devices_check(s->cfg, (struct sockaddr *)&s->peer,
	    s->ops->proto, time(NULL), NULL);
	if (s->verdict != DEVICE_ALLOWED) {
		if (!hello_sniff_start(s, session_refuse_judged))
			session_refuse_judged(s);
		return;
	}
	session_set_timer(s, TIMER_PRELOGIN);
	session_lan_swap_to_tls(s);
}

/* Count live sessions of a device (by name: it survives reloads). */
static unsigned
session_device_count(const struct session_env *env, const struct device *dev)
{
	const struct session *s;
	unsigned n = 0;

	TAILQ_FOREACH(s, &env->sessions, entry)
		if (s->dev != NULL && strcmp(s->dev->name, dev->name) == 0)
			n++;
	return n;
}

/* Check the allow-list and limits, then greet or refuse the device. */
void
session_identify(struct session *s)
{
	enum device_verdict v;

	v = devices_check(s->cfg, (struct sockaddr *)&s->peer, s->ops->proto,
	    time(NULL), &s->dev);
	if (v != DEVICE_ALLOWED) {
		session_refuse(s, v);
		return;
	}
	if (session_over_limits(s))
		return;
	session_log_start(s);
	session_set_timer(s, TIMER_PRELOGIN);
	s->proto_state = calloc(1, s->ops->state_size);
	if (s->proto_state == NULL || !s->ops->start(s))
		session_no_memory(s, "protocol state");
}

/* Refuse a device the allow-list does not admit now, and log why; on an
 * implicit-TLS listener before any handshake, just close. */
static void
session_refuse(struct session *s, enum device_verdict v)
{
	char why[256], sunset[16];
	const char *name = s->dev != NULL ? s->dev->name : NULL;

	session_log_refusal(s, v);
	metrics_count_refusal(s->ops->proto, device_verdict_name(v));
	if (s->lan.bev == NULL) {
		session_close(s, RESULT_REFUSED, device_verdict_name(v));
		return;
	}
	if (s->dev != NULL)
		date_format(s->dev->sunset, sunset, sizeof(sunset));
	if (v == DEVICE_UNKNOWN)
		snprintf(why, sizeof(why), "%s is not an allowed device",
		    s->client);
	else if (v == DEVICE_EXPIRED)
		snprintf(why, sizeof(why), "access for device %s ended on %s "
		    "(sunset date)", name, sunset);
	else
		snprintf(why, sizeof(why), "device %s may not use %s", name,
		    proto_name(s->ops->proto));
	session_refusal(s, false, why);
	session_close_after_flush(s, RESULT_REFUSED, device_verdict_name(v));
}

/* Log a refusal by the allow-list; an unknown address's at most once a
 * minute, with the count of those not logged since. */
static void
session_log_refusal(struct session *s, enum device_verdict v)
{
	char sunset[16], days[16], count[16];
	unsigned suppressed = 0;
	struct log_field f[] = {
		{ "session", s->id }, { "event", "refused" },
		{ "reason", device_verdict_name(v) }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name },
		{ "device", s->dev != NULL ? s->dev->name : NULL },
		{ "sunset", NULL }, { "days_left", NULL },
		{ "suppressed", NULL }, { "proxy", s->proxy },
	};

	if (v == DEVICE_UNKNOWN && !refusals_log_due(&s->env->refusals,
	    s->client, time(NULL), &suppressed))
		return;
	if (s->dev != NULL) {
		snprintf(days, sizeof(days), "%d",
		    session_days_left(s, sunset, sizeof(sunset)));
		f[7].value = sunset;
		f[8].value = days;
	}
	snprintf(count, sizeof(count), "%u", suppressed);
	f[9].value = suppressed > 0 ? count : NULL;
	log_event(LOG_WARNING, refusal_msgids[v], f, nitems(f));
}

/* Send the protocol's refusal: permanent, or temporary (try again). */
static void
session_refusal(struct session *s, bool temporary, const char *why)
{
	side_printf(&s->lan, "%s%s %s%s", s->ops->refusal[temporary],
	    s->cfg->server_name, why, temporary ? ", try again later" : "");
}

/* Refuse with a temporary error when the session limits are reached. */
static bool
session_over_limits(struct session *s)
{
	const struct limits *lim = &s->cfg->limits;
	const char *why;
	char sunset[16], days[16];
	struct log_field f[] = {
		{ "session", s->id }, { "event", "refused" },
		{ "reason", "busy" }, { "client", s->client },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name }, { "device", s->dev->name },
		{ "detail", NULL }, { "sunset", sunset }, { "days_left", days },
		{ "proxy", s->proxy },
	};

	if (s->env->nsessions - s->env->nsniffing > lim->max_sessions)
		why = "too many sessions";
	else if (session_device_count(s->env, s->dev) >
	    lim->max_sessions_per_device)
		why = "too many sessions for this device";
	else
		return false;
	f[7].value = why;
	snprintf(days, sizeof(days), "%d",
	    session_days_left(s, sunset, sizeof(sunset)));
	log_event(LOG_WARNING, MSGID_REFUSED_BUSY, f, nitems(f));
	metrics_count_refusal(s->ops->proto, "busy");
	session_refusal(s, true, why);
	session_close_after_flush(s, RESULT_REFUSED, "busy");
	return true;
}

/* Log the session start line with the device and its sunset. */
static void
session_log_start(struct session *s)
{
	char sunset[16], days[16];
	int left = session_days_left(s, sunset, sizeof(sunset));
	struct log_field f[] = {
		{ "session", s->id }, { "event", "start" },
		{ "device", s->dev->name }, { "client", s->client },
		{ "proxy", s->proxy },
		{ "protocol", proto_name(s->ops->proto) },
		{ "listener", s->listener_name },
		{ "lan_tls", side_tls_version(&s->lan) },
		{ "sunset", sunset }, { "days_left", days },
	};

	snprintf(days, sizeof(days), "%d", left);
	log_fields(left <= (int)s->cfg->warn_days ? LOG_WARNING : LOG_INFO,
	    f, nitems(f));
	metrics_note_device_seen(s->dev->name, s->ops->proto);
}

/* Stop what admission still waits for: an unknown client's ClientHello. */
void
session_admit_end(struct session *s)
{
	hello_sniff_end(s);
}
