/* Device secrets checked by a worker thread, off the event loop. */
#ifndef TLSRELAY_VERIFIER_H
#define TLSRELAY_VERIFIER_H

#include <stdbool.h>

#include <event2/event.h>

struct verifier;
struct verify_request;

/* Called on the event loop with the verdict of a submitted check. */
typedef void	 verify_cb(void *arg, bool match);

/* Start the worker thread; its answers arrive on base's loop. */
struct verifier	*verifier_new(struct event_base *base);
/* Stop the worker (after its current check) and free everything; requests
 * still queued are dropped without their callbacks. */
void		 verifier_free(struct verifier *v);

/* Queue a check of secret against its crypt(3) hash; cb runs later on the
 * loop, never from within this call. Both strings are copied. */
struct verify_request *verifier_submit(struct verifier *v, const char *hash,
		    const char *secret, verify_cb *cb, void *arg);
/* Forget a request: its callback will not run. */
void		 verifier_cancel(struct verifier *v, struct verify_request *r);

#endif
