# shellcheck shell=bash
# Sourced by scripts/fresh-check and tests/vm/run (bash): a minimal Debian
# root in a temporary directory, built with mmdebstrap from this machine's
# own apt sources (no mirror host name is ever written into the project),
# and a chroot into it with /proc, /sys, /dev and /run mounted and
# unmounted again however the caller ends.

FRESH_SUITE=${FRESH_SUITE:-bookworm}
fresh_root=
fresh_mounts=()

# Print this machine's apt source files, one a line (mmdebstrap pastes each
# into the new root's sources, deb822 or one-line format alike).
fresh_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[ -s "$f" ] && grep -q '^[^#]' "$f" && echo "$f"
	done
	return 0
}

# Create the root in a new temporary directory (set in fresh_root); extra
# arguments go to mmdebstrap (for example --include=...).
fresh_root_create() {
	local sources
	mapfile -t sources < <(fresh_sources)
	if [ "${#sources[@]}" -eq 0 ]; then
		echo "fresh-root: no apt sources on this machine" >&2
		return 1
	fi
	fresh_root=$(mktemp -d "${TMPDIR:-/var/tmp}/fresh-root.XXXXXX")
	mmdebstrap --quiet --variant=minbase "$@" "$FRESH_SUITE" \
		"$fresh_root" "${sources[@]}"
}

# Make the root a mount point of its own, as / is on a real machine (unshare
# --mount and the like need that), mount /proc, /sys (with this machine's
# cgroup tree, which systemd-journald needs), /dev (with pts and shm) and a
# fresh /run in it, all private so that nothing propagates back
# to this machine's mounts; and keep
# services that packages install from starting inside it (policy-rc.d, the
# usual device for chroots: a chroot has no init of its own).
fresh_root_mount() {
	local r=$fresh_root
	fresh_root_mount_one "$r" --bind "$r"
	fresh_root_mount_one "$r/proc" -t proc proc
	fresh_root_mount_one "$r/sys" -t sysfs sysfs
	fresh_root_mount_one "$r/sys/fs/cgroup" --rbind /sys/fs/cgroup
	fresh_root_mount_one "$r/dev" --bind /dev
	fresh_root_mount_one "$r/dev/pts" --bind /dev/pts
	fresh_root_mount_one "$r/dev/shm" -t tmpfs -o mode=1777 tmpfs
	fresh_root_mount_one "$r/run" -t tmpfs -o mode=0755 tmpfs
	printf '#!/bin/sh\nexit 101\n' > "$r/usr/sbin/policy-rc.d"
	chmod 0755 "$r/usr/sbin/policy-rc.d"
}

# Mount one file system at $1 (the rest are mount's arguments), remember it
# for fresh_root_cleanup, and make it and any mounts under it private.
fresh_root_mount_one() {
	local target=$1
	shift
	mount "$@" "$target"
	fresh_mounts+=("$target")
	mount --make-rprivate "$target"
}

# Run a command as root inside the root, in a clean login-like environment,
# killed after $1 seconds.
fresh_root_run() {
	local limit=$1
	shift
	timeout "$limit" chroot "$fresh_root" /usr/bin/env -i HOME=/root \
		TERM=dumb LANG=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		"$@"
}

# Stop every process still running inside the root (by PID: those whose
# root directory is ours), unmount in reverse order, remove the directory
# without ever crossing into a mount that failed to go away.
fresh_root_cleanup() {
	local r=$fresh_root p i
	if [ -z "$r" ] || [ ! -d "$r" ]; then
		return 0
	fi
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ]; then
			kill -KILL "${p#/proc/}" 2>/dev/null || true
		fi
	done
	for ((i = ${#fresh_mounts[@]} - 1; i >= 0; i--)); do
		umount -R "${fresh_mounts[i]}" 2>/dev/null ||
			umount -R -l "${fresh_mounts[i]}" || true
	done
	fresh_mounts=()
	if findmnt -rn -o TARGET | grep -qF "$r"; then
		echo "fresh-root: $r still has mounts; left in place" >&2
		return 1
	fi
	rm -rf --one-file-system "$r"
	fresh_root=
}
