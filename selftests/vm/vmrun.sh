#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot the capstore test VM once and run a guest script in it, outside the
# test runner: for demos and for trying things by hand.
#
#   selftests/vm/vmrun.sh [--disk NAME:SIZE]... [BOOT-OPTION...] [SCRIPT]
#
# SCRIPT is a file (default: standard input) run in the guest like a
# scenario's boot script (busybox sh, set -e, helpers of guest-lib.sh).
# BOOT-OPTIONs are those of the scenario function boot (--mem, --timeout,
# --append, --file, ...). The test channel (ttyS1) is copied to standard
# output as the VM runs; logs stay in build/test-logs/vmrun/. Exit status 0
# when the boot ends cleanly: no kernel splat, no timeout, script status 0,
# no failed test.
set -euo pipefail

CS_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=selftests/vm/lib.sh
. "$CS_SRCDIR/selftests/vm/lib.sh"

disks=() opts=() script=-
while [ $# -gt 0 ]; do
	case $1 in
	--disk) disks+=("$2"); shift ;;
	--mem|--smp|--timeout|--append|--file|--cpio|--name|--kill-on|--kill-delay|--kill-after)
		opts+=("$1" "$2"); shift ;;
	-h|--help) sed -n '3,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) cs_die "unknown option $1" ;;
	*) script=$1 ;;
	esac
	shift
done

cs_prepare
rc=0
(
	set -eEu -o pipefail
	_cs_scenario_begin "${VMRUN_NAME:-vmrun}"
	for d in "${disks[@]}"; do
		disk "${d%%:*}" "${d#*:}"
	done
	export CS_FOLLOW=1
	if [ "$script" = - ]; then
		boot "${opts[@]}"
	else
		boot "${opts[@]}" <"$script"
	fi
) || rc=$?
work=$CS_LOGDIR/${VMRUN_NAME:-vmrun}
echo "(logs in ${work#"$CS_SRCDIR"/}/)"
if [ "$rc" = 0 ] && ! grep -q '^FAIL' "$work/results"; then
	exit 0
fi
exit 1
