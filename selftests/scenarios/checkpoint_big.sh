# SPDX-License-Identifier: GPL-2.0
# A segment four times the VM's memory (selftests/checkpoint_space.c): in a
# 256 MiB VM (CKSP_BIG_MEM) a 1 GiB segment (CKSP_BIG_MIB) is written,
# 1 MiB at a time, with pwrite and every 16th MiB through a mapping, so the
# flusher must write pages early and checkpoints commit what it wrote;
# fsync, a power cut, and the next boot reads every page back, with pread
# and through mappings. The test program checks that the segment is at
# least four times MemTotal. fsck on the host after the power cut.
mem=${CKSP_BIG_MEM:-256M}
mib=${CKSP_BIG_MIB:-1024}
VM_TIMEOUT=$((VM_TIMEOUT > 600 ? VM_TIMEOUT : 600))

disk big $((mib + mib / 16 + 32))M
host "format" "$CAPSTORE" format "$(img big)"

boot --mem "$mem" --kill-on CAPSTORE-CRASH-POINT <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev big) CKSP_BIG_MIB=$mib
tap_run checkpoint_space -t big_write
EOT
host "fsck after the power cut" "$CAPSTORE" fsck "$(img big)"

boot --mem "$mem" <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev big) CKSP_BIG_MIB=$mib
tap_run checkpoint_space -t big_verify
EOT
