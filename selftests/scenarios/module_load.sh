# SPDX-License-Identifier: GPL-2.0
# capstore.ko loads into the VM's kernel and unloads again, with a clean
# kernel log.
require "capstore.ko is built ($CAPSTORE_KO)" test -f "$CAPSTORE_KO"

boot <<'EOT'
cs_load_module
tap_check "capstore module is loaded" test -d /sys/module/capstore
tap_check "capstore module unloads" cs_unload_module
EOT
