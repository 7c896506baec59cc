# SPDX-License-Identifier: GPL-2.0
# A committed checkpoint is never lost (selftests/commit_races.c;
# checkpoints.rst, "Races with checkpoints"): revokes racing the
# checkpoints that commit the revoked objects' data, then detach, attach,
# every page compared; fsck on the host. CR_ROUNDS in the environment
# (VM_GUEST_ENV) runs more rounds.
disk store 128M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 600 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run commit_races -t revoke_vs_commit
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
