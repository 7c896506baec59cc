# SPDX-License-Identifier: GPL-2.0
# Function fault injection (Documentation/testing.rst, "Fault injection"):
# every ALLOW_ERROR_INJECTION helper of the module (fail_function) fails
# at its n-th call, n = 1, 2, ..., in every operation of the store, with
# the error it can return (EIO for block reads and the header write,
# ENOSPC for the allocator, ENOMEM ...). The same checks as
# fault_inject_mem. The debug kernel only (skipped on the stock kernel).
disk store 16M

boot --timeout 1800 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run fault_inject -t cs_read_block -t cs_write_header -t cs_space_alloc -t cs_space_reserve -t cs_otable_new -t cs_cap_file_via -t cs_iget -t cs_tree_get -t cs_tree_set
cs_unload_module
EOT
