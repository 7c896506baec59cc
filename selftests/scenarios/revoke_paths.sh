# SPDX-License-Identifier: GPL-2.0
# Bytes that left a segment through splice(2) or sendfile(2) are copies:
# revoking or destroying the object afterwards, and the owner's later
# writes, do not reach them (capabilities.rst, "Revocation").
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run revoke_paths
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
