# SPDX-License-Identifier: GPL-2.0
# Memory fault injection (Documentation/testing.rst, "Fault injection"):
# every operation of the store again and again with the n-th slab
# allocation (failslab), then the n-th page allocation (fail_page_alloc),
# of the test's own thread failing, n = 1, 2, ... until it completes
# without reaching the n-th. Each must fail cleanly, change nothing, leak
# nothing (kmemleak after the boot), and leave the last committed
# checkpoint intact (detach, fsck, attach, compare). The debug kernel only:
# the stock kernel has no fault injection, and the program says so (skip).
disk store 16M

boot --timeout 1800 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run fault_inject -t failslab -t fail_page_alloc
cs_unload_module
EOT
