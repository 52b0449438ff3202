/* Connections on a proxy_protocol listener: the PROXY header is read
 * before the session starts. */
#ifndef TLSRELAY_PROXY_H
#define TLSRELAY_PROXY_H

#include <sys/socket.h>

#include "config.h"

struct session_env;

/*
 * A connection on a proxy_protocol listener: accept it only from a trusted
 * proxy and only with a PROXY header within PROXY_HEADER_TIMEOUT seconds,
 * then start the session with the header's source as the client. Anything
 * else is closed unanswered with one log line; a LOCAL header (a health
 * check) is closed without one.
 */
void	proxy_accept(struct session_env *env, struct config *cfg,
	    const struct listener_conf *lc, int fd, const struct sockaddr *sa,
	    socklen_t salen);
/* Close every connection still waiting for its header (at exit). */
void	proxy_waits_free(void);

#endif
