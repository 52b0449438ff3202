/* The daemon's process-wide state: event loop, config snapshot, sessions. */
#ifndef TLSRELAY_SERVER_H
#define TLSRELAY_SERVER_H

#include <stdbool.h>
#include <sys/queue.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "config.h"
#include "oauth.h"
#include "session_env.h"

struct server {
	struct session_env	 env;		/* what sessions see */
	char			*config_path;
	bool			 shutdown_sent;	/* drain timeout passed once */
	bool			 reload_failed;	/* the last reload was refused */
	struct event		*drain_timer;
	struct event		*sig_hup;
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*daily;		/* expiry report timer */
	struct oauth_tokens	 tokens;	/* kept across reloads */
	struct notices		*notices;	/* owner notices' runs */
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

/* Log a warning for each device expiring within warn_days or expired. */
void	server_report_devices(const struct config *cfg);

#endif
