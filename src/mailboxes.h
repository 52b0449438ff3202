/* Upstream sessions counted per mailbox, kept by the server across reloads. */
#ifndef TLSRELAY_MAILBOXES_H
#define TLSRELAY_MAILBOXES_H

#include <stdbool.h>
#include <stddef.h>

struct mailboxes;

/* An empty table. */
struct mailboxes *mailboxes_new(void);
/* Free the table and every entry in it. */
void	mailboxes_free(struct mailboxes *mb);

/* Count one more session for mailbox (compared without regard to case)
 * unless it has max already; false, and nothing counted, if it has. */
bool	mailboxes_acquire(struct mailboxes *mb, const char *mailbox,
	    unsigned max);
/* Count one session less for mailbox, which must hold one; the entry of a
 * mailbox left with none is removed. */
void	mailboxes_release(struct mailboxes *mb, const char *mailbox);

/* Sessions counted for mailbox. */
unsigned mailboxes_count(const struct mailboxes *mb, const char *mailbox);
/* Mailboxes with at least one session counted. */
size_t	mailboxes_size(const struct mailboxes *mb);

#endif
