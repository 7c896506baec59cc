# SPDX-License-Identifier: GPL-2.0
# libcap-store's io_uring API (<libcapstore-uring.h>, selftests/lib_uring.c):
# every command helper, a batch of 768 commands in one submission,
# registered files and fixed buffers, ring I/O mixed with a mapping,
# sections and syncs through the ring; then writes made durable by a sync
# through the ring survive a hard power-off right after it completes.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run lib_uring -t every_command -t command_errors -t batch_of_768_commands \
	-t registered_files_and_buffers -t io_mixed_with_mapping \
	-t section_and_sync_linked -t many_syncs_share_checkpoints
EOT

boot_until_marker CAPSTORE-CRASH-POINT 0 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run lib_uring -t durable_write
EOT

boot <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run lib_uring -t durable_verify
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
