#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# capstore's DKMS source tree, so that the module is rebuilt for every
# kernel installed later (Documentation/admin-guide.rst, "DKMS").
#
#   scripts/dkms.sh version     print the version (libcap-store's, from
#                               libcap-store/include/libcapstore.h)
#   scripts/dkms.sh tree DIR    copy the tree DKMS builds from into DIR:
#                               dkms.conf with the version filled in,
#                               kmod/, common/ and include/
#   scripts/dkms.sh install     ("make dkms") the tree into
#                               $DESTDIR/usr/src/capstore-VERSION; without
#                               DESTDIR, as root, also dkms add, then dkms
#                               install for the running kernel and for the
#                               newest installed one (scripts/kver.sh)
#   scripts/dkms.sh uninstall   dkms remove --all, and the tree
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
DESTDIR=${DESTDIR:-}
PATH=$PATH:/usr/sbin:/sbin

die() {
	echo "dkms.sh: $*" >&2
	exit 1
}

version() {
	h=$top/libcap-store/include/libcapstore.h
	major=$(sed -n 's/^#define CAPSTORE_VERSION_MAJOR[[:space:]]*//p' "$h")
	minor=$(sed -n 's/^#define CAPSTORE_VERSION_MINOR[[:space:]]*//p' "$h")
	[ -n "$major" ] && [ -n "$minor" ] || die "no version in $h"
	echo "$major.$minor.0"
}

# tree DIR: the sources only, never build products (capstore.mod.c).
tree() {
	dir=$1
	ver=$(version)
	mkdir -p "$dir/kmod" "$dir/common" "$dir/include/capstore" \
		"$dir/include/uapi/linux"
	sed "s/#MODULE_VERSION#/$ver/" "$top/dkms.conf" >"$dir/dkms.conf"
	for f in "$top"/kmod/*.c "$top"/kmod/*.h; do
		case $f in
		*.mod.c) continue ;;
		esac
		cp "$f" "$dir/kmod/"
	done
	cp "$top/kmod/Kbuild" "$top/kmod/Makefile" "$dir/kmod/"
	cp "$top"/common/*.c "$dir/common/"
	cp "$top"/include/capstore/*.h "$dir/include/capstore/"
	cp "$top/include/uapi/linux/capstore.h" "$dir/include/uapi/linux/"
	chmod -R u=rwX,go=rX "$dir"
}

kernels() {
	{
		uname -r
		"$top/scripts/kver.sh" 2>/dev/null || true
	} | awk '!seen[$0]++'
}

install_tree() {
	ver=$(version)
	src=$DESTDIR/usr/src/capstore-$ver
	if [ -z "$DESTDIR" ]; then
		[ "$(id -u)" = 0 ] || die "run as root (or set DESTDIR)"
		command -v dkms >/dev/null ||
			die "dkms not found: apt-get install dkms"
		# A tree of the same version from an older checkout goes first.
		if dkms status -m capstore -v "$ver" | grep -q .; then
			dkms remove -m capstore -v "$ver" --all
		fi
	fi
	rm -rf "$src"
	echo "  DKMS    $src"
	tree "$src"
	[ -z "$DESTDIR" ] || return 0
	dkms add -m capstore -v "$ver"
	for k in $(kernels); do
		if [ -e "/lib/modules/$k/build/Makefile" ]; then
			dkms install -m capstore -v "$ver" -k "$k"
		else
			echo "dkms.sh: no headers for kernel $k, not built for it (apt-get install linux-headers-$k)"
		fi
	done
	dkms status -m capstore
}

uninstall() {
	ver=$(version)
	[ "$(id -u)" = 0 ] || die "run as root"
	if command -v dkms >/dev/null &&
	   dkms status -m capstore -v "$ver" | grep -q .; then
		dkms remove -m capstore -v "$ver" --all
	fi
	rm -rf "/usr/src/capstore-$ver"
}

case ${1:-} in
version) version ;;
tree) [ $# = 2 ] || die "usage: dkms.sh tree DIR"; tree "$2" ;;
install) install_tree ;;
uninstall) uninstall ;;
*) sed -n '3,16s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
