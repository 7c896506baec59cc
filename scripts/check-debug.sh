#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# "make check-debug": the VM test scenarios on the debug kernel (KASAN,
# UBSAN, lockdep, DEBUG_OBJECTS, kmemleak, ...), with the module built
# against that kernel's headers. Tests and tools are the binaries of
# "make"; see Documentation/testing.rst, "The debug lane".
#
#   scripts/check-debug.sh [GLOB...]
#
# Settings (environment or make variables):
#   CAPSTORE_DEBUG_KERNEL  where the kernel is (scripts/debug-kernel.sh)
#   DEBUG_TESTS            scenarios to run, globs [TESTS, else all]
#   DEBUG_EXCLUDE          scenarios left out, globs [host_checks
#                          host_fuzz: host only, the same as in "make
#                          check"]
#   JOBS                   VMs at once [2]
#   DEBUG_VM_MEM           guest RAM [1G]
#   DEBUG_TIMEOUT_SCALE    boot timeouts x N (VM_TIMEOUT_SCALE) [10]
#   DEBUG_TEST_TIMEOUT_SCALE  kselftest timeouts x N [20]
#   DEBUG_VM_CPU           qemu -cpu [max,la57=off]: see the docs for why
#   VM_APPEND              more kernel command line (kmemleak=on is given)
# Module build: build/kmod-debug/; logs: build/test-logs-debug/; VM files:
# build/vm-debug/. The last line is "N passed, N failed, N skipped".
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

tree=$(scripts/debug-kernel.sh unpack)
vmlinuz=$(compgen -G "$tree/boot/vmlinuz-*" | head -n 1)
hdr=$(compgen -G "$tree/usr/src/linux-headers-*/Makefile" | head -n 1)
hdr=${hdr%/Makefile}
kver=${vmlinuz##*/vmlinuz-}

# ---- the module, built out of the source tree ----
# Kbuild (6.1) writes its objects next to the sources: build a copy, so
# the stock build in kmod/ is never touched. Only changed files are
# copied, with a fresh mtime (not the source's: a source edited while an
# earlier build ran may be older than objects built from its old copy,
# and make would keep them); files gone from the tree go.
kbuild=$top/build/kmod-debug
sources() {
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files -co --exclude-standard -- kmod common include
	else
		find kmod common include -type f ! -name '*.o' ! -name '*.ko' \
			! -name '*.mod' ! -name '*.mod.c' ! -name '*.cmd' \
			! -name '*.o.d' ! -name modules.order ! -name Module.symvers
	fi | while read -r f; do [ -f "$f" ] && echo "$f"; done | LC_ALL=C sort
}
mkdir -p "$kbuild"
sources >"$kbuild/.sources.new"
while read -r f; do
	if ! cmp -s "$f" "$kbuild/$f"; then
		mkdir -p "$kbuild/$(dirname "$f")"
		cp "$f" "$kbuild/$f"
	fi
done <"$kbuild/.sources.new"
if [ -f "$kbuild/.sources" ]; then
	LC_ALL=C comm -23 "$kbuild/.sources" "$kbuild/.sources.new" |
		while read -r f; do rm -f "$kbuild/$f"; done
fi
mv "$kbuild/.sources.new" "$kbuild/.sources"

echo "check-debug: building capstore.ko for $kver in ${kbuild#"$top"/}/kmod"
# -g: line numbers for scripts/faddr2line on the reports
make -C "$hdr" M="$kbuild/kmod" KCFLAGS=-g modules
ko=$kbuild/kmod/capstore.ko
[ -f "$ko" ] || { echo "check-debug: $ko was not built" >&2; exit 1; }

# ---- the scenarios ----
read -ra exclude <<<"${DEBUG_EXCLUDE-host_checks host_fuzz}"
args=()
for x in "${exclude[@]}"; do
	args+=(-x "$x")
done
if [ $# -eq 0 ]; then
	read -ra globs <<<"${DEBUG_TESTS:-${TESTS:-*}}"
	set -- "${globs[@]}"
fi

export VM_KERNEL=$vmlinuz
export VM_MODULES_DIR=
export CAPSTORE_KO=$ko
export CS_BUILD=$top/build/vm-debug
export CS_LOGDIR=$top/build/test-logs-debug
# The kernel has no CONFIG_PVH (and bzImage boots take only a second more).
export VM_PVH=0
# 5-level paging off: see Documentation/testing.rst (the early-boot KASAN
# report in identify_cpu).
export VM_CPU=${DEBUG_VM_CPU:-max,la57=off}
export VM_MEM=${DEBUG_VM_MEM:-1G}
# Generous timeouts: the debug kernel runs several times slower than the
# stock one, a kmemleak check takes tens of seconds, and a loaded machine
# multiplies both (seen: 5x). Real hangs still show: the hung-task
# detector (120 s), the soft-lockup detector, and 600 s per test.
export VM_TIMEOUT_SCALE=${DEBUG_TIMEOUT_SCALE:-10}
export VM_APPEND="kmemleak=on${VM_APPEND:+ $VM_APPEND}"
export VM_GUEST_ENV="CS_KMEMLEAK=1 CS_DEBUG_LANE=1 CS_TEST_TIMEOUT_SCALE=${DEBUG_TEST_TIMEOUT_SCALE:-20} CS_HUNG_TASK_SECS=120${VM_GUEST_ENV:+ $VM_GUEST_ENV}"
export JOBS=${JOBS:-2}
# Scenarios that size their work for the slower kernel look at this.
export CS_DEBUG_LANE=1

# capstore's frames in the reports get file:line in the failure details
export CS_DECODE_KO=$ko CS_FADDR2LINE=$hdr/scripts/faddr2line

exec selftests/run.sh -j "$JOBS" "${args[@]}" "$@"
