/* Listening sockets, one per configured LAN endpoint. */
#ifndef TLSRELAY_LISTENER_H
#define TLSRELAY_LISTENER_H

#include <stdbool.h>

#include "config.h"

struct server;

/* Make the server's listeners match cfg: keep sockets whose address and
 * port are unchanged, bind new ones, close removed ones. False (with the
 * old set intact) if a new socket cannot be bound. */
bool	listeners_apply(struct server *srv, const struct config *cfg);
/* Close every listener (at shutdown). */
void	listeners_close(struct server *srv);

#endif
