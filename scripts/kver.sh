#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the version of the newest installed kernel that has both a bootable
# image (/boot/vmlinuz-VER) and headers to build modules against
# (/lib/modules/VER/build). This is the kernel the VM boots and the module
# is built for; the running kernel of the build machine does not matter.
for d in /lib/modules/*/build; do
	[ -e "$d/Makefile" ] || continue
	v=${d#/lib/modules/}
	v=${v%/build}
	[ -r "/boot/vmlinuz-$v" ] && echo "$v"
done | sort -V | tail -n 1 | grep . || {
	echo "kver.sh: no kernel with both /boot/vmlinuz-VER and /lib/modules/VER/build;" >&2
	echo "kver.sh: run 'make deps' (linux-image-amd64, linux-headers-amd64)" >&2
	exit 1
}
