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
#include "server.h"

#define NOTIFY_STATUS_SECONDS	5	/* STATUS= refresh, if changed */
#define USEC_PER_SEC		1000000ULL

static void	notify_send(const char *state);
static void	notify_status(struct server *srv, const char *with);
static void	notify_status_format(const struct server *srv, char *dst,
		    size_t len);
static void	notify_statuscb(evutil_socket_t fd, short what, void *arg);
static void	notify_watchdogcb(evutil_socket_t fd, short what, void *arg);

/* Start the watchdog pings and the periodic STATUS= refresh. */
void
notify_init(struct server *srv)
{
	struct timeval status = { NOTIFY_STATUS_SECONDS, 0 }, ping;
	uint64_t usec;

	if (sd_watchdog_enabled(0, &usec) > 0) {
		usec /= 2;
		ping.tv_sec = (time_t)(usec / USEC_PER_SEC);
		ping.tv_usec = (suseconds_t)(usec % USEC_PER_SEC);
		srv->watchdog = event_new(srv->base, -1, EV_PERSIST,
		    notify_watchdogcb, srv);
		evtimer_add(srv->watchdog, &ping);
		log_info("watchdog: pinging systemd every %llu ms",
		    (unsigned long long)usec / 1000);
	}
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	srv->status_timer = event_new(srv->base, -1, EV_PERSIST,
	    notify_statuscb, srv);
	evtimer_add(srv->status_timer, &status);
}

/* READY=1 with a fresh STATUS=. */
void
notify_ready(struct server *srv)
{
	notify_status(srv, "READY=1");
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
notify_stopping(struct server *srv)
{
	notify_status(srv, "STOPPING=1");
}

/* Stop the timers notify_init started. */
void
notify_free(struct server *srv)
{
	if (srv->watchdog != NULL)
		event_free(srv->watchdog);
	if (srv->status_timer != NULL)
		event_free(srv->status_timer);
	srv->watchdog = srv->status_timer = NULL;
}

/* The STATUS= text: sessions, devices, devices expiring or expired. */
static void
notify_status_format(const struct server *srv, char *dst, size_t len)
{
	const struct config *cfg = srv->cfg;
	time_t now = time(NULL);
	unsigned expiring = 0, expired = 0;
	long left;
	size_t i;

	if (srv->draining) {
		snprintf(dst, len, "stopping, sessions to finish: %u",
		    srv->nsessions);
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
	    "days: %u, expired: %u%s", srv->nsessions, cfg->ndevices,
	    cfg->warn_days, expiring, expired, srv->reload_failed ?
	    "; last reload failed, previous configuration in force" : "");
}

/* Send STATUS= after the state in with, or alone (with NULL) if the text
 * changed since the last one sent. */
static void
notify_status(struct server *srv, const char *with)
{
	char text[sizeof(srv->status)], state[128 + sizeof(text)];

	notify_status_format(srv, text, sizeof(text));
	if (with == NULL && strcmp(text, srv->status) == 0)
		return;
	memcpy(srv->status, text, sizeof(text));
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
	(void)fd; (void)what;
	notify_status(arg, NULL);
}

/* The event loop is alive: tell the watchdog. */
static void
notify_watchdogcb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what; (void)arg;
	notify_send("WATCHDOG=1");
}
