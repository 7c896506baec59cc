# SPDX-License-Identifier: GPL-2.0
# Helpers for the per-boot scripts of the capstore test VM. /init sources
# this file, then runs /boot.sh in a subshell with "set -e". Busybox ash.
#
# Test output goes to file descriptor 3 (ttyS1 on the host side), framed so
# the host can tell one program's TAP from the next:
#   CAPSTORE-TAP-BEGIN <name>
#   ...the program's TAP...
#   CAPSTORE-TAP-END <name> rc=<exit status>
#
# Variables set by the host in /etc/capstore/boot.env:
#   CS_BOOT       number of this boot in the scenario (1, 2, ...)
#   CS_SCENARIO   scenario name
#   CS_DISKS      disk names, in attach order (vda, vdb, ...)
#   CS_KILL_ON    marker on which the host will kill the VM, if any
#   CS_SEED       a random number from the host (logged, reproducible)

CAPSTORE_KO=/lib/capstore/capstore.ko
CS_CRASH_MARKER=CAPSTORE-CRASH-POINT

# cs_load_module [PARAM=VALUE...]: load capstore.ko (insmod), or accept a
# kernel that has capstore built in.
cs_load_module() {
	if [ -f "$CAPSTORE_KO" ]; then
		insmod "$CAPSTORE_KO" "$@"
	elif [ -d /sys/module/capstore ]; then
		return 0
	else
		echo "cs_load_module: no $CAPSTORE_KO in the initramfs" >&2
		return 1
	fi
}

# cs_unload_module: remove capstore.ko again.
cs_unload_module() {
	rmmod capstore
}

# tap_run PROG [ARGS...]: run a kselftest program (from
# /usr/libexec/capstore-tests or $PATH) with stdout and stderr on the test
# channel. Returns 0 even when tests fail: the host judges the TAP.
tap_run() {
	echo "CAPSTORE-TAP-BEGIN $*" >&3
	_rc=0
	"$@" </dev/null >&3 2>&3 || _rc=$?
	echo "CAPSTORE-TAP-END $1 rc=$_rc" >&3
	return 0
}

# tap_check DESC CMD [ARGS...]: run any command as a one-test TAP program;
# the test passes when the command exits 0. Its output becomes comments.
tap_check() {
	_desc=$1
	shift
	echo "CAPSTORE-TAP-BEGIN tap_check $_desc" >&3
	echo "1..1" >&3
	_rc=0
	"$@" </dev/null >/tmp/.tap_check.out 2>&1 || _rc=$?
	sed 's/^/# /' /tmp/.tap_check.out >&3
	if [ "$_rc" = 0 ]; then
		echo "ok 1 $_desc" >&3
	else
		echo "not ok 1 $_desc # exit status $_rc" >&3
	fi
	echo "CAPSTORE-TAP-END tap_check rc=0" >&3
	return 0
}

# tap_skip DESC REASON: report one skipped test.
tap_skip() {
	{
		echo "CAPSTORE-TAP-BEGIN tap_skip $1"
		echo "1..1"
		echo "ok 1 $1 # SKIP $2"
		echo "CAPSTORE-TAP-END tap_skip rc=0"
	} >&3
}

# note MSG...: a comment on the test channel (shows in the host's report
# only around failures) and in the kernel log.
note() {
	echo "# $*" >&3
	echo "capstore-test: $*" >/dev/kmsg
}

# crash_point [MARKER]: print the marker a boot_until_marker boot waits
# for; the host kills the VM after it (and its optional delay).
crash_point() {
	echo "${1:-$CS_CRASH_MARKER}" >&3
}

# dev NAME: the block device of disk NAME (/dev/vda for the first disk).
dev() {
	eval "echo \${CS_DISK_$1:?no disk named $1}"
}

# dev_size NAME: the size of disk NAME in bytes, as the host created it.
dev_size() {
	eval "echo \${CS_DISK_$1_SIZE:?no disk named $1}"
}
