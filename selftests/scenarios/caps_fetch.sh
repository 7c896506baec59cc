# SPDX-License-Identifier: GPL-2.0
# CAPSTORE_FETCH racing CAPSTORE_REVOKE (selftests/caps_fetch.c): a fetch
# from a slot of the old generation never yields a live capability once
# the revoke has returned, and a fetch through a revoked node capability
# never sees a slot stored after the revoke. preempt=full (the stock
# kernel is PREEMPT_DYNAMIC) lets the test's preempter thread cut the
# fetch anywhere; a kernel without it ignores the option.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 300 --append preempt=full <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_fetch
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
