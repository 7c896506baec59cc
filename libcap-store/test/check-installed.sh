#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1 OR MIT
#
# make check: install libcap-store into a scratch tree and use it the way
# an outside program does, through pkg-config, without the source tree and
# without the capstore module. Prints TAP.
#
# Run from libcap-store/ by 'make check', which passes MAKE, CC, PREFIX,
# LIBDIR, INCLUDEDIR and MANDIR.

: "${MAKE:=make}" "${CC:=cc}" "${PREFIX:=/usr/local}"
: "${LIBDIR:=$PREFIX/lib}" "${INCLUDEDIR:=$PREFIX/include}"
: "${MANDIR:=$PREFIX/share/man}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/libcap-store-check.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
dest=$scratch/root
results=$scratch/results
log=$scratch/log
: > "$results"

ok()     { echo "ok - $*" >> "$results"; }
skip()   { echo "ok - $1 # SKIP $2" >> "$results"; }
not_ok() { echo "not ok - $*" >> "$results"; sed 's/^/# /' "$log" >> "$results"; }

# t DESCRIPTION COMMAND...: one test, passed if COMMAND succeeds.
t() {
	desc=$1
	shift
	if "$@" > "$log" 2>&1; then ok "$desc"; else not_ok "$desc"; fi
}

lib=$dest$LIBDIR
inc=$dest$INCLUDEDIR
man3=$dest$MANDIR/man3
major=$(sed -n 's/^#define CAPSTORE_VERSION_MAJOR[[:space:]]*//p' include/libcapstore.h)
minor=$(sed -n 's/^#define CAPSTORE_VERSION_MINOR[[:space:]]*//p' include/libcapstore.h)

t "make install DESTDIR=<scratch>" \
	$MAKE --no-print-directory install DESTDIR="$dest"

installed() {
	for f in "$lib/libcap-store.a" "$lib/libcap-store.so.1.0.0" \
		 "$lib/libcap-store.so.1" "$lib/libcap-store.so" \
		 "$lib/pkgconfig/libcap-store.pc" "$inc/libcapstore.h" \
		 "$inc/linux/capstore.h"; do
		[ -e "$f" ] || { echo "missing: $f"; return 1; }
	done
}
t "libraries, headers and pkg-config file are installed" installed

soname() {
	readelf -d "$lib/libcap-store.so.1.0.0" |
		grep -q 'SONAME.*\[libcap-store\.so\.1\]'
}
t "the shared library's soname is libcap-store.so.1" soname

# The functions the header declares, the map exports and man pages describe.
sed -n 's/^[a-z].*[ *]\(capstore_[a-z_]*\)(.*/\1/p' include/libcapstore.h |
	sort > "$scratch/header"
sed -n 's/^[[:space:]]*\(capstore_[a-z_]*\);$/\1/p' libcap-store.map |
	sort > "$scratch/map"
nm -D --defined-only "$lib/libcap-store.so.1.0.0" |
	awk '$2 != "A" { print $3 }' | sort > "$scratch/exported"

exports() {
	sed 's/$/@@LIBCAPSTORE_1.0/' "$scratch/map" |
		diff -u - "$scratch/exported" &&
	diff -u "$scratch/header" "$scratch/map"
}
t "it exports exactly the header's functions, at LIBCAPSTORE_1.0" exports

man_pages() (
	for f in $(cat "$scratch/header"); do
		[ -e "$man3/$f.3" ] || { echo "no man page: $f.3"; return 1; }
	done
	cd "$dest$MANDIR" || return 1
	for page in man3/*.3; do
		groff -man -Tutf8 -ww -z -I. "$page" 2>&1 | grep . && return 1
	done
	return 0
)
t "every function has a man page, and they render without warnings" man_pages

export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"

pc_version() {
	[ "$(pkg-config --modversion libcap-store)" = "$major.$minor.0" ]
}
t "pkg-config knows libcap-store $major.$minor.0" pc_version

# The header alone, as strict C and as C++.
echo '#include <libcapstore.h>' > "$scratch/header.c"
cflags=$(pkg-config --cflags libcap-store)
t "the installed header compiles alone as C99 -pedantic" \
	$CC -std=c99 -pedantic -Wall -Wextra -Werror $cflags \
	-c -o "$scratch/header.o" "$scratch/header.c"
if command -v c++ > /dev/null; then
	t "the installed header compiles alone as C++" \
		c++ -x c++ -Wall -Wextra -Werror $cflags \
		-c -o "$scratch/header.o" "$scratch/header.c"
else
	skip "the installed header compiles alone as C++" "no c++"
fi

# Built where it cannot see the source tree.
cp test/check-installed.c "$scratch/check.c"
t "an outside program builds with pkg-config --cflags --libs" \
	$CC -Wall -Wextra -Werror $cflags -o "$scratch/check" \
	"$scratch/check.c" $(pkg-config --libs libcap-store)

uses_installed() {
	LD_LIBRARY_PATH=$lib ldd "$scratch/check" |
		grep -F "libcap-store.so.1 => $lib/libcap-store.so.1"
}
t "it runs against the installed shared library" uses_installed

# Its own TAP lines join ours; a crash shows as a failure.
if LD_LIBRARY_PATH=$lib "$scratch/check" > "$log" 2>&1; then
	grep -E '^(not )?ok' "$log" >> "$results"
else
	status=$?
	grep -E '^(not )?ok' "$log" >> "$results"
	grep -vE '^(not )?ok' "$log" > "$log.rest"
	mv "$log.rest" "$log"
	not_ok "check program exited with status $status"
fi

static_build() {
	$CC -static $cflags -o "$scratch/check-static" \
		"$scratch/check.c" \
		$(pkg-config --static --libs libcap-store) &&
	"$scratch/check-static"
}
t "it links statically with libcap-store.a and passes" static_build

if [ -e /dev/capstore ]; then
	skip "examples/counter fails cleanly without /dev/capstore" \
		"/dev/capstore exists"
else
	counter_fails() {
		./examples/counter
		[ $? -eq 1 ] && ./examples/counter 2>&1 |
			grep -qx 'counter: /dev/capstore: No such file or directory'
	}
	t "examples/counter fails cleanly without /dev/capstore" counter_fails
fi
counter_usage() { ./examples/counter --bogus; [ $? -eq 2 ]; }
t "examples/counter rejects a bad option with status 2" counter_usage
counter_static() { file examples/counter | grep -q 'statically linked'; }
t "examples/counter is statically linked" counter_static

# Number the lines, plan first.
awk '/^(not )?ok/ { n++; sub(/ok -/, "ok " n " -") } { line[NR] = $0 }
     END { print "1.." n; for (i = 1; i <= NR; i++) print line[i] }' "$results"
! grep -q '^not ok' "$results"
