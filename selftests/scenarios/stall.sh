# SPDX-License-Identifier: GPL-2.0
# No holder of a capability stalls the store through its own memory
# (selftests/stall.c): a write whose source page is held by userfaultfd,
# a read into such a page and an ioctl whose argument is on one; while
# each is held, checkpoints, other writes, STORE and REVOKE finish.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run stall
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
