# SPDX-License-Identifier: GPL-2.0
# A committed checkpoint is never lost (selftests/commit_races.c;
# checkpoints.rst, "Races with checkpoints" and "Shutdown"): revokes
# racing the checkpoints that commit the revoked objects' data, then
# detach, attach, every page compared, fsck on the host (CR_SECONDS in
# VM_GUEST_ENV runs longer); a double free found by a checkpoint on a
# crafted image commits nothing (disk scratch, which the test formats and
# leaves damaged on purpose: no fsck); creates and destroys on a full
# store never shut it down (disk full, formatted by the test; fsck after).
disk store 128M
disk scratch 64M
disk full 16M
host "format" "$CAPSTORE" format "$(img store)"
host "format" "$CAPSTORE" format "$(img full)"

boot --timeout 600 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run commit_races -t revoke_vs_commit
CS_TEST_DEV=$(dev scratch) tap_run commit_races -t double_free_commits_nothing
CS_TEST_DEV=$(dev full) tap_run commit_races -t create_destroy_full
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
host "fsck of the full store" "$CAPSTORE" fsck "$(img full)"
