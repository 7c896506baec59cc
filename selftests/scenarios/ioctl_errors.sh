# SPDX-License-Identifier: GPL-2.0
# Bad ioctl arguments get the documented errno: ENOTTY, EFAULT, EINVAL,
# E2BIG and the command-specific ones; rights are enforced on the paths of
# the first slice (mmap, mprotect, pwrite, node slots, /proc reopen).
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run ioctl_errors
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
