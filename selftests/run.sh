#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run the capstore test scenarios (selftests/scenarios/*.sh) in the VM.
#
#   selftests/run.sh [-j JOBS] [-x GLOB]... [GLOB...]
#
# GLOB (or the TESTS variable, space-separated) picks scenarios by name;
# by default all run; -x leaves out the scenarios matching its GLOB.
# JOBS scenarios run at once (default: JOBS, else 1).
# Logs: build/test-logs/<scenario>/, summary in build/test-logs/summary.log.
# The last line of output is "N passed, N failed, N skipped"; the exit
# status is 0 only with no failure. See Documentation/testing.rst.
set -uo pipefail

CS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=selftests/vm/lib.sh
. "$CS_SRCDIR/selftests/vm/lib.sh"

jobs=${JOBS:-1}
excludes=()
while getopts j:x:h opt; do
	case $opt in
	j) jobs=$OPTARG ;;
	x) excludes+=("$OPTARG") ;;
	*) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
globs=("$@")
[ ${#globs[@]} -gt 0 ] || read -ra globs <<<"${TESTS:-*}"
[ ${#globs[@]} -gt 0 ] || globs=('*')

SEED=${SEED:-$((RANDOM * 32768 + RANDOM))}
export SEED

scenarios=()
for f in "$CS_SCENARIO_DIR"/*.sh; do
	[ -f "$f" ] || continue
	name=${f##*/}
	name=${name%.sh}
	for g in "${excludes[@]}"; do
		# shellcheck disable=SC2053
		[[ $name == $g ]] && continue 2
	done
	for g in "${globs[@]}"; do
		# shellcheck disable=SC2053
		if [[ $name == $g ]]; then
			scenarios+=("$name")
			break
		fi
	done
done

main() {
start=$SECONDS
echo "capstore selftests: ${#scenarios[@]} scenario(s), $jobs at a time, SEED=$SEED"
if [ ${#scenarios[@]} -eq 0 ]; then
	echo "no scenario matches '${globs[*]}' in $CS_SCENARIO_DIR"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi

cs_prepare
echo "kernel $VM_KERNEL${VM_MODULES_DIR:+, modules $VM_MODULES_DIR}"
if [ "$VM_TIMEOUT_SCALE" != 1 ] || [ -n "$VM_GUEST_ENV" ] || [ "$VM_CPU" != max ]; then
	echo "vm: -cpu $VM_CPU, $VM_MEM, boot timeouts x$VM_TIMEOUT_SCALE, append '$VM_APPEND', guest env '$VM_GUEST_ENV'"
fi

run_scenario() (
	set -eEu -o pipefail
	cd "$CS_SRCDIR"
	_cs_scenario_begin "$1"
	# shellcheck source=/dev/null
	. "$CS_SCENARIO_DIR/$1.sh"
)

# One scenario, with a failure of its own if its script stops with an
# error that is not a reported one (a typo, a failing host command).
run_one() {
	local name=$1 rc=0 t0=$SECONDS
	run_scenario "$name" </dev/null || rc=$?
	local work=$CS_LOGDIR/$name
	if [ "$rc" != 0 ] && [ ! -e "$work/.aborted" ]; then
		printf 'FAIL\t%s\n' "$name: scenario script" >>"$work/results"
		echo "FAIL    $name: scenario script stopped with status $rc"
	fi
	echo "--      $name: $((SECONDS - t0)) s"
}

running=0
for name in "${scenarios[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" &
	running=$((running + 1))
done
wait

pass=0 fail=0 skip=0 failed_dirs=()
for name in "${scenarios[@]}"; do
	res=$CS_LOGDIR/$name/results
	if [ ! -s "$res" ]; then
		echo "FAIL    $name: no result at all"
		fail=$((fail + 1))
		failed_dirs+=("$name")
		continue
	fi
	p=$(grep -c '^PASS' "$res")
	f=$(grep -c '^FAIL' "$res")
	s=$(grep -c '^SKIP' "$res")
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ "$f" = 0 ] || failed_dirs+=("$name")
done

echo "time: $((SECONDS - start)) s; boots:"
for name in "${scenarios[@]}"; do
	[ -f "$CS_LOGDIR/$name/boots" ] && sed "s/^/  $name: /" "$CS_LOGDIR/$name/boots"
done
for name in "${failed_dirs[@]}"; do
	echo "logs of failures: ${CS_LOGDIR#"$CS_SRCDIR"/}/$name/"
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
}

mkdir -p "$CS_LOGDIR"
main 2>&1 | tee "$CS_LOGDIR/summary.log"
exit "${PIPESTATUS[0]}"
