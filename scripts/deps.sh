#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install the Debian 12 packages capstore's build and tests need, if any is
# missing: apt-get update, then apt-get install --no-install-recommends.
# As non-root, print the command to run instead and fail.
#
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --list   print the package list
set -eu

# build-essential    gcc, make, libc6-dev (static libc), binutils (readelf)
# linux-headers-amd64, linux-image-amd64
#                    the kernel the module is built for and the VM boots
# linux-source-6.1   kselftest headers and checkpatch.pl (extracted)
# qemu-system-x86    the VM (seabios, ipxe-qemu come as dependencies)
# busybox-static     the VM's userland
# liburing-dev       liburing.a for the library and the static tests
# sparse             make lint (C=2)
# kmod               depmod for the VM's modules.dep
# cpio xz-utils      initramfs archives; the kernel image's payload
# bc flex bison libelf-dev   kernel build helpers (kbuild, objtool)
# perl               checkpatch.pl
# coreutils grep findutils util-linux   the host scripts (awk: mawk is enough)
# dkms               the install_dkms test builds the module through DKMS
# python3-sphinx     make docs; install_docs builds the docs, warnings fatal
# fio                the baseline of the benchmarks (make bench)
# systemd udev       systemd-analyze verify and udevadm verify of etc/; the
#                    systemd_boot scenario boots the VM with this systemd
# clang libclang-rt-14-dev llvm   the libFuzzer image fuzzer (fuzz/): clang
#                    with its fuzzer, ASan and UBSan runtimes, and
#                    llvm-symbolizer for the reports
PACKAGES="build-essential linux-headers-amd64 linux-image-amd64
linux-source-6.1 qemu-system-x86 busybox-static liburing-dev sparse kmod
cpio xz-utils bc flex bison libelf-dev perl coreutils grep findutils
util-linux dkms python3-sphinx fio systemd udev clang libclang-rt-14-dev
llvm"

if [ "${1:-}" = --list ]; then
	echo "$PACKAGES" | tr '\n' ' '
	echo
	exit 0
fi

missing=
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in
	ii*) ;;
	*) missing="$missing $p" ;;
	esac
done
if [ -z "$missing" ]; then
	echo "deps: all $(echo "$PACKAGES" | wc -w) packages installed"
	exit 0
fi

echo "deps: missing:$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: run as root:"
	echo "  apt-get update && apt-get install -y --no-install-recommends$missing"
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
