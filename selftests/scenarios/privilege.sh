# SPDX-License-Identifier: GPL-2.0
# Only CAP_SYS_ADMIN gets a root node; an unprivileged process gets nothing
# through the control device with any store id, and uses a capability it
# was handed over a unix socket exactly as its rights allow.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run privilege
EOT
