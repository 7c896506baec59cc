# SPDX-License-Identifier: GPL-2.0
# The checkpoint thread is freezable: while the PM core's freezer test
# ("freezer" in /sys/power/pm_test) holds every task frozen, no scheduled
# checkpoint commits; the one that fell due commits after the thaw.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run freeze
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
