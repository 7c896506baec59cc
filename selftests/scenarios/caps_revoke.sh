# SPDX-License-Identifier: GPL-2.0
# Destroy and revoke while a thread faults the object's pages in a loop,
# another reads or writes it with syscalls and another process has it
# mapped: once the call returns every access fails (SIGBUS for mapped
# pages, EKEYREVOKED for calls), no write through an old capability lands,
# and references, objects, reserved and used space all return to where
# they were; the store detaches cleanly.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 400 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_revoke
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
