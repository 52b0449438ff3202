/* The daemon's process-wide state: event loop, config snapshot, sessions. */
#ifndef TLSRELAY_SERVER_H
#define TLSRELAY_SERVER_H

#include <stdbool.h>
#include <sys/queue.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"
#include "oauth.h"
#include "refusals.h"
#include "session.h"

struct listener;
struct mailboxes;

TAILQ_HEAD(session_list, session);

struct server {
	struct event_base	*base;
	struct evdns_base	*dns;
	char			*config_path;
	struct config		*cfg;		/* the current snapshot */
	struct listener		*listeners;	/* singly linked */
	struct session_list	 sessions;
	unsigned		 nsessions;
	bool			 draining;	/* SIGTERM received */
	bool			 shutdown_sent;	/* drain timeout passed once */
	bool			 reload_failed;	/* the last reload was refused */
	struct event		*drain_timer;
	struct event		*sig_hup;
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*daily;		/* expiry report timer */
	struct event		*watchdog;	/* WATCHDOG=1, when asked for */
	struct event		*status_timer;	/* STATUS= refresh, under systemd */
	char			 status[256];	/* the last STATUS= text sent */
	struct oauth_tokens	 tokens;	/* kept across reloads */
	struct mailboxes	*mailboxes;	/* upstream sessions per mailbox */
	struct verifier		*verifier;	/* checks device secrets */
	struct refusals		 refusals;	/* log rate of unknown clients */
};

/* Load a config, check that every listener's protocol is implemented,
 * build its TLS contexts and load its OAuth2 credentials; NULL with errs
 * filled on any error. */
struct config *server_load_config(const char *path,
	    struct config_errors *errs);

/* Set up the loop, load the config, bind listeners (or take them from
 * systemd), then drop root if configured; false on a config error. */
bool	server_init(struct server *srv, const char *config_path);
/* Log the start, the devices near their sunset and every credential's
 * expiry, send READY=1, and run the event loop until shutdown completes. */
int	server_run(struct server *srv);
void	server_free(struct server *srv);

/* Register and unregister sessions; count live ones for a device. */
void	server_add_session(struct server *srv, struct session *s);
void	server_remove_session(struct server *srv, struct session *s);
unsigned server_device_sessions(const struct server *srv,
	    const struct device *dev);

/* Log a warning for each device expiring within warn_days or expired. */
void	server_report_devices(const struct config *cfg);

#endif
