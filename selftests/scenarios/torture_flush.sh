# SPDX-License-Identifier: GPL-2.0
# Every flush point (Documentation/testing.rst, "Crash-consistency
# torture"): the store sits on a dm-log-writes device while the torture
# workload builds its objects and commits checkpoints (a log mark after
# each one that returned, and after each fsync); then the log is replayed
# onto a copy of the formatted image up to every flush and FUA entry and
# up to sampled points between them, and at each point the image must
# attach, be exactly one committed checkpoint (the newest header written so
# far, no older than the newest checkpoint that had returned, with the same
# contents at every point that recovers it) and pass fsck. At the flush
# entries the replay also builds TORTURE_SUBSETS crash states (320 in all,
# 64 in the debug lane, 5000 with TORTURE_FLUSH=full) from random subsets
# of the writes not yet flushed, blocks torn at sector boundaries.
# TORTURE_FLUSH=full checks
# after every log entry and runs a longer workload ("make torture").
#
# A failing run keeps the formatted image, the log and the journal in
# build/test-logs/torture_flush.kept/; TORTURE_FLUSH=state
# TORTURE_STATE='SEED K:I' replays only crash state I of flush entry K of
# that log, as the failure message names it.
# Boots slow down a lot on a loaded host; no assertion depends on time.
VM_TIMEOUT=$((VM_TIMEOUT > 300 ? VM_TIMEOUT : 300))
mode=${TORTURE_FLUSH:-short}
kept=$CS_LOGDIR/torture_flush.kept
case $mode in
short)
	work="--checkpoints 10 --data-writers 3 --cap-writers 1 --procs 2 --records 8 --pages 4"
	replay="--samples 2 --cuts 2"
	subsets=320
	timeout=600
	;;
full)
	work="--checkpoints 16 --data-writers 4 --cap-writers 2 --procs 2 --records 12 --pages 6"
	replay="--every --cuts 32 --max-fail 10"
	subsets=5000
	timeout=14400
	;;
state)
	read -r sseed sstate <<<"${TORTURE_STATE:-}"
	[[ $sseed =~ ^[0-9]+$ && $sstate =~ ^[0-9]+:[0-9]+$ ]] ||
		cs_die "TORTURE_FLUSH=state needs TORTURE_STATE='SEED K:I'"
	[ -f "$kept/log.img" ] || cs_die "no kept log in $kept"
	timeout=600
	;;
*)
	cs_die "TORTURE_FLUSH=$mode: short, full or state"
	;;
esac
# The debug kernel checks a point in about 3.5 s, not 0.15-0.4 s: 64
# crash states there keep the scenario near 10 minutes, not 28.
if [ -n "${CS_DEBUG_LANE:-}" ] && [ "$mode" = short ]; then
	subsets=64
fi
subsets=${TORTURE_SUBSETS:-${subsets:-0}}

disk store 32M
disk log 512M
disk replay 32M
disk journal 8M

if [ "$mode" = state ]; then
	host "the kept log" cp --sparse=always "$kept/log.img" "$(img log)"
	host "the kept journal" cp --sparse=always "$kept/journal.img" "$(img journal)"
	host "the replay target starts as the kept formatted image" \
		cp --sparse=always "$kept/formatted.img" "$(img replay)"
	boot --timeout "$timeout" <<EOT
cs_load_module
tap_run torture --journal \$(dev journal) --log \$(dev log) --target \$(dev replay) --seed $sseed --state $sstate ${TORTURE_REPLAY_ARGS:-} replay
EOT
else
	host "format" "$CAPSTORE" format "$(img store)"
	host "the replay target starts as the formatted image" \
		cp --sparse=always "$(img store)" "$(img replay)"
	host "keep the formatted image" \
		cp --sparse=always "$(img store)" "$WORK/formatted.img"
	boot --timeout "$timeout" <<EOT
cs_load_module
lw=\$(dmctl create cs-lw @\$(dev store) log-writes \$(dev store) \$(dev log))
note "store on \$lw, writes logged to \$(dev log)"
tap_run torture --dev \$lw --journal \$(dev journal) --mark cs-lw --seed \$CS_SEED --cp-max-ms 40 --fsync-every 300 $work setup
tap_check "dm-log-writes kept every write" sh -c "dmctl status cs-lw | tee /dev/stderr | grep -qv logging_disabled"
dmctl remove cs-lw
tap_run torture --journal \$(dev journal) --log \$(dev log) --target \$(dev replay) --seed \$CS_SEED $replay --subsets $subsets ${TORTURE_REPLAY_ARGS:-} replay
EOT
	if grep -q '^FAIL' "$WORK/results"; then
		rm -rf "$kept"
		mkdir -p "$kept"
		cp --sparse=always "$WORK/formatted.img" "$kept/formatted.img"
		cp --sparse=always "$(img log)" "$kept/log.img"
		cp --sparse=always "$(img journal)" "$kept/journal.img"
		echo "capstore-torture: the log, journal and formatted image are kept in $kept; replay one crash state with TORTURE_FLUSH=state TORTURE_STATE='SEED K:I'" >&2
	fi
	rm -f "$WORK/formatted.img"
fi
