# SPDX-License-Identifier: GPL-2.0
# Memory fault injection (Documentation/testing.rst, "Fault injection"):
# every operation of the store (attach, root, each capability ioctl,
# faults on mappings, read, write, checkpoint, fsync, detach) with its
# n-th slab allocation (failslab), then its n-th page allocation
# (fail_page_alloc), failing in the test's own thread. Each must succeed
# or fail with ENOMEM (EIO, SIGBUS where documented), change nothing if it
# failed, leak no fd, capability, object or block reservation, and leave
# the last committed checkpoint intact (detach, fsck, attach, compare);
# kmemleak after the boot. By default the first 8 fault sites of each
# operation, 6 more at random (CS_SEED) and the last; FI_FULL=1 in
# VM_GUEST_ENV steps every one. The debug kernel only: the stock kernel
# has no fault injection, and every test says so (skip).
disk store 16M

boot --timeout 1800 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CS_SEED
tap_run fault_inject -t failslab -t fail_page_alloc
cs_unload_module
EOT
