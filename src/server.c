/* The daemon's process-wide state: loop, signals, reload, drain. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "credentials.h"
#include "date.h"
#include "devices.h"
#include "evidence.h"
#include "evidence_session.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "mailboxes.h"
#include "msgid.h"
#include "notice_run.h"
#include "notify.h"
#include "oauth.h"
#include "privdrop.h"
#include "proxy.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "util.h"
#include "verifier.h"

#define DAILY_SECONDS		(24 * 60 * 60)
#define FORCED_EXIT_SECONDS	15	/* after the drain timeout */

static struct config *server_load(const char *path);
static bool	server_listen(struct server *srv);
static void	server_reload(struct server *srv);
static bool	server_swap_config(struct server *srv);
static void	server_begin_drain(struct server *srv);
static void	server_signalcb(evutil_socket_t sig, short what, void *arg);
static void	server_draincb(evutil_socket_t fd, short what, void *arg);
static void	server_dailycb(evutil_socket_t fd, short what, void *arg);
static void	server_report_device(const struct config *cfg,
		    const struct device *dev, time_t now);

/* Load a config, build its TLS contexts and load its OAuth2 credentials;
 * NULL with errs filled on any error. */
struct config *
server_load_config(const char *path, struct config_errors *errs)
{
	struct config *cfg;
	size_t before = errs->n;

	if ((cfg = config_load(path, errs)) == NULL)
		return NULL;
	tls_config_load(cfg, errs);
	oauth_config_load(cfg, errs);
	if (errs->n == before)
		return cfg;
	config_unref(cfg);
	return NULL;
}

/* Load a config for the daemon; log every error. */
static struct config *
server_load(const char *path)
{
	struct config_errors errs = { 0 };
	struct config *cfg = server_load_config(path, &errs);
	size_t i;

	for (i = 0; i < errs.n; i++)
		log_warnx("config: %s", errs.msgs[i]);
	config_errors_clear(&errs);
	return cfg;
}

/* Set up the loop, load the config, bind listeners. */
bool
server_init(struct server *srv, const char *config_path)
{
	struct timeval day = { DAILY_SECONDS, 0 };

	memset(srv, 0, sizeof(*srv));
	TAILQ_INIT(&srv->env.sessions);
	srv->env.mailboxes = mailboxes_new();
	srv->config_path = xstrdup(config_path);
	if ((srv->env.cfg = server_load(config_path)) == NULL)
		return false;
	if ((srv->env.base = side_base_new()) == NULL)
		fatalx("event_base_new failed");
	srv->env.dns = evdns_base_new(srv->env.base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	if (srv->env.dns == NULL) {
		srv->env.dns = evdns_base_new(srv->env.base, 0);
		evdns_base_load_hosts(srv->env.dns, NULL);
	}
	srv->tokens.base = srv->env.base;
	srv->tokens.dns = srv->env.dns;
	srv->env.tokens = &srv->tokens;
	if (!server_listen(srv))
		return false;
	privdrop_to_user(srv->env.cfg->user);
	signal(SIGPIPE, SIG_IGN);
	srv->env.verifier = verifier_new(srv->env.base);
	srv->env.evidence = evidence_start(srv->env.cfg->state_dir,
	    srv->env.cfg->evidence_days);
	srv->notices = notices_start(&srv->env);
	srv->env.session_ended = evidence_session_end;
	srv->env.descriptors_freed = listeners_resume;
	srv->sig_hup = evsignal_new(srv->env.base, SIGHUP, server_signalcb, srv);
	srv->sig_term = evsignal_new(srv->env.base, SIGTERM, server_signalcb, srv);
	srv->sig_int = evsignal_new(srv->env.base, SIGINT, server_signalcb, srv);
	evsignal_add(srv->sig_hup, NULL);
	evsignal_add(srv->sig_term, NULL);
	evsignal_add(srv->sig_int, NULL);
	srv->drain_timer = evtimer_new(srv->env.base, server_draincb, srv);
	srv->daily = event_new(srv->env.base, -1, EV_PERSIST, server_dailycb, srv);
	evtimer_add(srv->daily, &day);
	notify_init(&srv->env);
	log_set_level(srv->env.cfg->log.level);
	return true;
}

/* Bind the first listeners, taking the sockets systemd passed by name. */
static bool
server_listen(struct server *srv)
{
	struct listen_fds *lf = listen_fds_take();
	bool ok = listeners_apply(&srv->env, srv->env.cfg, lf) &&
	    metrics_apply(&srv->env, srv->env.cfg);

	listen_fds_release(lf);
	return ok;
}

/* Report the devices near their sunset and the credentials' expiry, tell
 * systemd the relay is ready, and run the event loop until shutdown
 * completes. */
int
server_run(struct server *srv)
{
	log_info("tlsrelayd %s started: %zu listeners, %zu devices",
	    PACKAGE_VERSION, srv->env.cfg->nlisteners, srv->env.cfg->ndevices);
	server_report_devices(srv->env.cfg);
	credentials_report(srv->env.cfg, time(NULL), true);
	notify_ready(srv->reload_failed);
	event_base_dispatch(srv->env.base);
	log_info("tlsrelayd stopped");
	return 0;
}

/* Free what server_init built. */
void
server_free(struct server *srv)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&srv->env.sessions)) != NULL)
		session_close(s, RESULT_SHUTDOWN, "relay stopped");
	proxy_waits_free();
	metrics_close();
	listeners_close(&srv->env);
	notices_stop(srv->notices);	/* before the token caches */
	notify_free();
	oauth_tokens_free(&srv->tokens);
	mailboxes_free(srv->env.mailboxes);
	evidence_stop(srv->env.evidence);
	if (srv->env.verifier != NULL)
		verifier_free(srv->env.verifier);
	if (srv->sig_hup != NULL) {
		event_free(srv->sig_hup);
		event_free(srv->sig_term);
		event_free(srv->sig_int);
		event_free(srv->drain_timer);
		event_free(srv->daily);
	}
	if (srv->env.dns != NULL)
		evdns_base_free(srv->env.dns, 0);
	if (srv->env.base != NULL)
		event_base_free(srv->env.base);
	if (srv->env.cfg != NULL)
		config_unref(srv->env.cfg);
	free(srv->config_path);
}

/* SIGHUP: reload, telling systemd when it starts and ends. */
static void
server_reload(struct server *srv)
{
	notify_reloading();
	log_info("reloading configuration from %s", srv->config_path);
	srv->reload_failed = !server_swap_config(srv);
	metrics_count_reload(!srv->reload_failed);
	notify_ready(srv->reload_failed);
}

/* Replace the config snapshot if the new one is valid; sessions in
 * progress keep the snapshot they started with. */
static bool
server_swap_config(struct server *srv)
{
	struct config *cfg, *old;

	if ((cfg = server_load(srv->config_path)) == NULL) {
		log_warnx("configuration reload failed; keeping the previous "
		    "configuration");
		return false;
	}
	if (!listeners_apply(&srv->env, cfg, NULL)) {
		log_warnx("configuration reload failed: cannot bind the new "
		    "listeners; keeping the previous configuration");
		config_unref(cfg);
		return false;
	}
	metrics_apply(&srv->env, cfg);
	old = srv->env.cfg;
	srv->env.cfg = cfg;
	config_unref(old);
	log_set_level(cfg->log.level);
	log_info("configuration reloaded: %zu listeners, %zu devices",
	    cfg->nlisteners, cfg->ndevices);
	server_report_devices(cfg);
	credentials_report(cfg, time(NULL), true);
	return true;
}

/* SIGTERM: stop accepting and let sessions finish. */
static void
server_begin_drain(struct server *srv)
{
	struct timeval tv = { srv->env.cfg->limits.drain_timeout, 0 };

	if (srv->env.draining)
		return;
	srv->env.draining = true;
	listeners_close(&srv->env);
	notify_stopping();
	log_info("shutting down: %u sessions to finish within %u s",
	    srv->env.nsessions, srv->env.cfg->limits.drain_timeout);
	if (srv->env.nsessions == 0) {
		event_base_loopexit(srv->env.base, NULL);
		return;
	}
	evtimer_add(srv->drain_timer, &tv);
}

/* The drain timeout passed: end the remaining sessions, then exit. */
static void
server_draincb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { FORCED_EXIT_SECONDS, 0 };
	struct session *s, *next;

	(void)fd; (void)what;
	if (TAILQ_EMPTY(&srv->env.sessions) || srv->shutdown_sent) {
		event_base_loopexit(srv->env.base, NULL);
		return;
	}
	log_warnx("drain timeout: ending %u sessions", srv->env.nsessions);
	for (s = TAILQ_FIRST(&srv->env.sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_shutdown(s);
	}
	srv->shutdown_sent = true;
	evtimer_add(srv->drain_timer, &tv);
}

/* SIGHUP reloads; SIGTERM and SIGINT drain and exit. */
static void
server_signalcb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	if (sig == SIGHUP)
		server_reload(srv);
	else
		server_begin_drain(srv);
}

/* Once a day: report devices near or past their sunset, and credentials
 * near or past their expiry. */
static void
server_dailycb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd; (void)what;
	server_report_devices(srv->env.cfg);
	credentials_report(srv->env.cfg, time(NULL), false);
}

/* Log a line for each device expiring within warn_days or expired. */
void
server_report_devices(const struct config *cfg)
{
	time_t now = time(NULL);
	size_t i;

	for (i = 0; i < cfg->ndevices; i++)
		server_report_device(cfg, &cfg->devices[i], now);
}

/* One device's sunset warning, if it is near or past. */
static void
server_report_device(const struct config *cfg, const struct device *dev,
    time_t now)
{
	long left = device_days_left(dev, now);
	char sunset[16], days[24];
	const char *event = left < 0 ? "device_expired" : "device_expiring";
	const char *msgid = left < 0 ? MSGID_DEVICE_EXPIRED :
	    MSGID_DEVICE_EXPIRING;
	struct log_field f[] = {
		{ "event", event }, { "device", dev->name },
		{ "sunset", sunset }, { "days_left", days },
		{ "owner", dev->owner },
	};

	if (left > (long)cfg->warn_days)
		return;
	date_format(dev->sunset, sunset, sizeof(sunset));
	snprintf(days, sizeof(days), "%ld", left);
	log_event(LOG_WARNING, msgid, f, nitems(f));
}
