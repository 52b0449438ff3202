/* Upstream sessions per mailbox: a hash table with chaining, lower-cased. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mailboxes.h"
#include "util.h"

#define MAILBOXES_BUCKETS	64	/* at first; doubled as entries come */

/* One mailbox with at least one session. */
struct mailbox {
	struct mailbox	*next;		/* in its bucket's chain */
	unsigned	 sessions;
	char		 name[];	/* lower case */
};

struct mailboxes {
	struct mailbox	**buckets;
	size_t		 nbuckets;	/* a power of two */
	size_t		 n;		/* entries: at most nbuckets */
};

static uint32_t	mailboxes_hash(const char *name);
static struct mailbox **mailboxes_bucket(struct mailbox **buckets,
		    size_t nbuckets, const char *name);
static struct mailbox **mailboxes_link(const struct mailboxes *mb,
		    const char *name);
static struct mailbox *mailboxes_insert(struct mailboxes *mb,
		    const char *name);
static void	mailboxes_grow(struct mailboxes *mb);

/* An empty table. */
struct mailboxes *
mailboxes_new(void)
{
	struct mailboxes *mb = xcalloc(1, sizeof(*mb));

	mb->nbuckets = MAILBOXES_BUCKETS;
	mb->buckets = xcalloc(mb->nbuckets, sizeof(*mb->buckets));
	return mb;
}

/* Free the table and every entry in it. */
void
mailboxes_free(struct mailboxes *mb)
{
	struct mailbox *e, *next;
	size_t i;

	for (i = 0; i < mb->nbuckets; i++) {
		for (e = mb->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(mb->buckets);
	free(mb);
}

/* FNV-1a of the name in lower case. */
static uint32_t
mailboxes_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++) {
		h ^= (uint32_t)tolower((unsigned char)*name);
		h *= 16777619u;
	}
	return h;
}

/* The head of the chain where name belongs. */
static struct mailbox **
mailboxes_bucket(struct mailbox **buckets, size_t nbuckets, const char *name)
{
	return &buckets[mailboxes_hash(name) & (nbuckets - 1)];
}

/* The link to name's entry, or the NULL that ends its chain. */
static struct mailbox **
mailboxes_link(const struct mailboxes *mb, const char *name)
{
	struct mailbox **link = mailboxes_bucket(mb->buckets, mb->nbuckets,
	    name);

	while (*link != NULL && strcasecmp((*link)->name, name) != 0)
		link = &(*link)->next;
	return link;
}

/* Add an entry with no session for name, stored in lower case. */
static struct mailbox *
mailboxes_insert(struct mailboxes *mb, const char *name)
{
	size_t i, len = strlen(name);
	struct mailbox *e = xcalloc(1, sizeof(*e) + len + 1), **head;

	for (i = 0; i < len; i++)
		e->name[i] = (char)tolower((unsigned char)name[i]);
	if (++mb->n > mb->nbuckets)
		mailboxes_grow(mb);
	head = mailboxes_bucket(mb->buckets, mb->nbuckets, e->name);
	e->next = *head;
	*head = e;
	return e;
}

/* Double the buckets and move every entry to its new chain. */
static void
mailboxes_grow(struct mailboxes *mb)
{
	size_t i, nbuckets = mb->nbuckets * 2;
	struct mailbox **buckets = xcalloc(nbuckets, sizeof(*buckets));
	struct mailbox *e, *next, **head;

	for (i = 0; i < mb->nbuckets; i++) {
		for (e = mb->buckets[i]; e != NULL; e = next) {
			next = e->next;
			head = mailboxes_bucket(buckets, nbuckets, e->name);
			e->next = *head;
			*head = e;
		}
	}
	free(mb->buckets);
	mb->buckets = buckets;
	mb->nbuckets = nbuckets;
}

/* Count one more session for mailbox unless it has max already. */
bool
mailboxes_acquire(struct mailboxes *mb, const char *mailbox, unsigned max)
{
	struct mailbox *e = *mailboxes_link(mb, mailbox);

	if ((e != NULL ? e->sessions : 0) >= max)
		return false;
	if (e == NULL)
		e = mailboxes_insert(mb, mailbox);
	e->sessions++;
	return true;
}

/* Count one session less for mailbox; remove its entry at zero. */
void
mailboxes_release(struct mailboxes *mb, const char *mailbox)
{
	struct mailbox **link = mailboxes_link(mb, mailbox), *e = *link;

	if (e == NULL)
		fatalx("mailboxes: release of a mailbox with no session");
	if (--e->sessions > 0)
		return;
	*link = e->next;
	free(e);
	mb->n--;
}

/* Sessions counted for mailbox. */
unsigned
mailboxes_count(const struct mailboxes *mb, const char *mailbox)
{
	const struct mailbox *e = *mailboxes_link(mb, mailbox);

	return e != NULL ? e->sessions : 0;
}

/* Mailboxes with at least one session counted. */
size_t
mailboxes_size(const struct mailboxes *mb)
{
	return mb->n;
}
