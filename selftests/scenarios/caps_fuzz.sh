# SPDX-License-Identifier: GPL-2.0
# An unprivileged process holding a read-only segment capability, a weak
# node capability, the control device (opened by root) and a pipe makes a
# few thousand ioctl, mmap, mprotect and write calls with random targets,
# commands, sizes, flags, slots, fds, rights and object ids: it never gets
# the root node, a capability it was not given, a writable mapping or more
# rights, and the store is unchanged. CS_SEED replays a run.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 300 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_fuzz
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
