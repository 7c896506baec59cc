#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: a persistent visitor counter across reboots and a power cut.
#
# Formats a store on a disk image, then boots the test VM several times on
# it. Each boot attaches the store and runs libcap-store's example
# "counter": it maps a segment kept in the root node, increments the
# counter in it like ordinary memory, and waits for a checkpoint. One boot
# increments without waiting and is then powered off hard: the next boot
# shows that increment lost and every checkpointed one kept.
set -euo pipefail

CS_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=selftests/vm/lib.sh
. "$CS_SRCDIR/selftests/vm/lib.sh"

COUNTER=$CS_SRCDIR/libcap-store/examples/counter
[ -x "$COUNTER" ] || cs_die "$COUNTER is not built (make)"
[ -x "$CAPSTORE_TOOL" ] || cs_die "$CAPSTORE_TOOL is not built (make)"

say() {
	if [ -t 1 ]; then
		printf '\n\033[1m%s\033[0m\n' "$*"
	else
		printf '\n%s\n' "$*"
	fi
}

# What the guest printed on its output channel, without the bench's frames.
show() {
	grep -v '^CAPSTORE-' "$WORK/boot-$_cs_nboot.tap.log" | sed 's/^/    /' || true
}

# One boot of the VM with the counter in it; the guest script on stdin.
demo_boot() {
	if ! boot --file "$COUNTER:/usr/bin/counter" "$@" >"$WORK/demo.log"; then
		cat "$WORK/demo.log" >&2
		return 1
	fi
	show
}

# The last boot's counter said "visits: $1", or the demo fails.
expect_visits() {
	local got

	got=$(sed -n 's/^visits: \([0-9]*\)$/\1/p' \
		"$WORK/boot-$_cs_nboot.tap.log" | tail -n 1)
	if [ "$got" != "$1" ]; then
		echo "demo: boot $_cs_nboot counted ${got:-no} visit(s), expected $1" >&2
		return 1
	fi
}

cs_prepare >/dev/null
(
	set -eEu -o pipefail
	_cs_scenario_begin demo >/dev/null
	disk store 64M

	say "The store: a 64 MiB disk image, formatted on the host"
	"$CAPSTORE" format "$(img store)" | sed 's/^/    /'

	for n in 1 2 3; do
		say "Boot $n: attach the store, count a visit, checkpoint"
		demo_boot <<-'EOT'
		cs_load_module
		capstore attach $(dev store) >&3
		counter >&3
		capstore detach $(dev store)
		EOT
		expect_visits "$n"
	done

	say "Boot 4: count a visit without a checkpoint, then pull the plug"
	demo_boot --kill-on CAPSTORE-CRASH-POINT <<-'EOT'
	cs_load_module
	capstore attach $(dev store) >&3
	# no scheduled checkpoint either, so that the cut surely wins
	echo 0 >/sys/fs/capstore/$(basename $(dev store))/interval_ms
	counter --no-sync >&3
	echo "(power cut)" >&3
	crash_point
	sleep 60
	EOT
	expect_visits 4

	say "Boot 5: after the power cut"
	demo_boot <<-'EOT'
	cs_load_module
	capstore attach $(dev store) >&3
	counter >&3
	capstore status $(dev store) >&3
	capstore detach $(dev store)
	EOT
	# visit 4 again: the one before the cut was lost
	expect_visits 4

	say "The image, checked on the host with the tools' own reader"
	"$CAPSTORE" fsck -v "$(img store)" | sed 's/^/    /'
	if grep -q FAIL "$WORK/results"; then
		cat "$WORK/demo.log" >&2
		exit 1
	fi
	say "Visit 4 was never checkpointed: the power cut took it, as it should."
	say "Visits 1-3 were checkpointed: they survived every reboot and the cut."
) || {
	echo "demo failed; logs in ${CS_LOGDIR#"$CS_SRCDIR"/}/demo/" >&2
	exit 1
}
