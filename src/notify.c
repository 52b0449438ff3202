/* Notifications to the service manager: readiness, reload, stop, status,
 * watchdog. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "devices.h"
#include "log.h"
#include "notify.h"
#include "config.h"
#include "session_env.h"

#define NOTIFY_STATUS_SECONDS	5	/* STATUS= refresh, if changed */
#define USEC_PER_SEC		1000000ULL

/* The timers notify_init started and the STATUS= last sent. */
static struct {
	const struct session_env *env;
	struct event		*watchdog;	/* WATCHDOG=1, when asked for */
	struct event		*status_timer;	/* STATUS= refresh */
	char			 status[256];	/* the last STATUS= text sent */
	bool			 reload_failed;	/* the last reload was refused */
} notify;

static void	notify_send(const char *state);
static void	notify_status(const char *with);
static void	notify_status_format(char *dst, size_t len);
static void	notify_statuscb(evutil_socket_t fd, short what, void *arg);
static void	notify_watchdogcb(evutil_socket_t fd, short what, void *arg);

/* Start the watchdog pings and the periodic STATUS= refresh. */
void
notify_init(const struct session_env *env)
{
	struct timeval status = { NOTIFY_STATUS_SECONDS, 0 }, ping;
	uint64_t usec;

	notify.env = env;
	if (sd_watchdog_enabled(0, &usec) > 0) {
		usec /= 2;
		ping.tv_sec = (time_t)(usec / USEC_PER_SEC);
		ping.tv_usec = (suseconds_t)(usec % USEC_PER_SEC);
		notify.watchdog = event_new(env->base, -1, EV_PERSIST,
		    notify_watchdogcb, NULL);
		evtimer_add(notify.watchdog, &ping);
		log_info("watchdog: pinging systemd every %llu ms",
		    (unsigned long long)usec / 1000);
	}
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	notify.status_timer = event_new(env->base, -1, EV_PERSIST,
	    notify_statuscb, NULL);
	evtimer_add(notify.status_timer, &status);
}

/* READY=1 with a fresh STATUS=, which says if the last reload failed. */
void
notify_ready(bool reload_failed)
{
	notify.reload_failed = reload_failed;
	notify_status("READY=1");
}

/* RELOADING=1, with the time systemd (253 and later) wants beside it. */
void
notify_reloading(void)
{
	char state[64];
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)now.tv_sec * USEC_PER_SEC +
	    (unsigned long long)now.tv_nsec / 1000);
	notify_send(state);
}

/* STOPPING=1 and a STATUS= that says how many sessions are left. */
void
notify_stopping(void)
{
	notify_status("STOPPING=1");
}

/* Stop the timers notify_init started. */
void
notify_free(void)
{
	if (notify.watchdog != NULL)
		event_free(notify.watchdog);
	if (notify.status_timer != NULL)
		event_free(notify.status_timer);
	notify.watchdog = notify.status_timer = NULL;
}

/* The STATUS= text: sessions, devices, devices expiring or expired. */
static void
notify_status_format(char *dst, size_t len)
{
	const struct session_env *env = notify.env;
	const struct config *cfg = env->cfg;
	time_t now = time(NULL);
	unsigned expiring = 0, expired = 0;
	long left;
	size_t i;

	if (env->draining) {
		snprintf(dst, len, "stopping, sessions to finish: %u",
		    env->nsessions);
		return;
	}
	for (i = 0; i < cfg->ndevices; i++) {
		left = device_days_left(&cfg->devices[i], now);
		if (left < 0)
			expired++;
		else if (left <= (long)cfg->warn_days)
			expiring++;
	}
	snprintf(dst, len, "sessions: %u, devices: %zu, expiring within %u "
	    "days: %u, expired: %u%s", env->nsessions, cfg->ndevices,
	    cfg->warn_days, expiring, expired, notify.reload_failed ?
	    "; last reload failed, previous configuration in force" : "");
}

/* Send STATUS= after the state in with, or alone (with NULL) if the text
 * changed since the last one sent. */
static void
notify_status(const char *with)
{
	char text[sizeof(notify.status)], state[128 + sizeof(text)];

	notify_status_format(text, sizeof(text));
	if (with == NULL && strcmp(text, notify.status) == 0)
		return;
	memcpy(notify.status, text, sizeof(text));
	if (with != NULL)
		snprintf(state, sizeof(state), "%s\nSTATUS=%s", with, text);
	else
		snprintf(state, sizeof(state), "STATUS=%s", text);
	notify_send(state);
}

/* Send one notification; a failure is only worth a debug line. */
static void
notify_send(const char *state)
{
	int rc = sd_notify(0, state);

	if (rc < 0)
		log_debug("sd_notify: %s", strerror(-rc));
}

/* Refresh STATUS= now and then: sessions come and go, days pass. */
static void
notify_statuscb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	notify_status(NULL);
}

/* The event loop is alive: tell the watchdog. */
static void
notify_watchdogcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	notify_send("WATCHDOG=1");
}
