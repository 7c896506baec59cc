# SPDX-License-Identifier: GPL-2.0
# Foreign, damaged and truncated stores are refused with a clear error
# (EINVAL, EBADMSG, EUCLEAN, EOPNOTSUPP) and a reason in the kernel log;
# every superblock and header field is tried, plus random damage.
disk scratch 64M

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev scratch)
tap_run attach_errors
EOT
