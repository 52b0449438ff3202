/* Device secrets checked by a worker thread, off the event loop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "log.h"
#include "secret.h"
#include "util.h"
#include "verifier.h"

/* Where a request is; changed under the verifier's lock. */
enum verify_state {
	VERIFY_QUEUED,		/* in todo, the worker has not taken it */
	VERIFY_RUNNING,		/* the worker is running crypt(3) on it */
	VERIFY_DONE,		/* in done, for the loop */
};

struct verify_request {
	TAILQ_ENTRY(verify_request) entry;
	enum verify_state	 state;
	char			*hash;
	char			*secret;	/* wiped once checked */
	verify_cb		*cb;
	void			*arg;
	bool			 match;
	bool			 cancelled;	/* loop side only */
};

TAILQ_HEAD(verify_queue, verify_request);

struct verifier {
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* todo has work, or stop */
	struct verify_queue	 todo;
	struct verify_queue	 done;
	bool			 stopping;
	bool			 threaded;	/* else checks run on the loop */
	int			 pipe[2];	/* worker -> loop: done has some */
	struct event		*ev;
};

static void	*verifier_main(void *arg);
static void	 verifier_run(struct verifier *v, struct verify_request *r);
static void	 verifier_readcb(evutil_socket_t fd, short what, void *arg);
static void	 verifier_start(struct verifier *v);
static void	 verify_request_free(struct verify_request *r);
static void	 verify_queue_free(struct verify_queue *q);

/* Start the worker thread; its answers arrive on base's loop. */
struct verifier *
verifier_new(struct event_base *base)
{
	struct verifier *v = xcalloc(1, sizeof(*v));

	TAILQ_INIT(&v->todo);
	TAILQ_INIT(&v->done);
	if (pthread_mutex_init(&v->lock, NULL) != 0 ||
	    pthread_cond_init(&v->wake, NULL) != 0)
		fatalx("verifier: cannot create its lock");
	if (pipe2(v->pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("verifier: pipe2");
	v->ev = event_new(base, v->pipe[0], EV_READ | EV_PERSIST,
	    verifier_readcb, v);
	event_add(v->ev, NULL);
	verifier_start(v);
	return v;
}

/* Create the worker with every signal blocked: signals are the loop's.
 * Where threads are forbidden, checks run on the loop instead. */
static void
verifier_start(struct verifier *v)
{
	sigset_t all, old;
	int error;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	error = pthread_create(&v->thread, NULL, verifier_main, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	v->threaded = error == 0;
	if (!v->threaded)
		log_warnx("verifier: cannot start its thread (%s): device "
		    "secrets are checked on the event loop", strerror(error));
}

/* Stop the worker and free everything, queued requests included. */
void
verifier_free(struct verifier *v)
{
	pthread_mutex_lock(&v->lock);
	v->stopping = true;
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&v->lock);
	if (v->threaded)
		pthread_join(v->thread, NULL);
	verify_queue_free(&v->todo);
	verify_queue_free(&v->done);
	event_free(v->ev);
	close(v->pipe[0]);
	close(v->pipe[1]);
	pthread_cond_destroy(&v->wake);
	pthread_mutex_destroy(&v->lock);
	free(v);
}

/* Queue a check for the worker. */
struct verify_request *
verifier_submit(struct verifier *v, const char *hash, const char *secret,
    verify_cb *cb, void *arg)
{
	struct verify_request *r = xcalloc(1, sizeof(*r));

	r->hash = xstrdup(hash);
	r->secret = xstrdup(secret);
	r->cb = cb;
	r->arg = arg;
	if (!v->threaded) {
		r->state = VERIFY_RUNNING;
		verifier_run(v, r);	/* the verdict still comes via the loop */
		return r;
	}
	pthread_mutex_lock(&v->lock);
	r->state = VERIFY_QUEUED;
	TAILQ_INSERT_TAIL(&v->todo, r, entry);
	pthread_cond_signal(&v->wake);
	pthread_mutex_unlock(&v->lock);
	return r;
}

/* Forget a request: free it if the worker has not taken it, else mark it
 * so that the loop frees it without calling back. */
void
verifier_cancel(struct verifier *v, struct verify_request *r)
{
	bool queued;

	pthread_mutex_lock(&v->lock);
	if ((queued = r->state == VERIFY_QUEUED))
		TAILQ_REMOVE(&v->todo, r, entry);
	pthread_mutex_unlock(&v->lock);
	if (queued)
		verify_request_free(r);
	else
		r->cancelled = true;
}

/* The worker: take each queued request in turn until told to stop. */
static void *
verifier_main(void *arg)
{
	struct verifier *v = arg;
	struct verify_request *r;

	pthread_mutex_lock(&v->lock);
	for (;;) {
		while (!v->stopping && TAILQ_EMPTY(&v->todo))
			pthread_cond_wait(&v->wake, &v->lock);
		if (v->stopping)
			break;
		r = TAILQ_FIRST(&v->todo);
		TAILQ_REMOVE(&v->todo, r, entry);
		r->state = VERIFY_RUNNING;
		pthread_mutex_unlock(&v->lock);
		verifier_run(v, r);
		pthread_mutex_lock(&v->lock);
	}
	pthread_mutex_unlock(&v->lock);
	return NULL;
}

/* Check one secret, wipe it, and hand the verdict to the loop. */
static void
verifier_run(struct verifier *v, struct verify_request *r)
{
	r->match = secret_verify(r->hash, r->secret);
	OPENSSL_cleanse(r->secret, strlen(r->secret));
	pthread_mutex_lock(&v->lock);
	r->state = VERIFY_DONE;
	TAILQ_INSERT_TAIL(&v->done, r, entry);
	pthread_mutex_unlock(&v->lock);
	/* A full pipe already holds a wake-up for the loop. */
	if (write(v->pipe[1], "", 1) == -1 && errno != EAGAIN)
		log_warn("verifier: wake-up write");
}

/* On the loop: give each finished request its verdict. */
static void
verifier_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct verifier *v = arg;
	struct verify_queue done = TAILQ_HEAD_INITIALIZER(done);
	struct verify_request *r;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&v->lock);
	TAILQ_CONCAT(&done, &v->done, entry);
	pthread_mutex_unlock(&v->lock);
	while ((r = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, r, entry);
		if (!r->cancelled)
			r->cb(r->arg, r->match);
		verify_request_free(r);
	}
}

/* Free a request, wiping its secret. */
static void
verify_request_free(struct verify_request *r)
{
	OPENSSL_clear_free(r->secret, strlen(r->secret));
	free(r->hash);
	free(r);
}

/* Free every request of a queue. */
static void
verify_queue_free(struct verify_queue *q)
{
	struct verify_request *r;

	while ((r = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, r, entry);
		verify_request_free(r);
	}
}
