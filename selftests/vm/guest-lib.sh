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
#   CS_KMEMLEAK   1: after /boot.sh, if capstore was loaded in this boot,
#                 scan for leaks (cs_kmemleak_check); all: after every boot
#   and whatever VM_GUEST_ENV names (exported), e.g. CS_TEST_TIMEOUT_SCALE

CAPSTORE_KO=/lib/capstore/capstore.ko
CS_CRASH_MARKER=CAPSTORE-CRASH-POINT

# cs_load_module [PARAM=VALUE...]: load capstore.ko (insmod), or accept a
# kernel that has capstore built in.
cs_load_module() {
	if [ -f "$CAPSTORE_KO" ]; then
		insmod "$CAPSTORE_KO" "$@" || return
		# where it lives, to recognise its addresses after an unload
		grep '^capstore ' /proc/modules >>/tmp/.cs_module_ranges || true
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

# cs_kmemleak_check: ask kmemleak (a kernel booted with kmemleak=on) for
# suspected leaks and report them as one TAP program "kmemleak" with one
# test: it fails if a leak involves capstore (a frame "[capstore]" in its
# backtrace, an address where capstore.ko was loaded, or an allocation from
# a module's init: capstore is the only module the debug kernel loads).
# Other leaks are listed as comments and counted on a line
# "# CAPSTORE-KMEMLEAK-NOTES N" for the host. Each leak's report is
# printed in full between "# CAPSTORE-KMEMLEAK-BEGIN" and "...-END".
#
# kmemleak reports an object only when two scans in a row find it
# unreferenced and unchanged, and only once it is 5 s old; a third scan
# drops what became referenced again (a pointer that was in flight).
cs_kmemleak_check() {
	_kml=/sys/kernel/debug/kmemleak
	echo "CAPSTORE-TAP-BEGIN kmemleak" >&3
	echo "1..1" >&3
	if [ ! -e "$_kml" ]; then
		echo "ok 1 scan # SKIP no $_kml (kernel without kmemleak, or not booted with kmemleak=on)" >&3
		echo "CAPSTORE-TAP-END kmemleak rc=0" >&3
		return 0
	fi
	# let deferred frees (RCU, workqueues) run first
	sync
	sleep 1
	_t0=$(date +%s)
	if ! echo scan >"$_kml" 2>/dev/null; then
		echo "# kmemleak is off:" >&3
		dmesg | grep -i kmemleak | tail -n 5 | sed 's/^/# /' >&3
		echo "not ok 1 scan # cannot scan (disabled at run time?)" >&3
		echo "CAPSTORE-TAP-END kmemleak rc=1" >&3
		return 0
	fi
	# the second scan reports what is 5 s old when it starts: what leaked
	# just before the first one too (under TCG a scan takes seconds)
	_t=$(($(date +%s) - _t0))
	[ "$_t" -ge 6 ] || sleep $((6 - _t))
	echo scan >"$_kml"
	cat "$_kml" >/tmp/.kmemleak 2>/dev/null || true
	if [ -s /tmp/.kmemleak ]; then
		sleep 5
		echo scan >"$_kml"
		cat "$_kml" >/tmp/.kmemleak 2>/dev/null || true
	fi
	echo "# kmemleak: scanned in $(($(date +%s) - _t0)) s" >&3
	touch /tmp/.cs_module_ranges
	# "capstore SIZE REFS DEPS STATE ADDR" lines -> "START END" in hex
	_ranges=$(while read -r _n _size _r _d _s _addr _rest; do
		case $_addr in
		0x*) printf '%016x %016x ' "$_addr" $((_addr + _size)) ;;
		esac
	done </tmp/.cs_module_ranges)
	awk -v ranges="$_ranges" '
		function flush(   i, mine) {
			if (!n)
				return
			mine = 0
			for (i = 1; i <= n; i++) {
				if (rec[i] ~ /\[capstore\]/ || rec[i] ~ /do_init_module/)
					mine = 1
				if (match(rec[i], /\] 0x[0-9a-f]+/)) {
					a = substr(rec[i], RSTART + 4, RLENGTH - 4)
					while (length(a) < 16)
						a = "0" a
					for (j = 1; j < nr; j += 2)
						if (a >= r[j] && a < r[j + 1])
							mine = 1
				}
			}
			if (mine)
				ncs++
			else
				nother++
			for (i = 1; i <= n; i++)
				print (mine ? "C " : "O ") rec[i] > "/tmp/.kmemleak.rec"
			n = 0
		}
		BEGIN { nr = split(ranges, r, " ") }
		/^unreferenced object/ { flush() }
		{ if ($0 != "") rec[++n] = $0 }
		END {
			flush()
			printf "%d %d\n", ncs, nother > "/tmp/.kmemleak.count"
		}' /tmp/.kmemleak
	read -r _ncs _nother </tmp/.kmemleak.count
	_ncs=${_ncs:-0} _nother=${_nother:-0}
	echo "# CAPSTORE-KMEMLEAK-NOTES $_nother" >&3
	if [ -s /tmp/.kmemleak.rec ]; then
		echo "# CAPSTORE-KMEMLEAK-BEGIN" >&3
		# capstore's first: the host quotes the comments before a failure
		{ grep '^O ' /tmp/.kmemleak.rec; grep '^C ' /tmp/.kmemleak.rec; } |
			sed 's/^C /# capstore: /; s/^O /# other: /' >&3
		echo "# CAPSTORE-KMEMLEAK-END" >&3
	fi
	if [ "$_ncs" = 0 ]; then
		echo "ok 1 no leak in capstore ($_nother elsewhere)" >&3
	else
		echo "not ok 1 $_ncs leak(s) in capstore ($_nother elsewhere)" >&3
	fi
	echo "CAPSTORE-TAP-END kmemleak rc=0" >&3
	rm -f /tmp/.kmemleak.rec /tmp/.kmemleak.count
	return 0
}
