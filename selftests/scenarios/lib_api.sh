# SPDX-License-Identifier: GPL-2.0
# libcap-store: every public function through the library, its results and
# its error paths (selftests/lib_api.c), the store status against sysfs,
# threads sharing capabilities; a second store for the cross-store errors.
disk store 64M
disk other 32M
host "format" "$CAPSTORE" format "$(img store)"
host "format the second store" "$CAPSTORE" format "$(img other)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CS_TEST_DEV2=$(dev other)
tap_run lib_api
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
