# SPDX-License-Identifier: GPL-2.0
# The module built through DKMS (dkms.conf, scripts/dkms.sh): the DKMS
# source tree, dkms add and dkms build in scratch trees, for the kernel
# the module is built for (nothing is installed on the host, nothing is
# signed); then, in the VM, the module DKMS built loads and runs a store.
disk store 32M

require "dkms is not installed (apt-get install dkms)" command -v dkms

host "dkms build of the DKMS source tree" selftests/install.sh dkms "$WORK/capstore.ko"
host "format the store" "$CAPSTORE" format "$(img store)"

# The VM boots another kernel in check-debug: no boot then.
if [ -z "$CAPSTORE_KO" ] || [ ! -f "$WORK/capstore.ko" ] ||
   [ "$(modinfo -F vermagic "$CAPSTORE_KO")" != "$(modinfo -F vermagic "$WORK/capstore.ko")" ]; then
	skip_scenario "the VM boots a kernel the DKMS module is not built for"
fi

boot --file "$WORK/capstore.ko:/lib/capstore/dkms.ko" \
     --file "$SRCDIR/libcap-store/examples/counter:/usr/bin/counter" <<'EOT'
tap_check "the module DKMS built loads" insmod /lib/capstore/dkms.ko
tap_check "attach" capstore attach "$(dev store)"
tap_check "counter" counter --store-id "$(cat /sys/fs/capstore/vda/id)"
tap_check "detach" capstore detach vda
tap_check "unload" rmmod capstore
EOT

host "fsck the store" "$CAPSTORE" fsck "$(img store)"
