# SPDX-License-Identifier: GPL-2.0
# When checkpoints run and what they promise (selftests/checkpoint.c,
# Documentation/checkpoints.rst): the settings; scheduled checkpoints at
# interval_ms with no request, none when the store is clean or the
# interval is 0; the dirty limit; fsync, fdatasync, msync(MS_SYNC) and
# CAPSTORE_CHECKPOINT each commit before they return; group commit, of
# fsync alone and of every kind of request at once; application sections
# delay a snapshot, and past section_timeout_ms the checkpoint goes ahead
# and SECTION_END says ETIMEDOUT; the checkpoint tracepoints, of a commit
# and of a failure (dm-flakey error_writes under the store). Then two power
# cuts: data committed by scheduled checkpoints alone survives one; a
# stream of pwrite+fsync, pwrite+fdatasync, mmap+msync(MS_SYNC) is cut at
# a random instant, and the next boot finds the state after one of the
# syncs, no older than the last one the log shows returned. fsck on the
# host after each.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --kill-on CAPSTORE-CRASH-POINT <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run checkpoint -t settings -t sync_methods -t group_commit \
	-t group_commit_mixed -t scheduled \
	-t interval_off -t interval_change -t dirty_limit -t throttled_write \
	-t section_delays \
	-t section_delays_scheduled -t section_timeout -t section_timeout_zero \
	-t section_nested -t section_clean -t section_close \
	-t trace_events -t trace_fail
tap_run checkpoint -t sched_crash_write
EOT
host "fsck after the first power cut" "$CAPSTORE" fsck "$(img store)"

boot --kill-on CAPSTORE-CRASH-POINT --kill-delay 0.2-2 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run checkpoint -t sched_crash_verify -t sync_crash_write
EOT
host "fsck after the second power cut" "$CAPSTORE" fsck "$(img store)"

# The last sync of each kind that the log shows returned.
synced() {
	grep -a "# synced $1 $2=" "$WORK/boot-2.tap.log" | tail -n 1 |
		sed "s/.*$2=\([0-9]*\).*/\1/"
}
a=$(synced fsync A)
b=$(synced fdatasync B)
c=$(synced msync C)
echo "logged syncs: A=${a:-none} B=${b:-none} C=${c:-none}" >>"$WORK/boots"

boot <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store)
export CP_SYNCED_A=${a:-0} CP_SYNCED_B=${b:-0} CP_SYNCED_C=${c:-0}
tap_run checkpoint -t sync_crash_verify
EOT
host "fsck at the end" "$CAPSTORE" fsck "$(img store)"
