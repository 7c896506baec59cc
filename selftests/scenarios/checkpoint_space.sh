# SPDX-License-Identifier: GPL-2.0
# Filling the store (selftests/checkpoint_space.c; checkpoints.rst, "Space:
# reservations and ENOSPC"): a segment as large as the store is written
# through a mapping until a write fault gets SIGBUS, pwrite then fails
# with ENOSPC, fsync still commits, the store is not shut down; a power
# cut; the next boot finds exactly what was committed, and the data
# committed before the fill. Destroying the segment and a checkpoint give
# its space back: pwrite fills the store again until ENOSPC, detach and
# attach find it all, and once more destroy + checkpoint make room for new
# writes. Then a 16 TiB segment: pwrite and mmap far past 2 GiB, and one
# page per MiB until ENOSPC, which must come before the store promises more
# than it has; fsync commits that sparse fill (its pages paid for their
# tree blocks), and it all reads back after detach and attach. fsck on the
# host after each boot.
disk store 32M
host "format" "$CAPSTORE" format "$(img store)"

boot --kill-on CAPSTORE-CRASH-POINT <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run checkpoint_space -t fill_mmap
EOT
host "fsck of the full store after the power cut" "$CAPSTORE" fsck "$(img store)"

n=$(grep -a '# filled mmap pages=' "$WORK/boot-1.tap.log" | tail -n 1 |
	sed 's/.*pages=\([0-9]*\).*/\1/')
echo "filled through the mapping: ${n:-?} pages" >>"$WORK/boots"

boot <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store) CKSP_MMAP_PAGES=${n:-0}
tap_run checkpoint_space -t fill_verify -t reuse -t sparse_fill
EOT
host "fsck at the end" "$CAPSTORE" fsck "$(img store)"
