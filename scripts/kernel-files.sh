#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Extract the few files capstore borrows from Debian's linux-source-6.1
# (the kselftest harness headers and checkpatch.pl with its data files)
# into one flat directory, once.
#
#   scripts/kernel-files.sh [DESTDIR]     default: selftests/.cache
#
# Only the named members are extracted; the tarball is read in one pass.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$top/selftests/.cache}
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
prefix=linux-source-6.1

files="tools/testing/selftests/kselftest_harness.h
tools/testing/selftests/kselftest.h
scripts/checkpatch.pl
scripts/spelling.txt
scripts/const_structs.checkpatch"

stamp=$dest/.extracted
if [ -f "$stamp" ] && [ "$stamp" -nt "$tarball" ]; then
	exit 0
fi
if [ ! -r "$tarball" ]; then
	echo "kernel-files.sh: $tarball not found; run 'make deps' (linux-source-6.1)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-ksrc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
members=
for f in $files; do
	members="$members $prefix/$f"
done
echo "  EXTRACT $tarball -> $dest"
# shellcheck disable=SC2086
tar -xJf "$tarball" -C "$tmp" $members

mkdir -p "$dest"
for f in $files; do
	cp "$tmp/$prefix/$f" "$dest/"
done
chmod +x "$dest/checkpatch.pl"
touch "$stamp"
