# SPDX-License-Identifier: GPL-2.0
# Hard power-off: boot 2 commits generation 3, starts generation 4 without
# a checkpoint and is killed while writing it. After the reboot the store
# holds exactly generation 3 and fsck finds it clean; the store works on.
disk store 128M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t create
EOT

boot_until_marker CAPSTORE-CRASH-POINT 0-2 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t crash_write
EOT
host "fsck after power cut" "$CAPSTORE" fsck "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t crash_verify
tap_run persist -t rewrite2
EOT
host "fsck after recovery" "$CAPSTORE" fsck "$(img store)"
