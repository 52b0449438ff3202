/* Notifications to the service manager: readiness, reload, stop, status,
 * watchdog (sd_notify; all no-ops when NOTIFY_SOCKET is not set). */
#ifndef TLSRELAY_NOTIFY_H
#define TLSRELAY_NOTIFY_H

struct server;

/* Start the watchdog pings (every half WATCHDOG_USEC) and the periodic
 * STATUS= refresh. */
void	notify_init(struct server *srv);
/* READY=1 with a fresh STATUS=: at start and after each reload. */
void	notify_ready(struct server *srv);
/* RELOADING=1: a reload has begun. */
void	notify_reloading(void);
/* STOPPING=1: the drain has begun. */
void	notify_stopping(struct server *srv);
/* Stop the timers notify_init started. */
void	notify_free(struct server *srv);

#endif
