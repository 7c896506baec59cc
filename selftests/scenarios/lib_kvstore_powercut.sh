# SPDX-License-Identifier: GPL-2.0
# The kvstore example under power cuts (selftests/lib_kvstore.c): in each
# cycle one boot applies a seeded sequence of puts, deletes and durability
# waits through kvstore's command line until the host powers the VM off at
# a random moment; the next boot checks that the store is consistent (the
# table and its allocator's accounting) and is exactly the state after
# some operation at or after the last completed durability wait. The next
# cycle goes on from there. KV_CYCLES (default 2) cycles.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

KV=$SRCDIR/libcap-store/examples/kvstore
kv_seed=$((SEED % 1000000 + 1))
kv_start=0
nboot=0
for cycle in $(seq 1 "${KV_CYCLES:-2}"); do
	boot --kill-on CAPSTORE-CRASH-POINT --kill-delay 2-12 \
	     --file "$KV:/usr/bin/kvstore" <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store) KV_SEED=$kv_seed KV_START=$kv_start KV_KEEP=1
tap_run lib_kvstore -t powercut_write
EOT
	nboot=$((nboot + 1))
	log=$WORK/boot-$nboot.tap.log
	# the last durability wait that completed, the last operation begun
	synced=$(grep -a '# kv synced ' "$log" | tail -n 1 | sed 's/.*kv synced \([0-9]*\).*/\1/')
	last=$(grep -a '# kv op ' "$log" | tail -n 1 | sed 's/.*kv op \([0-9]*\).*/\1/')
	synced=${synced:-$((kv_start - 1))}
	last=${last:-$kv_start}
	echo "cycle $cycle: seed $kv_seed, operations $kv_start..$last, last synced $synced" >>"$WORK/kv-cycles"
	boot --file "$KV:/usr/bin/kvstore" <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store) KV_SEED=$kv_seed KV_START=$kv_start KV_KEEP=1
export KV_SYNCED=$synced KV_LAST=$last
tap_run lib_kvstore -t powercut_verify
EOT
	nboot=$((nboot + 1))
	host "fsck after cycle $cycle" "$CAPSTORE" fsck "$(img store)"
	log=$WORK/boot-$nboot.tap.log
	kv_start=$(grep -a '# kv prefix ' "$log" | tail -n 1 | sed 's/.*kv prefix \([0-9]*\).*/\1/')
	[ -n "$kv_start" ] || break
done
