/* Notifications to the service manager: readiness, reload, stop, status,
 * watchdog (sd_notify; all no-ops when NOTIFY_SOCKET is not set). */
#ifndef TLSRELAY_NOTIFY_H
#define TLSRELAY_NOTIFY_H

#include <stdbool.h>

struct session_env;

/* Start the watchdog pings (every half WATCHDOG_USEC) and the periodic
 * STATUS= refresh. */
void	notify_init(const struct session_env *env);
/* READY=1 with a fresh STATUS=: at start and after each reload (the
 * status says while the last one failed). */
void	notify_ready(bool reload_failed);
/* RELOADING=1: a reload has begun. */
void	notify_reloading(void);
/* STOPPING=1: the drain has begun. */
void	notify_stopping(void);
/* Stop the timers notify_init started. */
void	notify_free(void);

#endif
