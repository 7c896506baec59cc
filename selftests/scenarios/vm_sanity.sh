# SPDX-License-Identifier: GPL-2.0
# The test VM itself: a virtio-blk disk of the declared size, data fsynced
# in one boot read back in the next, io_uring in a static binary.
disk data 64M
host "disk image is 64 MiB" test "$(stat -c %s "$(img data)")" = 67108864

boot <<'EOT'
export VM_SANITY_DISK=$(dev data) VM_SANITY_SIZE=$(dev_size data)
tap_run vm_sanity -t block_device -t pattern_write -t uring_nop
EOT

boot <<'EOT'
export VM_SANITY_DISK=$(dev data) VM_SANITY_SIZE=$(dev_size data)
tap_run vm_sanity -t block_device -t pattern_verify
EOT
