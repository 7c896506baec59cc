# SPDX-License-Identifier: GPL-2.0
# Function fault injection (Documentation/testing.rst, "Fault injection"):
# each ALLOW_ERROR_INJECTION helper of the module (fail_function) fails
# at its n-th call in every operation of the store, with the error it can
# return (EIO for block reads and the header write, ENOSPC for the
# allocator and the object table, ENOMEM ...). The same checks and the
# same sampling as fault_inject_mem; a helper no operation reaches fails.
# The debug kernel only (skipped on the stock kernel).
disk store 16M

boot --timeout 1800 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store) CS_SEED
tap_run fault_inject -t cs_read_block -t cs_write_header -t cs_space_alloc -t cs_space_reserve -t cs_space_reserve_tree -t cs_otable_new -t cs_cap_file_via -t cs_iget -t cs_tree_get -t cs_tree_set
cs_unload_module
EOT
