/* Dropping root for the configured user once the listeners are bound. */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <linux/capability.h>

#include "log.h"
#include "privdrop.h"

static void	privdrop_keep_bind(void);

/* Become user, keeping only the right to bind ports below 1024. */
void
privdrop_to_user(const char *user)
{
	const struct passwd *pw;

	if (user == NULL || geteuid() != 0)
		return;
	if ((pw = getpwnam(user)) == NULL)
		fatalx("cannot switch to user %s: no such user", user);
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		fatal("cannot switch to the groups of user %s", user);
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("cannot switch to user %s", user);
	privdrop_keep_bind();
	if (setuid(0) != -1)
		fatalx("switched to user %s but could become root again", user);
	log_info("running as user %s (uid %u, gid %u)", user,
	    (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
}

/* Reduce the capabilities kept across setuid to CAP_NET_BIND_SERVICE. */
static void
privdrop_keep_bind(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
	unsigned i = CAP_TO_INDEX(CAP_NET_BIND_SERVICE);

	data[i].permitted = CAP_TO_MASK(CAP_NET_BIND_SERVICE);
	data[i].effective = data[i].permitted;
	if (syscall(SYS_capset, &hdr, data) == -1)
		fatal("capset");
	if (prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L) == -1 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) == -1)
		fatal("prctl");
}
