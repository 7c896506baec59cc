# SPDX-License-Identifier: GPL-2.0
# Every flush point (Documentation/testing.rst, "Crash-consistency
# torture"): the store sits on a dm-log-writes device while the torture
# workload builds its objects and commits checkpoints (a log mark after
# each one that returned, and after each fsync); then the log is replayed
# onto a copy of the formatted image up to every flush and FUA entry and
# up to sampled points between them, and at each point the image must
# attach, be exactly one committed checkpoint (the newest header written so
# far, no older than the newest checkpoint that had returned) and pass
# fsck. TORTURE_FLUSH=full checks after every log entry and runs a longer
# workload ("make torture").
# Boots slow down a lot on a loaded host; no assertion depends on time.
VM_TIMEOUT=$((VM_TIMEOUT > 300 ? VM_TIMEOUT : 300))
mode=${TORTURE_FLUSH:-short}
case $mode in
short)
	work="--checkpoints 10 --data-writers 3 --cap-writers 1 --procs 2 --records 8 --pages 4"
	replay="--samples 2 --cuts 2"
	timeout=600
	;;
full)
	work="--checkpoints 16 --data-writers 4 --cap-writers 2 --procs 2 --records 12 --pages 6"
	replay="--every --cuts 32 --max-fail 10"
	timeout=14400
	;;
*)
	cs_die "TORTURE_FLUSH=$mode: short or full"
	;;
esac

disk store 32M
disk log 512M
disk replay 32M
host "format" "$CAPSTORE" format "$(img store)"
host "the replay target starts as the formatted image" \
	cp --sparse=always "$(img store)" "$(img replay)"

boot --timeout "$timeout" <<EOT
cs_load_module
lw=\$(dmctl create cs-lw @\$(dev store) log-writes \$(dev store) \$(dev log))
note "store on \$lw, writes logged to \$(dev log)"
tap_run torture --dev \$lw --journal /tmp/journal --mark cs-lw --seed \$CS_SEED --cp-max-ms 40 --fsync-every 300 $work setup
tap_check "dm-log-writes kept every write" sh -c "dmctl status cs-lw | tee /dev/stderr | grep -qv logging_disabled"
dmctl remove cs-lw
tap_run torture --journal /tmp/journal --log \$(dev log) --target \$(dev replay) --seed \$CS_SEED $replay replay
EOT
