#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the base initramfs of the capstore test VM, an uncompressed newc
# cpio archive (TCG is slow at decompressing), and keep it while its inputs
# are unchanged.
#
#   selftests/vm/mkinitramfs.sh OUTPUT.cpio
#
# Contents:
#   /init, /usr/lib/capstore/guest-lib.sh   this directory
#   /bin/busybox and its applet links        $BUSYBOX
#   /lib/modules/$KVER/...                   $VM_MODULES and their
#                                            dependencies from $VM_MODULES_DIR,
#                                            with a fresh modules.dep
#   /etc/capstore/modules                    the modules /init loads, in order
#   /lib/capstore/capstore.ko                $CAPSTORE_KO
#   /usr/bin/capstore                        $CAPSTORE_TOOL
#   /usr/libexec/capstore-tests/*            every file in $VM_TESTS_DIR
#   extra files                              $VM_EXTRA_FILES="SRC:DST ..."
#
# An empty VM_MODULES_DIR means a kernel with everything built in: no
# modules are copied and /init loads none. A CAPSTORE_KO or CAPSTORE_TOOL
# that does not exist is left out with a note.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: mkinitramfs.sh OUTPUT.cpio}

kver=
if [ -z "${VM_MODULES_DIR+set}" ]; then
	VM_MODULES_DIR=/lib/modules/$("$top/scripts/kver.sh")
fi
BUSYBOX=${BUSYBOX:-/bin/busybox}
VM_MODULES=${VM_MODULES-virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk crc32c_generic crc32c-intel libcrc32c dm-mod dm-log-writes dm-flakey loop}
CAPSTORE_KO=${CAPSTORE_KO-$top/kmod/capstore.ko}
CAPSTORE_TOOL=${CAPSTORE_TOOL-$top/userspace-tools/capstore}
VM_TESTS_DIR=${VM_TESTS_DIR-$top/selftests/bin}
VM_EXTRA_FILES=${VM_EXTRA_FILES-}

note() { echo "mkinitramfs: $*" >&2; }
die() { note "$*"; exit 1; }

[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (busybox-static)"

# ---- what goes in: "SRC DST" lines, modules resolved from modules.dep ----
declare -a srcs=() dsts=() notes=()
add() { srcs+=("$1"); dsts+=("$2"); }

load_list=()
if [ -n "$VM_MODULES_DIR" ]; then
	[ -r "$VM_MODULES_DIR/modules.dep" ] ||
		die "$VM_MODULES_DIR/modules.dep not found (set VM_MODULES_DIR= for a kernel without modules)"
	kver=${VM_MODULES_DIR%/}
	kver=${kver##*/}
	# Output: "load NAME" for each module found (in the order asked),
	# "file PATH" for it and everything it depends on, "builtin NAME",
	# "missing NAME".
	builtin_list=/dev/null
	[ -r "$VM_MODULES_DIR/modules.builtin" ] && builtin_list=$VM_MODULES_DIR/modules.builtin
	resolved=$(awk -v want="$VM_MODULES" '
		function norm(p) { sub(/.*\//, "", p); sub(/\.ko.*/, "", p); gsub(/-/, "_", p); return p }
		function closure(n,    k, parts, i) {
			if (n in done) return
			done[n] = 1
			print "file " path[n]
			k = split(deps[n], parts, " ")
			for (i = 1; i <= k; i++) closure(norm(parts[i]))
		}
		FILENAME ~ /modules\.dep$/ {
			p = $1; sub(/:$/, "", p); n = norm(p)
			path[n] = p; d = $0; sub(/^[^:]*:[ ]*/, "", d); deps[n] = d
			next
		}
		{ builtin[norm($0)] = 1 }
		END {
			k = split(want, w, " ")
			for (i = 1; i <= k; i++) {
				n = norm(w[i])
				if (n in path) { print "load " w[i]; closure(n) }
				else if (n in builtin) print "builtin " w[i]
				else print "missing " w[i]
			}
		}' "$VM_MODULES_DIR/modules.dep" "$builtin_list")
	while read -r what arg; do
		case $what in
		load) load_list+=("$arg") ;;
		file) add "$VM_MODULES_DIR/$arg" "lib/modules/$kver/${arg%.ko*}.ko" ;;
		missing) notes+=("module $arg not in $VM_MODULES_DIR, left out") ;;
		esac
	done <<<"$resolved"
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[ -r "$VM_MODULES_DIR/$f" ] && add "$VM_MODULES_DIR/$f" "lib/modules/$kver/$f"
	done
fi

add "$here/init" init
add "$here/guest-lib.sh" usr/lib/capstore/guest-lib.sh
add "$BUSYBOX" bin/busybox
optional() {
	if [ -z "$1" ]; then
		return
	elif [ -f "$1" ]; then
		add "$1" "$2"
	else
		notes+=("$1 not built, left out")
	fi
}
optional "$CAPSTORE_KO" lib/capstore/capstore.ko
optional "$CAPSTORE_TOOL" usr/bin/capstore
if [ -n "$VM_TESTS_DIR" ] && [ -d "$VM_TESTS_DIR" ]; then
	for f in "$VM_TESTS_DIR"/*; do
		[ -f "$f" ] && [ -x "$f" ] && add "$f" "usr/libexec/capstore-tests/${f##*/}"
	done
fi
for pair in $VM_EXTRA_FILES; do
	add "${pair%%:*}" "${pair#*:}"
done

# ---- cache: the key is every input's name, destination and content ----
key=$({
	echo "v1 modules: ${load_list[*]}"
	sha256sum "$0"
	for i in "${!srcs[@]}"; do
		echo "${dsts[$i]} $(sha256sum <"${srcs[$i]}")"
	done
} | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$key" ]; then
	exit 0
fi

# ---- build ----
for n in "${notes[@]}"; do
	note "$n"
done
stage=$(mktemp -d "${TMPDIR:-/tmp}/capstore-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,root,etc/capstore,lib/capstore}
for i in "${!srcs[@]}"; do
	s=${srcs[$i]} d=$stage/${dsts[$i]}
	mkdir -p "${d%/*}"
	case $s in
	*.ko.xz) xz -dc "$s" >"$d" ;;
	*.ko.gz) gzip -dc "$s" >"$d" ;;
	*.ko.zst) zstd -qdc "$s" >"$d" ;;
	*) cp "$s" "$d" ;;
	esac
done
chmod 755 "$stage/init"

# busybox applet links (never over a file already there, such as /init)
"$BUSYBOX" --list-full | while read -r a; do
	[ -e "$stage/$a" ] || [ -L "$stage/$a" ] || ln -s /bin/busybox "$stage/$a"
done

: >"$stage/etc/capstore/modules"
if [ -n "$kver" ]; then
	printf '%s\n' "${load_list[@]}" >"$stage/etc/capstore/modules"
	depmod -b "$stage" "$kver"
fi

# mknod needs no privilege in a cpio archive: list it explicitly
tmp=$out.tmp.$$
(
	cd "$stage"
	find . -mindepth 1 | LC_ALL=C sort
) | (cd "$stage" && cpio --quiet -o -H newc -R 0:0) >"$tmp"
mv "$tmp" "$out"
echo "$key" >"$out.key"
note "built $out ($(du -h "$out" | cut -f1)), kernel modules for ${kver:-none}"
