#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The debug test kernel of "make check-debug" (KASAN, UBSAN, lockdep,
# kmemleak, ...): find it, unpack it, or build it. It is only ever booted
# in the test VM: never install its packages on a machine.
#
#   scripts/debug-kernel.sh find     print where the kernel comes from
#   scripts/debug-kernel.sh unpack   print the unpacked tree (boot/vmlinuz-*,
#                                    usr/src/linux-headers-*), unpacking the
#                                    packages into build/debug-kernel/ if
#                                    they changed
#   scripts/debug-kernel.sh build    build the packages from linux-source-6.1
#                                    with scripts/debug-kernel.config, into
#                                    build/debug-kernel-pkgs/ (~45 min on 2
#                                    cores, ~8 GiB of disk)
#   scripts/debug-kernel.sh build --config-only
#                                    stop after writing the .config
#
# Where the kernel is looked for, first found wins:
#   1. $CAPSTORE_DEBUG_KERNEL: a directory holding linux-image-*.deb and
#      linux-headers-*.deb (checked against its SHA256SUMS if there is
#      one), or an unpacked tree (boot/vmlinuz-*, usr/src/linux-headers-*);
#   2. ../shared/debug-kernel/ next to the source tree (the prebuilt one);
#   3. build/debug-kernel-pkgs/ (a previous "make debug-kernel").
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
unpacked=$top/build/debug-kernel
pkgdir=$top/build/debug-kernel-pkgs
fragment=$top/scripts/debug-kernel.config

die() {
	echo "debug-kernel: $*" >&2
	exit 1
}

# An unpacked tree: a kernel image and a headers tree.
is_tree() {
	compgen -G "$1/boot/vmlinuz-*" >/dev/null &&
		compgen -G "$1/usr/src/linux-headers-*/Makefile" >/dev/null
}

# A package directory: one image and one headers package.
is_pkgdir() {
	[ "$(compgen -G "$1/linux-image-*.deb" | grep -vc -- -dbg_ || true)" = 1 ] &&
		[ "$(compgen -G "$1/linux-headers-*.deb" | wc -l)" = 1 ]
}

how_to_get() {
	cat >&2 <<EOF
debug-kernel: no debug kernel found. Looked in:
  \$CAPSTORE_DEBUG_KERNEL   ${CAPSTORE_DEBUG_KERNEL:-(not set)}
  $(cd "$top/.." && pwd)/shared/debug-kernel
  $pkgdir
Either point CAPSTORE_DEBUG_KERNEL at a directory holding the two packages
(linux-image-*-capstore-debug_*.deb and linux-headers-*-capstore-debug_*.deb)
or at an unpacked tree, or build them (about 45 minutes on 2 cores, 8 GiB of
disk, as root to install the build packages):
  make debug-kernel
EOF
	exit 1
}

# Print "pkgs DIR" or "tree DIR".
find_kernel() {
	local d
	if [ -n "${CAPSTORE_DEBUG_KERNEL:-}" ]; then
		d=$CAPSTORE_DEBUG_KERNEL
		[ -d "$d" ] || die "CAPSTORE_DEBUG_KERNEL=$d: no such directory"
		d=$(cd "$d" && pwd)
		if is_pkgdir "$d"; then
			echo "pkgs $d"
		elif is_tree "$d"; then
			echo "tree $d"
		else
			die "CAPSTORE_DEBUG_KERNEL=$d holds neither one linux-image-*.deb and one linux-headers-*.deb nor an unpacked tree (boot/vmlinuz-*, usr/src/linux-headers-*/)"
		fi
		return
	fi
	for d in "$top/../shared/debug-kernel" "$pkgdir"; do
		if [ -d "$d" ] && is_pkgdir "$d"; then
			echo "pkgs $(cd "$d" && pwd)"
			return
		fi
	done
	how_to_get
}

unpack() {
	local kind dir img hdr key
	read -r kind dir < <(find_kernel)
	[ -n "${dir:-}" ] || exit 1
	if [ "$kind" = tree ]; then
		echo "$dir"
		return
	fi
	img=$(compgen -G "$dir/linux-image-*.deb" | grep -v -- -dbg_)
	hdr=$(compgen -G "$dir/linux-headers-*.deb")
	key=$(cat "$img" "$hdr" | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$unpacked/.unpacked" 2>/dev/null)" = "$key" ] && is_tree "$unpacked"; then
		echo "$unpacked"
		return
	fi
	if [ -f "$dir/SHA256SUMS" ]; then
		echo "debug-kernel: checking $dir/SHA256SUMS" >&2
		(cd "$dir" && sha256sum --quiet -c --ignore-missing SHA256SUMS) >&2 ||
			die "checksum mismatch in $dir"
		# both packages must be listed, not just present
		grep -qF "${img##*/}" "$dir/SHA256SUMS" && grep -qF "${hdr##*/}" "$dir/SHA256SUMS" ||
			die "$dir/SHA256SUMS does not list ${img##*/} and ${hdr##*/}"
	fi
	echo "debug-kernel: unpacking ${img##*/} and ${hdr##*/} into ${unpacked#"$top"/}/" >&2
	rm -rf "$unpacked"
	mkdir -p "$unpacked"
	dpkg-deb -x "$img" "$unpacked"
	dpkg-deb -x "$hdr" "$unpacked"
	is_tree "$unpacked" || die "the packages in $dir hold no kernel image or headers tree"
	echo "$key" >"$unpacked/.unpacked"
	echo "$unpacked"
}

# The same recipe as the prebuilt kernel: x86_64_defconfig +
# kvm_guest.config + the fragment, then "make bindeb-pkg".
build() {
	local config_only="" tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
	local work=$top/build/debug-kernel-src pkgs missing p
	[ "${1:-}" = --config-only ] && config_only=1
	pkgs="linux-source-6.1 build-essential bc bison flex libelf-dev libssl-dev dwarves cpio kmod dpkg-dev rsync debhelper"
	missing=
	for p in $pkgs; do
		case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true) in
		ii*) ;;
		*) missing="$missing $p" ;;
		esac
	done
	if [ -n "$missing" ] && [ -n "$config_only" ]; then
		echo "debug-kernel: the build will need:$missing" >&2
	elif [ -n "$missing" ]; then
		if [ "$(id -u)" != 0 ]; then
			die "missing packages; as root: apt-get install --no-install-recommends$missing"
		fi
		apt-get update -qq
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
	fi
	[ -r "$tarball" ] || die "$tarball not found (linux-source-6.1)"
	[ -r "$fragment" ] || die "$fragment not found"
	mkdir -p "$work"
	if [ ! -f "$work/.extracted" ] || [ "$tarball" -nt "$work/.extracted" ]; then
		echo "debug-kernel: extracting $tarball into ${work#"$top"/}/" >&2
		rm -rf "$work/linux-source-6.1" "$work/build"
		tar -xf "$tarball" -C "$work"
		touch "$work/.extracted"
	fi
	cd "$work/linux-source-6.1"
	make O=../build x86_64_defconfig
	./scripts/kconfig/merge_config.sh -m -O ../build ../build/.config \
		kernel/configs/kvm_guest.config "$fragment"
	make O=../build olddefconfig
	# merge_config's check, made fatal: an option the fragment asks for
	# that the kernel did not take (a typo, a missing dependency)
	local bad=0 line opt want got
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) opt=${line%%=*} want=${line#*=} ;;
		*) continue ;;
		esac
		got=$(grep -E "^$opt=|^# $opt is not set" ../build/.config || true)
		case $want in
		n) [ -z "$got" ] || [ "$got" = "# $opt is not set" ] || { echo "debug-kernel: $opt: want n, got $got" >&2; bad=1; } ;;
		*) [ "$got" = "$opt=$want" ] || { echo "debug-kernel: $opt: want $want, got ${got:-unset}" >&2; bad=1; } ;;
		esac
	done <"$fragment"
	[ "$bad" = 0 ] || die "the .config does not match $fragment"
	echo "debug-kernel: configured ${work#"$top"/}/build/.config" >&2
	if [ -n "$config_only" ]; then
		return
	fi
	make -j"$(nproc)" O=../build bindeb-pkg
	mkdir -p "$pkgdir"
	rm -f "$pkgdir"/*.deb "$pkgdir/SHA256SUMS"
	for p in "$work"/linux-image-*-capstore-debug_*.deb "$work"/linux-headers-*-capstore-debug_*.deb; do
		case $p in *-dbg_*) continue ;; esac
		cp "$p" "$pkgdir/"
	done
	(cd "$pkgdir" && sha256sum ./*.deb | sed 's| \./| |' >SHA256SUMS)
	cp "$fragment" "$pkgdir/debug.config"
	ls -l "$pkgdir"
}

case ${1:-} in
find)
	read -r kind dir < <(find_kernel)
	[ -n "${dir:-}" ] || exit 1
	echo "$dir ($kind)"
	;;
unpack) unpack ;;
build) shift; build "$@" ;;
*) sed -n '3,22s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
