/* journald MESSAGE_IDs of the events systemd/tlsrelayd.catalog explains. */
#ifndef TLSRELAY_MSGID_H
#define TLSRELAY_MSGID_H

/* Every id here has an entry in systemd/tlsrelayd.catalog, which make
 * builds from systemd/tlsrelayd.catalog.in and, for
 * MSGID_UPSTREAM_REFUSAL, the table in explain.c (make check compares the
 * ids); an id never changes once released. */
#define MSGID_SESSION_END		"efc75055f408445a8195166776938abc"
#define MSGID_REFUSED_UNKNOWN		"130f38ded8524149b737e8c972c2c417"
#define MSGID_REFUSED_EXPIRED		"fdd1ca98c3ff4fc9989be51d485caa19"
#define MSGID_REFUSED_PROTOCOL		"f472ef5330a54f1594dafcd8f2658e2f"
#define MSGID_REFUSED_BUSY		"9e621f8c1a8f4483826363913b264013"
#define MSGID_DEVICE_EXPIRING		"a7075b12e1b0447e8c8b696b40480115"
#define MSGID_DEVICE_EXPIRED		"2db9ee1e2e164f738243f5c8cc0c1b32"
#define MSGID_UPSTREAM_TLS_FAILED	"e06231ec65444d2796fd9e084c916ce1"
#define MSGID_LAN_TLS_FAILED		"ceb2e309c12546029ab4eaee6a2a8d05"
#define MSGID_UPSTREAM_REFUSAL		"d013905f9af344baaa408c8f13253b51"
#define MSGID_CREDENTIAL_EXPIRING	"972a5314bad0423d9132ae1bfc7387a4"
#define MSGID_CREDENTIAL_EXPIRED	"dfdbe932aafc4ffeaa891e8c36665147"

#endif
