#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the systemd layer of the capstore test VM: a newc cpio archive that,
# appended to the base initramfs (boot --cpio), lets the guest boot with the
# host's own systemd as PID 1 (kernel command line rdinit=/lib/systemd/systemd)
# instead of the busybox /init. selftests/scenarios/systemd_boot.sh uses it.
#
#   selftests/vm/mksystemd.sh OUTPUT.cpio ROOT
#
# Contents:
#   systemd, systemd-shutdown, -journald, -modules-load, -udevd, udevadm,
#   systemctl, journalctl, kmod (modprobe, modinfo) and the shared
#   libraries they need (ldd), from the host
#   the host's unit files for the targets of a boot to multi-user.target
#   and of a poweroff, udevd, journald, modprobe@.service and
#   systemd-modules-load.service, with the host's .wants links between
#   them; udev's 50-udev-default, 80-drivers (modules by modalias: virtio)
#   and 99-systemd rules
#   ROOT, as it is (symlinks kept): a "make install DESTDIR=ROOT" tree plus
#   whatever the scenario adds (units enabled with systemctl --root=ROOT,
#   local udev rules)
#   /lib/modules/KVER/modules.*: depmod over the base initramfs's modules
#   and ROOT/lib/modules/KVER (the installed capstore.ko)
#   selftests/vm/systemd/*: the test units (the boot script, then
#   poweroff; the checks at shutdown) and their script
#   /etc: passwd, group, os-release; default.target is multi-user.target;
#   /var/run links to /run
#
# The guest has no /etc/initrd-release: systemd runs as on an installed
# system, with the initramfs as its root file system. Guest layout: /lib,
# /bin, /sbin are the base initramfs's directories; /usr/lib/systemd,
# /usr/lib/udev and /usr/lib/x86_64-linux-gnu link to their /lib twins.
#
# Environment: CS_INITRAMFS (the base archive, for its modules),
# VM_MODULES_DIR (its kernel's modules; KVER is its last component).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: mksystemd.sh OUTPUT.cpio ROOT}
root=${2:?usage: mksystemd.sh OUTPUT.cpio ROOT}
: "${CS_INITRAMFS:?}" "${VM_MODULES_DIR:?a kernel with modules}"
kver=${VM_MODULES_DIR%/}
kver=${kver##*/}
PATH=$PATH:/usr/sbin:/sbin

die() {
	echo "mksystemd: $*" >&2
	exit 1
}

[ -x /lib/systemd/systemd ] || die "no /lib/systemd/systemd on this host"

BINS="/lib/systemd/systemd /lib/systemd/systemd-shutdown
/lib/systemd/systemd-journald /lib/systemd/systemd-modules-load
/bin/udevadm /bin/systemctl /bin/journalctl /bin/kmod"
UNITS="multi-user.target basic.target sysinit.target local-fs.target
local-fs-pre.target sockets.target timers.target paths.target slices.target
swap.target shutdown.target umount.target final.target poweroff.target
systemd-poweroff.service
systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
systemd-udev-trigger.service modprobe@.service systemd-modules-load.service
systemd-journald.service systemd-journald.socket
systemd-journald-dev-log.socket"
RULES="50-udev-default.rules 80-drivers.rules 99-systemd.rules"

stage=$(mktemp -d "${TMPDIR:-/tmp}/capstore-systemd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
S=$stage/root
mkdir -p "$S"/{lib/systemd/system,lib/udev/rules.d,lib/x86_64-linux-gnu,lib64,bin,sbin} \
	"$S"/usr/lib "$S"/etc/systemd/system "$S"/usr/lib/capstore "$S"/var
ln -s ../run "$S/var/run"

# Where a host file goes in the guest: /usr/lib/X and /lib/X are the same
# on the (merged /usr) host; in the guest, the /lib one.
guest_path() {
	local p=$1
	case $p in
	/usr/lib/* | /usr/lib64/* | /usr/bin/* | /usr/sbin/*) p=${p#/usr} ;;
	esac
	printf '%s\n' "$p"
}

# copy HOSTPATH: the file (content of its target) at its guest path.
copy() {
	local g
	g=$(guest_path "$1")
	mkdir -p "$S$(dirname "$g")"
	cp -L "$1" "$S$g"
}

libs=$(for b in $BINS; do ldd "$b"; done |
	sed -n 's/^[^/]*\(\/[^ ]*\) (0x.*/\1/p' | sort -u)
for f in $BINS $libs; do
	copy "$f"
done
ln -s /bin/udevadm "$S/lib/systemd/systemd-udevd"
for l in modprobe modinfo; do
	ln -s /bin/kmod "$S/sbin/$l"
done
for d in systemd udev x86_64-linux-gnu; do
	ln -s "../../lib/$d" "$S/usr/lib/$d"
done

for u in $UNITS; do
	cp /lib/systemd/system/"$u" "$S/lib/systemd/system/"
done
# the host's .wants links, between units that are here
for w in /lib/systemd/system/*.wants/*; do
	u=${w##*/}
	t=${w%/*}
	t=${t##*/}
	if [ ! -e "$S/lib/systemd/system/$u" ] || [ ! -e "$S/lib/systemd/system/${t%.wants}" ]; then
		continue
	fi
	mkdir -p "$S/lib/systemd/system/$t"
	ln -s "../$u" "$S/lib/systemd/system/$t/$u"
done
for r in $RULES; do
	cp /lib/udev/rules.d/"$r" "$S/lib/udev/rules.d/"
done
ln -s /lib/systemd/system/multi-user.target "$S/etc/systemd/system/default.target"

# the test units, enabled
cp "$here"/systemd/*.service "$S/lib/systemd/system/"
install -m 755 "$here/systemd/systemd-test" "$S/usr/lib/capstore/systemd-test"
mkdir -p "$S/etc/systemd/system/multi-user.target.wants"
for u in "$here"/systemd/*.service; do
	u=${u##*/}
	ln -s "/lib/systemd/system/$u" "$S/etc/systemd/system/multi-user.target.wants/$u"
done

cat >"$S/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
# the groups 50-udev-default.rules names
cat >"$S/etc/group" <<'EOF'
root:x:0:
tty:x:5:
disk:x:6:
lp:x:7:
kmem:x:15:
dialout:x:20:
cdrom:x:24:
floppy:x:25:
tape:x:26:
audio:x:29:
video:x:44:
input:x:105:
kvm:x:106:
render:x:107:
sgx:x:108:
nogroup:x:65534:
EOF
cp -L /etc/os-release "$S/etc/os-release"

# ROOT on top, then modules.dep for the base's modules and ROOT's.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -pdm "$S")
mods=$stage/mods
mkdir -p "$mods"
(cd "$mods" && cpio --quiet -idm "lib/modules/$kver/*" <"$CS_INITRAMFS")
[ -d "$root/lib/modules/$kver" ] &&
	(cd "$root" && find "lib/modules/$kver" -name '*.ko' | cpio --quiet -pdm "$mods")
depmod -b "$mods" "$kver"
mkdir -p "$S/lib/modules/$kver"
cp "$mods/lib/modules/$kver"/modules.* "$S/lib/modules/$kver/"

tmp=$out.tmp.$$
(cd "$S" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$tmp"
mv "$tmp" "$out"
echo "mksystemd: built $out ($(du -h "$out" | cut -f1)), systemd $(/lib/systemd/systemd --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p'), modules for $kver" >&2
