/* Listening sockets, one per configured LAN endpoint. */
#ifndef TLSRELAY_LISTENER_H
#define TLSRELAY_LISTENER_H

#include <stdbool.h>

#include "config.h"

struct session_env;
struct listen_fds;

/* Take the sockets systemd passed (LISTEN_FDS, named by LISTEN_FDNAMES);
 * NULL when there are none. */
struct listen_fds *listen_fds_take(void);
/* Close, with a warning, each passed socket no listener took; free lf. */
void	listen_fds_release(struct listen_fds *lf);

/* Make env's listeners match cfg: keep sockets whose address and
 * port are unchanged (or, for a socket from systemd, whose listener name
 * is), take a new listener's socket from lf by its name or else bind it,
 * close removed ones. False (with the old set intact) if a new socket
 * cannot be bound. lf may be NULL. */
bool	listeners_apply(struct session_env *env, const struct config *cfg,
	    struct listen_fds *lf);
/* A session ended: resume listeners paused for want of descriptors. */
void	listeners_resume(struct session_env *env);
/* Close every listener (at shutdown). */
void	listeners_close(struct session_env *env);

#endif
