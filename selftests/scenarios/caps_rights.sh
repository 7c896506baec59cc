# SPDX-License-Identifier: GPL-2.0
# A capability passed over a unix socket to an unprivileged process does
# exactly what its rights allow on every path (read, write, io_uring,
# sendfile, mmap, mprotect, /proc/self/mem, /proc reopen, map_files, dup,
# fcntl, fork, SCM_RIGHTS, restrict, node slots, destroy, revoke), for a
# table of segment and node rights; a segment's size cannot be changed.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 300 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_rights
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
