# SPDX-License-Identifier: GPL-2.0
# Guest script of "make demo" (selftests/vm/vmrun.sh): the store is disk
# "store" (/dev/vda, 256 MiB). Output on fd 3 is shown on the terminal.
if [ -x /usr/bin/capstore-demo ]; then
	cs_load_module
	capstore-demo "$(dev store)" >&3 2>&3
else
	echo "capstore-demo is not built yet (userspace-tools/capstore-demo)" >&3
fi
