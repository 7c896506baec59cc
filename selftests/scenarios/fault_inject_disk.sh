# SPDX-License-Identifier: GPL-2.0
# The disk fails under the store (Documentation/testing.rst, "Fault
# injection"; Documentation/checkpoints.rst, "After a failed checkpoint"):
# writes fail under a checkpoint someone waits for, under a scheduled one
# and under early writeback (dm-flakey error_writes): each fails, says so
# in the kernel log and sysfs, every waiting fsync gets EIO, the store
# shuts down and answers EIO, and the plain disk attached again is the
# previous checkpoint; writes silently dropped (drop_writes) lose exactly
# what was committed meanwhile; bad blocks (dm's error target; a
# misdirected read; dm-dust) fail the reads of their pages with EIO or
# SIGBUS, never other data; an unreadable header slot makes attach fail.
# fail_make_request fails the bios of attach, cold reads, checkpoints and
# detach in turn. dm-dust and fail_make_request need the debug kernel
# (skipped on Debian's).
disk store 16M

boot --timeout 1800 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CS_SEED
tap_run fault_inject -f disk
cs_unload_module
EOT
host "fsck after the disk faults" "$CAPSTORE" fsck "$(img store)"
