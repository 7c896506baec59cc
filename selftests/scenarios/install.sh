# SPDX-License-Identifier: GPL-2.0
# What "make install" gives a host (selftests/install.sh): make install
# DESTDIR=$WORK/root, then the tree (every expected path, nothing else),
# the systemd units (systemd-analyze verify), the udev rule (udevadm),
# every subcommand's --help and usage errors, and an outside program built
# with pkg-config against the tree. Then, in the VM, the installed module,
# the installed capstore command and that program work on a store.
disk store 32M

R=$WORK/root
P=${PREFIX:-/usr/local}
P=${P#/}
I=selftests/install.sh

skip_one() {
	_cs_result SKIP "$SCENARIO: host: $1" "$2"
}

host "make install DESTDIR=\$WORK/root" "$I" stage "$R"
host "the installed tree: every expected path, nothing else" "$I" tree "$R"
if command -v systemd-analyze >/dev/null; then
	host "systemd-analyze verify of the installed units" "$I" units "$R"
else
	skip_one "systemd-analyze verify of the installed units" "no systemd-analyze"
fi
if "$I" can-udev; then
	host "the installed udev rules parse" "$I" udev "$R"
else
	skip_one "the installed udev rules parse" "no udevadm verify, and udevadm test cannot run here"
fi
host "every subcommand: --help, help CMD, bad option exits 2, man page" "$I" help "$R"
host "an outside program builds with pkg-config against the tree" \
	"$I" outside "$R" "$WORK/outside"
host "format the store with the installed capstore" "$R/$P/sbin/capstore" format -L installed "$(img store)"

# The installed module, unless the VM boots another kernel (check-debug).
KVER=$(modinfo -F vermagic "$SRCDIR/kmod/capstore.ko" | cut -d' ' -f1)
KO=$R/lib/modules/$KVER/extra/capstore.ko
if [ -n "$CAPSTORE_KO" ] &&
   [ "$(modinfo -F vermagic "$CAPSTORE_KO")" = "$(modinfo -F vermagic "$KO")" ]; then
	LOAD="tap_check 'the installed module loads' insmod /lib/capstore/installed.ko"
else
	LOAD="tap_skip 'the installed module loads' 'the VM boots another kernel'; cs_load_module"
fi

boot --file "$KO:/lib/capstore/installed.ko" \
     --file "$R/$P/sbin/capstore:/usr/local/sbin/capstore" \
     --file "$WORK/outside:/usr/local/bin/outside" <<EOT
$LOAD
CS=/usr/local/sbin/capstore
tap_check "/dev/capstore is there, root only" \
	sh -c 'ls -l /dev/capstore; [ -c /dev/capstore ]'
tap_check "the installed capstore attaches the store" \$CS attach \$(dev store)
ID=\$(cat /sys/fs/capstore/vda/id)
outside_visit() {
	/usr/local/bin/outside "\$ID" >/tmp/o 2>&1 || { cat /tmp/o; return 1; }
	cat /tmp/o
	grep -qx "outside: ok, visit \$1" /tmp/o
}
tap_check "the outside program runs" outside_visit 1
tap_check "  ... and again" outside_visit 2
tap_check "the installed capstore shows the store" \
	sh -c "\$CS status vda | grep -E '^  label +\"installed\"\$'"
tap_check "the installed capstore detaches it" \$CS detach vda
tap_check "  ... and attaches it again" \$CS attach \$(dev store)
tap_check "the visits were kept" outside_visit 3
tap_check "detach" \$CS detach vda
EOT

host "fsck the store after the VM" "$R/$P/sbin/capstore" fsck "$(img store)"
