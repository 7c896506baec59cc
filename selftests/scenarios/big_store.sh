# SPDX-License-Identifier: GPL-2.0
# Stores of 2^32 blocks and more, on sparse files in the guest's tmpfs
# (the host's ext4 stops at 16 TiB per file). A 16 TiB store (exactly
# 2^32 blocks) attaches, is used, reattaches and is fsck-clean; an
# 80 TiB store, whose space map needs 5 GiB of memory, is refused with
# -ENOMEM and a message that says so, without a kernel warning (the bench
# fails a boot whose log has one) and without the OOM killer.
VM_MEM=2G
VM_TIMEOUT=900

boot <<'EOT'
cs_load_module
mkdir -p /big
mount -t tmpfs -o size=128T big /big
tap_check "format a 16 TiB store" sh -c 'truncate -s $((16 << 40)) /big/s16 && capstore format /big/s16'
loop=$(losetup -f)
losetup "$loop" /big/s16
export CS_TEST_DEV=$loop
tap_run big_store -t use
losetup -d "$loop"
tap_check "fsck of the 16 TiB store" capstore fsck /big/s16
rm -f /big/s16
tap_check "format an 80 TiB store" sh -c 'truncate -s $((80 << 40)) /big/s80 && capstore format /big/s80'
tap_check "attach refuses the 80 TiB store for lack of memory" sh -c '
	! capstore attach /big/s80 &&
	dmesg | grep "space map of .* blocks needs .* MiB of memory" &&
	! dmesg | grep -i "out of memory\|oom-kill"'
rm -f /big/s80
EOT
