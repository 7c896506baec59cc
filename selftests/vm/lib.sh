# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The host side of the capstore VM test bench: the scenario API, the boot
# engine (qemu, timeouts, hard power-off), the kernel log scanner and the
# TAP parser. Sourced by selftests/run.sh and selftests/vm/vmrun.sh; see
# Documentation/testing.rst for the scenario API.
#
# Settings (environment, defaults in brackets):
#   VM_KERNEL       kernel to boot [/boot/vmlinuz-$(scripts/kver.sh)]
#   VM_PVH          1: boot the uncompressed vmlinux extracted from
#                   VM_KERNEL through PVH, skipping the slow decompression
#                   under TCG; 0: boot VM_KERNEL as it is [1]
#   VM_MODULES_DIR  modules of that kernel; empty: none [/lib/modules/KVER]
#   CAPSTORE_KO     the module put in the VM [kmod/capstore.ko]
#   CAPSTORE_TOOL   the capstore command [userspace-tools/capstore]
#   VM_MEM VM_SMP VM_TIMEOUT   per-boot defaults [512M 2 120]
#   VM_TIMEOUT_SCALE  multiply every boot's timeout (--timeout too) and
#                   --kill-after by this integer, for slow kernels [1]
#   VM_APPEND       extra kernel command line
#   VM_CLOCK_APPEND the guest's idle, clock and stall settings for a busy
#                   host (see below and Documentation/testing.rst, "The
#                   VM under a busy host"); empty: the kernel's defaults
#                   [idle=halt tsc=reliable rcupdate.rcu_cpu_stall_timeout=60]
#   VM_CPU          qemu -cpu model [max]
#   VM_GUEST_ENV    NAME=VALUE ... exported in the guest (boot.env) [none]
#   QEMU            [qemu-system-x86_64]
#   SEED            seed of the random kill delays [random, printed]

CS_SRCDIR=${CS_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
CS_VMDIR=$CS_SRCDIR/selftests/vm
CS_BUILD=${CS_BUILD:-$CS_SRCDIR/build/vm}
CS_LOGDIR=${CS_LOGDIR:-$CS_SRCDIR/build/test-logs}
CS_SCENARIO_DIR=${CS_SCENARIO_DIR:-$CS_SRCDIR/selftests/scenarios}

QEMU=${QEMU:-qemu-system-x86_64}
VM_MEM=${VM_MEM:-512M}
VM_SMP=${VM_SMP:-2}
VM_TIMEOUT=${VM_TIMEOUT:-120}
VM_APPEND=${VM_APPEND:-}
VM_CLOCK_APPEND=${VM_CLOCK_APPEND-idle=halt tsc=reliable rcupdate.rcu_cpu_stall_timeout=60}
VM_PVH=${VM_PVH:-1}
VM_CPU=${VM_CPU:-max}
VM_TIMEOUT_SCALE=${VM_TIMEOUT_SCALE:-1}
VM_GUEST_ENV=${VM_GUEST_ENV:-}
CAPSTORE_TOOL=${CAPSTORE_TOOL-$CS_SRCDIR/userspace-tools/capstore}
CAPSTORE_KO=${CAPSTORE_KO-$CS_SRCDIR/kmod/capstore.ko}
export CAPSTORE_TOOL CAPSTORE_KO

cs_die() {
	echo "capstore-vm: $*" >&2
	exit 1
}

# Milliseconds since the epoch, in $_cs_now (no fork).
_cs_clock() {
	local t=${EPOCHREALTIME/./}
	_cs_now=$((10#$t / 1000))
}

# ---------------------------------------------------------------------------
# Preparation, once per run: the kernel to boot and the base initramfs.

# cs_prepare: sets CS_KERNEL_IMAGE and CS_INITRAMFS.
cs_prepare() {
	local kver
	if [ -z "${VM_KERNEL:-}" ] || [ -z "${VM_MODULES_DIR+set}" ]; then
		kver=$("$CS_SRCDIR/scripts/kver.sh") || exit 1
		VM_KERNEL=${VM_KERNEL:-/boot/vmlinuz-$kver}
		VM_MODULES_DIR=${VM_MODULES_DIR-/lib/modules/$kver}
	fi
	export VM_KERNEL VM_MODULES_DIR
	[ -r "$VM_KERNEL" ] || cs_die "cannot read $VM_KERNEL (VM_KERNEL)"
	command -v "$QEMU" >/dev/null || cs_die "$QEMU not found (make deps)"
	mkdir -p "$CS_BUILD"
	CS_KERNEL_IMAGE=$VM_KERNEL
	if [ "$VM_PVH" = 1 ]; then
		_cs_extract_vmlinux
	fi
	CS_INITRAMFS=$CS_BUILD/initramfs.cpio
	"$CS_VMDIR/mkinitramfs.sh" "$CS_INITRAMFS" || cs_die "initramfs build failed"
}

# The compressed payload of a bzImage, unpacked, is an ELF vmlinux that
# qemu boots directly through its PVH entry point (CONFIG_PVH).
_cs_extract_vmlinux() {
	local src=$VM_KERNEL out key off magic
	if [ "$(head -c 4 "$src" | od -An -c | tr -d ' ')" = '177ELF' ]; then
		return # already an ELF image
	fi
	key=$(stat -Lc '%n %s %Y' "$src" | sha256sum | cut -c1-16)
	out=$CS_BUILD/vmlinux-$key
	if [ ! -s "$out" ]; then
		rm -f "$CS_BUILD"/vmlinux-*
		for magic in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' \
			     '\x1f\x8b\x08:gzip -dc'; do
			off=$(LC_ALL=C grep -obUaP "${magic%%:*}" "$src" | head -n 1 | cut -d: -f1 || true)
			[ -n "$off" ] || continue
			# (trailing data after the payload makes the decompressor fail)
			tail -c +$((off + 1)) "$src" | ${magic#*:} >"$out.tmp" 2>/dev/null || true
			if [ "$(head -c 4 "$out.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] &&
			   readelf -n "$out.tmp" 2>/dev/null | grep -q '(0x00000012)'; then
				mv "$out.tmp" "$out"
				break
			fi
		done
		rm -f "$out.tmp"
	fi
	if [ -s "$out" ]; then
		CS_KERNEL_IMAGE=$out
	else
		echo "capstore-vm: no PVH vmlinux in $src, booting it as it is (slower)" >&2
		: >"$out"
	fi
}

# ---------------------------------------------------------------------------
# Results: one line per result in $WORK/results ("PASS|FAIL|SKIP<TAB>what"),
# and a line on stdout for the runner's log.

_cs_result() {
	local status=$1 what=$2 detail=${3:-}
	printf '%s\t%s\n' "$status" "$what" >>"$WORK/results"
	case $status in
	PASS) printf 'ok      %s\n' "$what" ;;
	SKIP) printf 'skip    %s%s\n' "$what" "${detail:+ # $detail}" ;;
	FAIL)
		{
			printf 'FAIL    %s%s\n' "$what" "${detail:+: $detail}"
			if [ -n "${_cs_detail:-}" ]; then
				printf '%s\n' "$_cs_detail"
			fi
		} | sed '2,$s/^/        | /'
		;;
	esac
	_cs_detail=
}

# Stop the scenario after a failure that makes its later steps meaningless.
_cs_abort() {
	echo "        (rest of scenario $SCENARIO not run)"
	: >"$WORK/.aborted"
	exit 1
}

# ---------------------------------------------------------------------------
# Scenario API (see Documentation/testing.rst).

# disk NAME SIZE: a new sparse raw image $WORK/NAME.img, attached to every
# later boot as the next virtio-blk disk (vda, vdb, ...).
disk() {
	local name=${1:?disk NAME SIZE} size=${2:?disk NAME SIZE} d
	[[ $name =~ ^[A-Za-z][A-Za-z0-9_]*$ ]] || cs_die "disk: bad name '$name'"
	for d in "${_cs_disks[@]}"; do
		[ "$d" != "$name" ] || cs_die "disk: '$name' declared twice"
	done
	rm -f "$WORK/$name.img"
	truncate -s "$size" "$WORK/$name.img"
	_cs_disks+=("$name")
}

# img NAME: host path of the image of disk NAME.
img() {
	[ -f "$WORK/$1.img" ] || cs_die "img: no disk named '$1'"
	echo "$WORK/$1.img"
}

# host DESC CMD [ARG...]: run CMD on the host; one test, passed if it exits 0.
host() {
	_cs_host 0 "$@"
}

# host_fail DESC CMD [ARG...]: as host, but passed if CMD exits non-zero.
host_fail() {
	_cs_host 1 "$@"
}

_cs_host() {
	local invert=$1 desc=$2 rc=0 log
	shift 2
	_cs_nhost=$((_cs_nhost + 1))
	log=$WORK/host-$_cs_nhost.log
	echo "\$ $*" >"$log"
	("$@") >>"$log" 2>&1 || rc=$?
	echo "exit status $rc" >>"$log"
	if { [ "$invert" = 0 ] && [ "$rc" = 0 ]; } ||
	   { [ "$invert" = 1 ] && [ "$rc" != 0 ]; }; then
		_cs_result PASS "$SCENARIO: host: $desc"
	else
		_cs_detail=$(tail -n 20 "$log")
		_cs_result FAIL "$SCENARIO: host: $desc" \
			"exit status $rc$([ "$invert" = 1 ] && echo ', expected failure')"
	fi
}

# require DESC CMD [ARG...]: if CMD fails on the host, skip the rest of the
# scenario (one skip, DESC as the reason).
require() {
	local desc=$1
	shift
	("$@") >/dev/null 2>&1 </dev/null || skip_scenario "$desc"
}

# skip_scenario REASON: record one skip and stop the scenario.
skip_scenario() {
	_cs_result SKIP "$SCENARIO" "$*"
	exit 0
}

# boot [OPTION...] <SCRIPT: boot the VM once on the scenario's disks and run
# SCRIPT (a busybox sh script, helpers from guest-lib.sh) inside it.
#   --mem SIZE        guest RAM [$VM_MEM]
#   --smp N           guest CPUs [$VM_SMP]
#   --timeout SECS    kill and fail after SECS [$VM_TIMEOUT]
#   --append ARGS     extra kernel command line
#   --file SRC:DST    copy host file SRC to DST in the guest (repeatable)
#   --cpio ARCHIVE    append ARCHIVE (newc cpio) to the base initramfs, before
#                     the boot's own archive (repeatable)
#   --name LABEL      name of this boot in reports [boot N]
#   --kill-on MARKER  power off hard (SIGKILL qemu) once MARKER appears on
#                     the test channel; failure if the VM ends before it
#   --kill-delay D    ...but only D seconds later: a number, or MIN-MAX for
#                     a uniformly random delay (logged, seeded by SEED)
#   --kill-after SECS power off hard SECS after start (not a failure)
boot() {
	local mem=$VM_MEM smp=$VM_SMP timeout=$VM_TIMEOUT append=$VM_APPEND
	local label="" kill_on="" kill_delay=0 kill_after="" files=()
	_cs_cpios=()
	while [ $# -gt 0 ]; do
		case $1 in
		--mem) mem=$2; shift ;;
		--smp) smp=$2; shift ;;
		--timeout) timeout=$2; shift ;;
		--append) append="$append $2"; shift ;;
		--file) files+=("$2"); shift ;;
		--cpio)
			[ -f "$2" ] || cs_die "boot --cpio: no archive '$2'"
			_cs_cpios+=("$2"); shift ;;
		--name) label=$2; shift ;;
		--kill-on) kill_on=$2; shift ;;
		--kill-delay) kill_delay=$2; shift ;;
		--kill-after) kill_after=$2; shift ;;
		*) cs_die "boot: unknown option '$1'" ;;
		esac
		shift
	done
	_cs_nboot=$((_cs_nboot + 1))
	label=${label:-boot $_cs_nboot}
	[[ $VM_TIMEOUT_SCALE =~ ^[1-9][0-9]*$ ]] ||
		cs_die "VM_TIMEOUT_SCALE='$VM_TIMEOUT_SCALE': not a positive integer"
	if [ "$VM_TIMEOUT_SCALE" != 1 ]; then
		timeout=$(awk -v t="$timeout" -v k="$VM_TIMEOUT_SCALE" 'BEGIN { printf "%d\n", t * k + 0.5 }')
		if [ -n "$kill_after" ]; then
			kill_after=$(awk -v t="$kill_after" -v k="$VM_TIMEOUT_SCALE" 'BEGIN { printf "%.3f\n", t * k }')
		fi
	fi
	_cs_boot_one "$label" "$mem" "$smp" "$timeout" "$append" "$kill_on" \
		"$kill_delay" "$kill_after" "${files[@]}"
}

# boot_until_marker MARKER [DELAY] <SCRIPT: boot, and power off hard when
# the guest prints MARKER (guest: crash_point), DELAY seconds later.
boot_until_marker() {
	local marker=${1:?boot_until_marker MARKER [DELAY]}
	boot --kill-on "$marker" --kill-delay "${2:-0}"
}

# boot_kill_after SECS <SCRIPT: boot, and power off hard after SECS.
boot_kill_after() {
	boot --kill-after "${1:?boot_kill_after SECS}"
}

# ---------------------------------------------------------------------------
# The boot engine.

# Delay spec (N or MIN-MAX seconds) to milliseconds, in $_cs_delay_ms.
_cs_delay() {
	local spec=$1 lo hi
	if [[ $spec =~ ^([0-9.]+)-([0-9.]+)$ ]]; then
		lo=$(_cs_ms "${BASH_REMATCH[1]}")
		hi=$(_cs_ms "${BASH_REMATCH[2]}")
		[ "$hi" -ge "$lo" ] || cs_die "bad delay '$spec'"
		_cs_delay_ms=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
	else
		_cs_delay_ms=$(_cs_ms "$spec")
	fi
}

_cs_ms() {
	[[ $1 =~ ^[0-9]*(\.[0-9]*)?$ ]] || cs_die "bad number of seconds '$1'"
	awk -v s="$1" 'BEGIN { printf "%d\n", s * 1000 + 0.5 }'
}

_cs_boot_one() {
	local label=$1 mem=$2 smp=$3 timeout=$4 append=$5 kill_on=$6
	local kill_delay=$7 kill_after=$8
	shift 8
	local n=$_cs_nboot pre=$WORK/boot-$_cs_nboot stage f i
	local qemu_args=() pid qrc=0 start deadline kill_at="" killed=""
	local timed_out="" marker_seen="" why="" dev_letters=abcdefghijklmnopqrstuvwxyz

	cat >"$pre.sh"

	# the per-boot archive: /boot.sh and /etc/capstore/boot.env
	stage=$WORK/.boot-stage
	rm -rf "$stage"
	mkdir -p "$stage/etc/capstore"
	cp "$pre.sh" "$stage/boot.sh"
	{
		echo "CS_BOOT=$n"
		echo "CS_SCENARIO='$SCENARIO'"
		echo "CS_DISKS='${_cs_disks[*]}'"
		echo "CS_KILL_ON='$kill_on'"
		echo "CS_SEED=$RANDOM"
		for f in $VM_GUEST_ENV; do
			[[ $f =~ ^[A-Za-z_][A-Za-z0-9_]*=[-A-Za-z0-9_.,:/+=]*$ ]] ||
				cs_die "VM_GUEST_ENV: bad entry '$f' (NAME=VALUE, no quotes or spaces)"
			echo "export $f"
		done
		for i in "${!_cs_disks[@]}"; do
			f=${_cs_disks[$i]}
			echo "CS_DISK_$f=/dev/vd${dev_letters:$i:1}"
			echo "CS_DISK_${f}_SIZE=$(stat -c %s "$WORK/$f.img")"
		done
	} >"$stage/etc/capstore/boot.env"
	for f in "$@"; do
		mkdir -p "$stage/$(dirname "${f#*:}")"
		cp "${f%%:*}" "$stage/${f#*:}" || cs_die "boot --file: cannot copy ${f%%:*}"
	done
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0) >"$pre.cpio"
	rm -rf "$stage"
	cat "$CS_INITRAMFS" "${_cs_cpios[@]}" "$pre.cpio" >"$pre.initrd"

	# no_timer_check: under TCG on a loaded host the kernel's check that
	# the IO-APIC timer ticks can fail and panic the boot ("IO-APIC +
	# timer doesn't work!"); the emulated timer is fine.
	# VM_CLOCK_APPEND: idle=halt, every idle vCPU halts and its own LAPIC
	# timer wakes it, whatever errata the -cpu model claims (TCG's "max"
	# is an AMD CPU with erratum 400, whose idle routine may hand the
	# timer to the HPET broadcast); tsc=reliable, TCG's TSC is the host's
	# and the same on every vCPU, but the kernel assumes a multi-CPU
	# non-Intel TSC unsynchronized and falls back to the emulated HPET, a
	# 32-bit counter that wraps every 43 s, read through MMIO exits;
	# rcupdate.rcu_cpu_stall_timeout=60, a vCPU thread starved by the
	# host for 21 s is not an RCU stall in the guest (a real stall is
	# still reported, 39 s later).
	qemu_args=(-accel tcg -cpu "$VM_CPU" -machine q35 -smp "$smp" -m "$mem"
		-nodefaults -display none -monitor none -no-reboot
		-kernel "$CS_KERNEL_IMAGE" -initrd "$pre.initrd"
		-append "console=ttyS0 panic=-1 oops=panic printk.devkmsg=on no_timer_check${VM_CLOCK_APPEND:+ $VM_CLOCK_APPEND}${append:+ ${append# }}")
	for f in "${_cs_disks[@]}"; do
		qemu_args+=(-drive "file=$WORK/$f.img,if=virtio,format=raw,cache=writeback")
	done
	qemu_args+=(-serial "file:$pre.console.log" -serial "file:$pre.tap.log")
	: >"$pre.console.log"
	: >"$pre.tap.log"
	printf '%q ' "$QEMU" "${qemu_args[@]}" >"$pre.cmd"
	echo >>"$pre.cmd"

	"$QEMU" "${qemu_args[@]}" </dev/null >"$pre.qemu.log" 2>&1 &
	pid=$!
	_cs_qemu_pid=$pid
	local tail_pid=""
	if [ "${CS_FOLLOW:-0}" = 1 ]; then
		tail -n +1 -s 0.1 -f --pid="$pid" "$pre.tap.log" &
		tail_pid=$!
	fi

	_cs_clock
	start=$_cs_now
	deadline=$((start + timeout * 1000))
	if [ -n "$kill_after" ]; then
		kill_at=$((start + $(_cs_ms "$kill_after")))
	fi
	while kill -0 "$pid" 2>/dev/null; do
		_cs_clock
		if [ -n "$kill_on" ] && [ -z "$marker_seen" ] &&
		   grep -qF -- "$kill_on" "$pre.tap.log"; then
			marker_seen=1
			_cs_delay "$kill_delay"
			kill_at=$((_cs_now + _cs_delay_ms))
			why="at '$kill_on' + ${_cs_delay_ms} ms"
		fi
		if [ -n "$kill_at" ] && [ "$_cs_now" -ge "$kill_at" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			killed=1
			[ -z "$why" ] && why="after $kill_after s"
			break
		fi
		if [ "$_cs_now" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			timed_out=1
			break
		fi
		sleep 0.05
	done
	# (braces: no "Killed" notice from bash for the job)
	{ wait "$pid"; } 2>/dev/null || qrc=$?
	if [ -n "$tail_pid" ]; then
		wait "$tail_pid" || true
	fi
	_cs_qemu_pid=
	_cs_clock
	echo "$label: $(((_cs_now - start) / 1000)).$(((_cs_now - start) % 1000 / 100)) s${killed:+, powered off hard $why}" \
		>>"$WORK/boots"

	_cs_judge_boot "$label" "$pre" "$qrc" "$timeout" "$kill_on" \
		"$killed" "$timed_out"
}

# Everything that can go wrong with one boot, then its TAP results.
_cs_judge_boot() {
	local label=$1 pre=$2 qrc=$3 timeout=$4 kill_on=$5 killed=$6
	local timed_out=$7 what="$SCENARIO: $label" fatal="" done_rc
	local rel=${pre#"$CS_SRCDIR"/}

	if [ -z "$killed" ] && [ -z "$timed_out" ] && [ "$qrc" != 0 ]; then
		_cs_detail=$(tail -n 20 "$pre.qemu.log")
		_cs_result FAIL "$what" "qemu exited with status $qrc"
		_cs_abort
	fi
	if ! _cs_detail=$(cs_scan_splats "$pre.console.log"); then
		if _cs_decode "$pre.console.log" >"$pre.decoded.log"; then
			_cs_detail+=$'\n'"-- capstore frames (${rel}.decoded.log):"$'\n'
			_cs_detail+=$(head -n 40 "$pre.decoded.log")
		else
			rm -f "$pre.decoded.log"
		fi
		_cs_result FAIL "$what: kernel log" \
			"splat in $rel.console.log"
		fatal=1
	fi
	done_rc=$(sed -n 's/^CAPSTORE-BOOT-DONE rc=\([0-9]*\).*/\1/p' "$pre.tap.log" | tr -d '\r' | tail -n 1)
	if [ -n "$timed_out" ]; then
		_cs_detail=$(tail -n 20 "$pre.console.log" | tr -d '\r')
		if [ -n "$kill_on" ]; then
			_cs_result FAIL "$what" "timeout after $timeout s waiting for '$kill_on'"
		else
			_cs_result FAIL "$what" "timeout after $timeout s"
		fi
		fatal=1
	elif [ -n "$killed" ] || [ -n "$fatal" ]; then
		: # as planned, or already failed for its splat
	elif [ -n "$kill_on" ]; then
		_cs_detail=$(_cs_console_tail "$pre.console.log")
		_cs_result FAIL "$what" "VM ended without printing '$kill_on'"
		fatal=1
	elif [ -z "$done_rc" ]; then
		_cs_detail=$(tail -n 20 "$pre.console.log" | tr -d '\r')
		_cs_result FAIL "$what" "VM stopped before the end of its boot script (see $rel.console.log)"
		fatal=1
	elif [ "$done_rc" != 0 ]; then
		_cs_detail=$(_cs_console_tail "$pre.console.log")
		_cs_result FAIL "$what" "boot script failed with status $done_rc (set -e; see $rel.console.log)"
		fatal=1
	fi

	cs_parse_tap "$what" "${killed:+1}" <"$pre.tap.log" >"$pre.results"
	_cs_report_tap "$pre.results"
	_cs_kmemleak_notes "$pre" "$what"

	if [ -n "$fatal" ]; then
		_cs_abort
	fi
	rm -f "$pre.initrd"
}

# The guest's kmemleak report (guest-lib.sh: cs_kmemleak_check), if any,
# into PRE.kmemleak.log; a note on leaks that do not involve capstore
# (those in capstore are failures of the TAP test "kmemleak").
_cs_kmemleak_notes() {
	local pre=$1 what=$2 n
	grep -q '^# CAPSTORE-KMEMLEAK-BEGIN' "$pre.tap.log" 2>/dev/null || return 0
	tr -d '\r' <"$pre.tap.log" |
		sed -n '/^# CAPSTORE-KMEMLEAK-BEGIN/,/^# CAPSTORE-KMEMLEAK-END/{/^# CAPSTORE-KMEMLEAK-/d;s/^# //;p;}' \
		>"$pre.kmemleak.log"
	if grep -q '^capstore: ' "$pre.kmemleak.log" &&
	   _cs_decode "$pre.kmemleak.log" >"$pre.kmemleak.decoded.log"; then
		printf 'note    %s: kmemleak: capstore frames decoded in %s\n' \
			"$what" "${pre#"$CS_SRCDIR"/}.kmemleak.decoded.log"
	else
		rm -f "$pre.kmemleak.decoded.log"
	fi
	n=$(tr -d '\r' <"$pre.tap.log" | sed -n 's/^# CAPSTORE-KMEMLEAK-NOTES \([0-9]*\)$/\1/p' | tail -n 1)
	if [ "${n:-0}" != 0 ]; then
		printf 'note    %s: kmemleak: %s suspected leak(s) outside capstore, see %s\n' \
			"$what" "$n" "${pre#"$CS_SRCDIR"/}.kmemleak.log"
	fi
}

# The last lines of a console log that are not kernel messages: what the
# boot script itself printed.
_cs_console_tail() {
	tr -d '\r' <"$1" | grep -v '^\[ *[0-9]*\.[0-9]*\] ' | tail -n 15 || true
}

# Turn cs_parse_tap's output into results.
_cs_report_tap() {
	local line status what detail
	local -a lines=()
	mapfile -t lines <"$1"
	for line in "${lines[@]}" ""; do
		if [ "${line:0:2}" = "| " ]; then
			_cs_detail+="${_cs_detail:+$'\n'}${line:2}"
			continue
		fi
		[ -n "${status:-}" ] && _cs_result "$status" "$what" "$detail"
		status=
		[ -n "$line" ] || continue
		IFS=$'\t' read -r status what detail <<<"$line"
	done
}

# ---------------------------------------------------------------------------
# Checks on the outputs of a boot.

# cs_scan_splats LOG: print up to three splats of LOG with their context;
# status 1 if there is any.
cs_scan_splats() {
	local log=$1 n first=1
	local -a hits
	mapfile -t hits < <(grep -naE -f "$CS_VMDIR/splats.txt" "$log" | cut -d: -f1 | head -n 3)
	[ "${#hits[@]}" -gt 0 ] || return 0
	for n in "${hits[@]}"; do
		[ -n "$first" ] || echo "--"
		first=
		sed -n "$((n > 2 ? n - 2 : 1)),$((n + 18))p" "$log" | tr -d '\r'
	done
	return 1
}

# _cs_decode LOG: file and line of each distinct "func+0x1/0x2 [capstore]"
# frame in LOG, when CS_DECODE_KO (capstore.ko built with -g) and
# CS_FADDR2LINE (the kernel's scripts/faddr2line) are set; status 1 if
# there is nothing to decode.
_cs_decode() {
	local log=$1 frame out
	local -a frames
	[ -n "${CS_DECODE_KO:-}" ] && [ -r "$CS_DECODE_KO" ] &&
		[ -x "${CS_FADDR2LINE:-}" ] || return 1
	mapfile -t frames < <(tr -d '\r' <"$log" |
		grep -oE '[A-Za-z0-9_.]+\+0x[0-9a-f]+/0x[0-9a-f]+ \[capstore\]' |
		sed 's/ \[capstore\]$//' | awk '!seen[$0]++' | head -n 60)
	[ "${#frames[@]}" -gt 0 ] || return 1
	for frame in "${frames[@]}"; do
		out=$("$CS_FADDR2LINE" "$CS_DECODE_KO" "$frame" 2>&1 |
			grep -v "^$frame:\$" | sed "s|${CS_DECODE_KO%/kmod/*}/||g; s|$CS_SRCDIR/||g" |
			tr '\n' ' ')
		case $out in
		*"no match for"*) out="? (not found: init code, or another build)" ;;
		esac
		echo "$frame: ${out% }"
	done
}

# cs_parse_tap LABEL [KILLED] <TESTCHANNEL: one line per result,
# "PASS|FAIL|SKIP<TAB>what<TAB>reason", each FAIL followed by context
# lines starting with "| ".
cs_parse_tap() {
	awk -v label="$1" -v killed="${2:-}" -f "$CS_VMDIR/tap.awk"
}

# ---------------------------------------------------------------------------
# Running one scenario (in a subshell, from run.sh or vmrun.sh).

_cs_scenario_begin() {
	SCENARIO=$1
	WORK=$CS_LOGDIR/$SCENARIO
	rm -rf "$WORK"
	mkdir -p "$WORK"
	: >"$WORK/results"
	_cs_disks=()
	_cs_nboot=0
	_cs_nhost=0
	_cs_detail=
	_cs_qemu_pid=
	RANDOM=$(((${SEED:-0} + $(printf '%s' "$SCENARIO" | cksum | cut -d' ' -f1)) % 32768))
	CAPSTORE=$CAPSTORE_TOOL
	SRCDIR=$CS_SRCDIR
	export WORK SCENARIO CAPSTORE SRCDIR
	trap 'if [ -n "$_cs_qemu_pid" ]; then kill -KILL "$_cs_qemu_pid" 2>/dev/null; fi' EXIT
}
