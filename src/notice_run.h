/* Owner notices from the daemon: the hourly runs that send what is due. */
#ifndef TLSRELAY_NOTICE_RUN_H
#define TLSRELAY_NOTICE_RUN_H

struct session_env;
struct notices;

/* Start the runs: the first a few seconds from now, then every hour, each
 * under the configuration current then (nothing without its notices
 * section). */
struct notices	*notices_start(struct session_env *env);
/* Abandon a send in flight and free everything. NULL is ignored. */
void		 notices_stop(struct notices *nt);

#endif
