# SPDX-License-Identifier: GPL-2.0
# Selective revocation: capabilities delegated through a forwarder die with
# it, in every process and slot, mapped or not, and survive a power cut
# until it is destroyed. fsck understands forwarders and forwarded slots.
# Fixtures cut and cut_storm destroy or revoke the forwarder while threads
# and another process use the delegation (mapped and with syscalls): once
# the call returns every access through it fails, the direct capability
# keeps working, and nothing leaks.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 240 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run forward -f fwd -f cut -f cut_storm
EOT
host "fsck after the fixture tests" "$CAPSTORE" fsck "$(img store)"

host "format again" "$CAPSTORE" format --force "$(img store)"
boot_until_marker CAPSTORE-CRASH-POINT <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run forward -t persist_write
EOT
host "fsck after the power cut" "$CAPSTORE" fsck "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run forward -t persist_verify
tap_run forward -t persist_dead
EOT
host "fsck at the end" "$CAPSTORE" fsck -v "$(img store)"
