# SPDX-License-Identifier: GPL-2.0
# Power-cut torture (Documentation/testing.rst, "Crash-consistency
# torture"): several processes and threads write records through mappings
# and pwrite and churn capabilities in node slots while checkpoints are
# taken at random moments; the VM is powered off hard at a random instant,
# fsck checks the image on the host, the next boot verifies that the
# recovered store is exactly one committed checkpoint (and no older than
# the last one that returned) and runs the workload on from there. Cycles
# on the same image: TORTURE_CYCLES (default 5; "make torture" runs
# hundreds). A failing cycle stops the loop and keeps its image as
# store.failed.img.
# Boots slow down a lot on a loaded host; no assertion depends on time.
VM_TIMEOUT=$((VM_TIMEOUT > 300 ? VM_TIMEOUT : 300))
cycles=${TORTURE_CYCLES:-5}
delay=${TORTURE_KILL_DELAY:-0.3-3}

disk store 64M
disk journal 8M
host "format" "$CAPSTORE" format "$(img store)"

# The guest's options for one boot, from the seeded $RANDOM (SEED=...
# replays the same choices): checkpoint pacing, fsync rate, scheduled
# checkpoints (interval_ms), a dirty limit, and early writeback of dirty
# pages between checkpoints (vm.dirty_background_bytes).
torture_opts() {
	local interval=0 dirty=0 vmdirty=0
	if [ $((RANDOM % 3)) != 0 ]; then
		interval=$((10 + RANDOM % 150))
	fi
	if [ $((RANDOM % 3)) = 0 ]; then
		dirty=$(((1 + RANDOM % 64) * 4096))
	fi
	if [ $((RANDOM % 3)) = 0 ]; then
		vmdirty=$(((1 + RANDOM % 32) * 4096))
	fi
	echo "--cp-max-ms $((RANDOM % 120)) --fsync-every $((50 + RANDOM % 500)) --interval $interval --dirty-limit $dirty --vm-dirty $vmdirty"
}

failed() {
	grep -q '^FAIL' "$WORK/results"
}

boot --name setup <<EOT
cs_load_module
tap_run torture --dev \$(dev store) --journal \$(dev journal) --seed \$CS_SEED --checkpoints 4 $(torture_opts) setup
EOT
host "fsck after setup" "$CAPSTORE" fsck "$(img store)"

c=1
while [ "$c" -le "$cycles" ] && ! failed; do
	boot --name "cycle $c" --kill-on CAPSTORE-CRASH-POINT --kill-delay "$delay" <<EOT
cs_load_module
tap_run torture --dev \$(dev store) --journal \$(dev journal) --seed \$CS_SEED $(torture_opts) cycle
EOT
	host "cycle $c: fsck after the power cut" "$CAPSTORE" fsck "$(img store)"
	if failed; then
		cp --sparse=always "$(img store)" "$WORK/store.failed.img"
		cp --sparse=always "$(img journal)" "$WORK/journal.failed.img"
		echo "capstore-torture: cycle $c failed; image kept in $WORK/store.failed.img" >&2
	fi
	c=$((c + 1))
done

if ! failed; then
	boot --name final <<EOT
cs_load_module
tap_run torture --dev \$(dev store) --journal \$(dev journal) --seed \$CS_SEED --checkpoints 3 $(torture_opts) settle
tap_run torture --dev \$(dev store) --journal \$(dev journal) checker
EOT
	host "fsck at the end" "$CAPSTORE" fsck "$(img store)"
fi
