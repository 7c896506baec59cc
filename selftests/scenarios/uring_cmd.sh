# SPDX-License-Identifier: GPL-2.0
# io_uring: 256 capability commands in one submission, segment I/O with
# registered files and fixed buffers, fsync through the ring, and the
# non-blocking write and read paths (the cold read with the store behind
# dm-linear, swapped for dm-error while it reads).
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run uring_cmd
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
