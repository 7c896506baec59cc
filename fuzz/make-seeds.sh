#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Regenerate the host-made seeds of fuzz/corpus/ (run by "make -C fuzz
# seeds"): stores made by "capstore format" and by the test helper
# "csimg populate" (userspace-tools/tests/csimg.c: segments of tree height
# 0 to 2, nodes with live, weak and dead slots, a destroyed object, an
# object table of height 1), each with its trailing zero blocks cut off
# (fuzz_image pads an image to the size its superblock claims). The seeds
# made by the kernel, vm-*.img, come from the image_fuzz scenario (its
# CS_IMAGE_FUZZ_SAVE mode, Documentation/testing.rst "Fuzzing") and are
# left alone.
set -euo pipefail
cd "$(dirname "$0")"

CAPSTORE=${CAPSTORE:-../userspace-tools/capstore}
CSIMG=${CSIMG:-../userspace-tools/tests/csimg}
UUID=6361702d-7374-6f72-652d-66757a7a0001
make -s -C ../userspace-tools capstore tests/csimg

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# trim FILE: drop trailing all-zero blocks (keep at least one).
trim() {
	local f=$1 n
	n=$(($(stat -c %s "$f") / 4096))
	while [ "$n" -gt 1 ] &&
		cmp -s -n 4096 -i $(((n - 1) * 4096)):0 "$f" /dev/zero; do
		n=$((n - 1))
	done
	truncate -s $((n * 4096)) "$f"
}

# seed NAME SIZE [FORMAT-OPTION...]: format, maybe populate, trim.
seed() {
	local name=$1 size=$2
	shift 2
	rm -f "$tmp/i"
	"$CAPSTORE" format -U "$UUID" -s "$size" "$@" "$tmp/i" >/dev/null
	case $name in
	populated*) "$CSIMG" populate "$tmp/i" >/dev/null ;;
	esac
	"$CAPSTORE" fsck "$tmp/i" >/dev/null
	trim "$tmp/i"
	cp "$tmp/i" "corpus/host-$name.img"
}

seed fresh-64blk 256K
seed fresh-1m 1M
seed fresh-2slots 1M -S 2
seed fresh-16slots 1M -S 16 -L fuzz-seed-label
seed populated-256k 256K
seed populated-1m 1M
seed populated-3slots 1M -S 3
ls -l corpus/
