/* Dropping root for the configured user once the listeners are bound. */
#ifndef TLSRELAY_PRIVDROP_H
#define TLSRELAY_PRIVDROP_H

/*
 * When running as root, become user (its uid, gid and groups), keeping only
 * CAP_NET_BIND_SERVICE so that a reload can still bind ports below 1024.
 * Does nothing when not root or user is NULL; exits on any failure.
 */
void	privdrop_to_user(const char *user);

#endif
