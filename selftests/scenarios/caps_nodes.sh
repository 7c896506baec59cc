# SPDX-License-Identifier: GPL-2.0
# Node slots: refused stores (no GRANT, no WRITE, weak, out of range, not a
# capability, dead, another store's) leave every slot as it was; destroying
# a node leaves what it held working; cycles and rings of nodes destroyed
# and revoked without hang or leak; space freed by the next checkpoint;
# the root node cannot be destroyed and survives its own revocation.
disk store 64M
disk other 16M
host "format" "$CAPSTORE" format "$(img store)"
host "format the other store" "$CAPSTORE" format "$(img other)"

boot --timeout 300 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CS_TEST_DEV2=$(dev other)
tap_run caps_nodes
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
host "fsck the other store" "$CAPSTORE" fsck "$(img other)"
