# SPDX-License-Identifier: GPL-2.0
# Attaching at boot under real systemd: the guest boots with the host's
# systemd as PID 1 (selftests/vm/mksystemd.sh), on a root file system that
# holds what "make install" installs. capstore@dev-vda.service is enabled
# the way an administrator does it (systemctl --root=... enable), and a
# local udev rule turns scheduled checkpoints off at every attach.
#
# Each boot checks: systemd runs the system with no failed unit; udev gave
# /dev/capstore the owner, group and mode 60-capstore.rules says, and puts
# them back when changed (a "change" event); the installed module is
# loaded (modprobe@capstore.service, systemd-modules-load); the unit is
# enabled and active and attached the store; udev applied the local rule
# to the new store. The counter example then adds a visit it does not sync,
# and the boot ends with "systemctl poweroff". At shutdown, after the unit
# has stopped: it stopped without error, its ExecStop= took a checkpoint
# newer than the visit and detached the store. The next boot finds the
# visit: a clean shutdown loses nothing, with no explicit sync.
require "no systemd on this host (Debian package systemd)" \
	test -x /lib/systemd/systemd -a -x /bin/systemctl -a -x /bin/udevadm
[ -n "$VM_MODULES_DIR" ] ||
	skip_scenario "the VM's kernel has no modules (VM_MODULES_DIR empty)"
# Under TCG a systemd boot takes about 15 s on an idle machine.
VM_TIMEOUT=${CS_SYSTEMD_TIMEOUT:-180}

disk store 32M

R=$WORK/root
P=${PREFIX:-/usr/local}
UNIT=$(systemd-escape --path --template=capstore@.service /dev/vda)

host "format the store" "$CAPSTORE" format -L systemd "$(img store)"
host "make install DESTDIR=\$WORK/root" selftests/install.sh stage "$R"

# The module in the tree is the VM's: the installed one, unless the VM boots
# another kernel than make install built for (check-debug).
KVER=${VM_MODULES_DIR%/}
KVER=${KVER##*/}
place_module() {
	local ko=$R/lib/modules/$KVER/extra/capstore.ko
	if [ -n "$CAPSTORE_KO" ] && ! cmp -s "$CAPSTORE_KO" "$ko"; then
		rm -rf "$R"/lib/modules
		install -D -m 644 "$CAPSTORE_KO" "$ko"
		echo "the VM's kernel is $KVER: $CAPSTORE_KO instead of the installed module"
	fi
	ls -l "$ko"
}
host "the module for the VM's kernel is in the tree" place_module

host "systemctl --root=\$WORK/root enable $UNIT" systemctl --root="$R" enable "$UNIT"

local_rule() {
	mkdir -p "$R/etc/udev/rules.d"
	echo 'SUBSYSTEM=="capstore", ACTION=="add", ATTR{interval_ms}="0"' \
		>"$R/etc/udev/rules.d/61-capstore-local.rules"
}
host "a local udev rule: no scheduled checkpoints" local_rule

export CS_INITRAMFS VM_MODULES_DIR
host "the systemd layer of the VM" selftests/vm/mksystemd.sh "$WORK/systemd.cpio" "$R"

# Guest helpers, for the boot script and the shutdown checks.
cat >"$WORK/helpers.sh" <<END_OF_HELPERS
UNIT='$UNIT'
PREFIX='$P'
END_OF_HELPERS
cat >>"$WORK/helpers.sh" <<'END_OF_HELPERS'
is_pid1_systemd() {
	cat /proc/1/comm
	[ "$(cat /proc/1/comm)" = systemd ]
}

no_failed_unit() {
	systemctl is-system-running --wait || true
	systemctl --failed --no-legend --plain | tee /tmp/failed
	[ ! -s /tmp/failed ]
}

# As 60-capstore.rules says: "OWNER GROUP MODE" of its KERNEL=="capstore" line.
rule_says() {
	sed -n 's/.*KERNEL=="capstore".*OWNER="\([^"]*\)".*GROUP="\([^"]*\)".*MODE="0*\([0-7]*\)".*/\1 \2 \3/p' \
		"/$PREFIX/lib/udev/rules.d/60-capstore.rules"
}

node_as_rule_says() {
	want=$(rule_says)
	have=$(stat -c '%U %G %a' /dev/capstore)
	ls -l /dev/capstore
	echo "60-capstore.rules: $want; /dev/capstore: $have"
	[ -n "$want" ] && [ "$have" = "$want" ]
}

# udev puts the rule's owner, group and mode back at the next event.
node_restored() {
	chmod 0666 /dev/capstore
	chgrp disk /dev/capstore
	ls -l /dev/capstore
	udevadm trigger --settle --action=change /sys/class/misc/capstore
	node_as_rule_says
}

rule_in_udevadm_test() {
	udevadm test /sys/class/misc/capstore >/tmp/udevadm-test 2>&1 || true
	grep 60-capstore.rules /tmp/udevadm-test
}

module_from_tree() {
	modinfo -n capstore
	[ -d /sys/module/capstore ] && modinfo -n capstore | grep -q '/extra/capstore\.ko$'
}

unit_ok() {
	systemctl show -p ActiveState -p SubState -p Result "$1" | tee /tmp/show
	grep -qx "ActiveState=$2" /tmp/show && grep -qx Result=success /tmp/show
}

enabled_active() {
	systemctl status --no-pager "$UNIT" || true
	[ "$(systemctl is-enabled "$UNIT")" = enabled ] &&
		[ "$(systemctl is-active "$UNIT")" = active ]
}

journal_has() {
	journalctl -b --no-pager -o cat -u "$UNIT" | tee /tmp/journal
	grep -qE "$1" /tmp/journal
}

interval_off() {
	udevadm settle
	cat /sys/fs/capstore/vda/interval_ms
	[ "$(cat /sys/fs/capstore/vda/interval_ms)" = 0 ]
}

# visit N: the counter counts visit N and does not sync.
visit() {
	counter --store-id "$(cat /sys/fs/capstore/vda/id)" --no-sync | tee /tmp/c
	grep -qx "visits: $1" /tmp/c && grep -qx "not checkpointed" /tmp/c
}

seq_is() {
	cat /sys/fs/capstore/vda/seq
	[ "$(cat /sys/fs/capstore/vda/seq)" = "$1" ]
}

# The final checkpoint of ExecStop= is newer than SEQ, and the detach
# after it happened.
final_checkpoint() {
	journalctl -b --no-pager -o cat -u "$UNIT" | tee /tmp/journal
	c=$(sed -n 's/^store [0-9]* (vda): checkpoint \([0-9]*\) committed$/\1/p' /tmp/journal | tail -n 1)
	echo "final checkpoint: ${c:-none}, visit at $1"
	[ -n "$c" ] && [ "$c" -gt "$1" ] && grep -q '^detached store [0-9]* (vda)$' /tmp/journal
}

detached_in_kernel() {
	dmesg | grep "capstore: vda: detached store"
	[ ! -d /sys/fs/capstore/vda ]
}
END_OF_HELPERS

# boot_script N: the checks of a boot whose counter finds visit N.
boot_script() {
	cat <<EOT
. /etc/capstore/helpers.sh
N=$1
EOT
	cat <<'EOT'
tap_check "systemd is PID 1" is_pid1_systemd
tap_check "the system is up, no unit failed" no_failed_unit
tap_check "udev: /dev/capstore as 60-capstore.rules says" node_as_rule_says
tap_check "  ... and again after a change event" node_restored
tap_check "  ... udevadm test reads the installed rule" rule_in_udevadm_test
tap_check "the installed module is loaded" module_from_tree
tap_check "  ... modprobe@capstore.service ran" unit_ok modprobe@capstore.service inactive
tap_check "  ... systemd-modules-load.service ran" unit_ok systemd-modules-load.service active
tap_check "$UNIT is enabled and active" enabled_active
tap_check "  ... it attached /dev/vda" journal_has '^attached /dev/vda as store [0-9]+ \(vda\)$'
tap_check "udev applied the local rule to the store: interval 0" interval_off
SEQ=$(cat /sys/fs/capstore/vda/seq)
echo "$SEQ" >/run/capstore-test/seq
note "checkpoint $SEQ before the visit"
tap_check "counter: visit $N, not synced" visit "$N"
tap_check "  ... and not checkpointed either" seq_is "$SEQ"
EOT
}

cat >"$WORK/shutdown.sh" <<'EOT'
. /etc/capstore/helpers.sh
SEQ=$(cat /run/capstore-test/seq)
tap_check "shutdown: $UNIT stopped without error" unit_ok "$UNIT" inactive
tap_check "  ... its ExecStop= checkpointed the visit, then detached" final_checkpoint "$SEQ"
tap_check "  ... the store is detached" detached_in_kernel
EOT

SYSTEMD_BOOT=(--cpio "$WORK/systemd.cpio"
	--append "rdinit=/lib/systemd/systemd systemd.journald.forward_to_console=1"
	--file "$WORK/helpers.sh:/etc/capstore/helpers.sh"
	--file "$WORK/shutdown.sh:/etc/capstore/shutdown.sh"
	--file "$SRCDIR/libcap-store/examples/counter:/usr/local/bin/counter")

boot --name "boot 1: systemd attaches the store; a visit; systemctl poweroff" \
	"${SYSTEMD_BOOT[@]}" < <(boot_script 1)
host "fsck the store after the first shutdown" "$CAPSTORE" fsck "$(img store)"

boot --name "boot 2: the visit is there" \
	"${SYSTEMD_BOOT[@]}" < <(boot_script 2)
host "fsck the store at the end" "$CAPSTORE" fsck "$(img store)"
