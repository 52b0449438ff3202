/* What sessions share with the daemon: the loop, the resolver, the config
 * new sessions start with, the live sessions and the services they call. */
#ifndef TLSRELAY_SESSION_ENV_H
#define TLSRELAY_SESSION_ENV_H

#include <stdbool.h>
#include <sys/queue.h>

#include "refusals.h"

struct config;
struct evdns_base;
struct evidence;
struct event_base;
struct listener;
struct mailboxes;
struct oauth_tokens;
struct session;
struct verifier;

TAILQ_HEAD(session_list, session);

/* The server owns one and embeds it; the accept path (listener.c,
 * proxy.c), the sessions (session.c, login.c) and the service manager's
 * and metrics' views (notify.c, metrics.c) see only this, not the server. */
struct session_env {
	struct event_base	*base;
	struct evdns_base	*dns;
	struct config		*cfg;		/* the current snapshot */
	struct listener		*listeners;	/* singly linked */
	struct session_list	 sessions;
	unsigned		 nsessions;
	unsigned		 nsniffing;	/* of those, hello_sniff.c's */
	bool			 draining;	/* the last session ends the loop */
	struct oauth_tokens	*tokens;	/* kept across reloads */
	struct mailboxes	*mailboxes;	/* upstream sessions per mailbox */
	struct verifier		*verifier;	/* checks device secrets */
	struct refusals		 refusals;	/* log rate of unknown clients */
	struct evidence		*evidence;	/* the exit register's writer */
	/* Called by session_close before the sides are closed, so the
	 * register can read the session whole (evidence_session_end). */
	void			(*session_ended)(struct session *);
	/* Called when a session has freed its descriptors, so listeners
	 * paused for want of them resume at once (listeners_resume). */
	void			(*descriptors_freed)(struct session_env *);
};

#endif
