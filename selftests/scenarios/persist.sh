# SPDX-License-Identifier: GPL-2.0
# Segment data survives detach/attach and reboots, byte for byte: several
# segment sizes (one page, trees of height 1 and 2, a sparse segment),
# written through mmap and through pwrite. fsck checks what the module
# wrote with the tools' own reading of the format.
disk store 128M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t create -t verify1
EOT
host "fsck after create" "$CAPSTORE" fsck "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t verify1 -t rewrite2
EOT

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run persist -t verify2
EOT
host "fsck after rewrite" "$CAPSTORE" fsck "$(img store)"
