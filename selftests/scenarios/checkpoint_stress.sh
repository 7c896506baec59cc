# SPDX-License-Identifier: GPL-2.0
# Writers keep writing while checkpoints run back to back
# (selftests/checkpoint_stress.c): one through a mapping inside
# application sections, one through a mapping without, one with pwrite,
# and a thread that asks for checkpoint after checkpoint, journaling each
# one that returned on a second disk. Boot 1 runs it to 30 checkpoints,
# checks that the counters moved and the writers went on meanwhile, and
# that detach's checkpoint holds exactly where the writers stopped. Then
# STRESS_CYCLES (default 2) power cuts at a random instant: the next boot
# finds every record of every writer as one instant left it (sections
# whole, the others a prefix of the op that was running) and no older than
# the last checkpoint the journal shows returned. fsck on the host after
# each cut. STRESS_CHECKPOINTS (default 30): the checkpoints of boot 1.
cycles=${STRESS_CYCLES:-2}
# Boots slow down a lot on a loaded host; no assertion depends on time.
VM_TIMEOUT=$((VM_TIMEOUT > 300 ? VM_TIMEOUT : 300))

disk store 64M
disk journal 1M
host "format" "$CAPSTORE" format "$(img store)"

boot <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store) CKS_JOURNAL=\$(dev journal)
export CKS_CHECKPOINTS=${STRESS_CHECKPOINTS:-30}
tap_run checkpoint_stress -t create -t run -t checker
EOT
host "fsck after the run" "$CAPSTORE" fsck "$(img store)"

for c in $(seq 1 "$cycles"); do
	boot --name "cut $c" --kill-on CAPSTORE-CRASH-POINT --kill-delay 0.3-2.5 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CKS_JOURNAL=$(dev journal)
tap_run checkpoint_stress -t verify -t cut
EOT
	host "fsck after cut $c" "$CAPSTORE" fsck "$(img store)"
done

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CKS_JOURNAL=$(dev journal)
tap_run checkpoint_stress -t verify
EOT
host "fsck at the end" "$CAPSTORE" fsck "$(img store)"
