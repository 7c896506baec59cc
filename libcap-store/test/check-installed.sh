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
: "${MANDIR:=$PREFIX/share/man}" "${DOCDIR:=$PREFIX/share/doc/libcap-store}"
: "${LIBEXECDIR:=$PREFIX/libexec/libcap-store}"

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
man7=$dest$MANDIR/man7
doc=$dest$DOCDIR
libexec=$dest$LIBEXECDIR
major=$(sed -n 's/^#define CAPSTORE_VERSION_MAJOR[[:space:]]*//p' include/libcapstore.h)
minor=$(sed -n 's/^#define CAPSTORE_VERSION_MINOR[[:space:]]*//p' include/libcapstore.h)

t "make install DESTDIR=<scratch>" \
	$MAKE --no-print-directory install DESTDIR="$dest"

installed() {
	for f in "$lib/libcap-store.a" "$lib/libcap-store.so.1.0.0" \
		 "$lib/libcap-store.so.1" "$lib/libcap-store.so" \
		 "$lib/pkgconfig/libcap-store.pc" "$inc/libcapstore.h" \
		 "$lib/pkgconfig/libcap-store-uring.pc" \
		 "$inc/libcapstore-uring.h" "$inc/linux/capstore.h" \
		 "$man7/capstore.7" "$doc/examples/counter.c" \
		 "$doc/examples/kvstore.c" "$doc/examples/pass_cap.c" \
		 "$libexec/counter" "$libexec/kvstore" "$libexec/pass_cap"; do
		[ -e "$f" ] || { echo "missing: $f"; return 1; }
	done
}
t "libraries, headers, pkg-config files, man pages and examples are installed" installed

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
# Each function at the version node of the map that lists it.
awk '/^LIBCAPSTORE_[0-9.]+ *\{/ { node = $1 }
     /^[[:space:]]*capstore_[a-z_]*;$/ { sub(/^[[:space:]]*/, ""); sub(/;$/, "");
					   print $0 "@@" node }' \
	libcap-store.map | sort > "$scratch/versioned"

exports() {
	diff -u "$scratch/versioned" "$scratch/exported" &&
	diff -u "$scratch/header" "$scratch/map" &&
	grep -qx 'capstore_version_major@@LIBCAPSTORE_1.0' "$scratch/versioned"
}
t "it exports exactly the header's functions, each at its map's version node" exports

# The io_uring header: static inline helpers only, so nothing to export.
sed -n 's/^static inline [a-z].*[ *]\(capstore_[a-z_]*\)(.*/\1/p' \
	include/libcapstore-uring.h | sort > "$scratch/uring"
uring_inline() {
	[ -s "$scratch/uring" ] &&
	! grep -E '^[a-z].*[ *]capstore_[a-z_]*\(' include/libcapstore-uring.h |
		grep -v '^static inline'
}
t "the io_uring header has only static inline helpers" uring_inline

man_pages() (
	for f in $(cat "$scratch/header" "$scratch/uring"); do
		[ -e "$man3/$f.3" ] || { echo "no man page: $f.3"; return 1; }
	done
	cd "$dest$MANDIR" || return 1
	for page in man3/*.3 man7/*.7; do
		groff -man -Tutf8 -ww -z -I. "$page" 2>&1 | grep . && return 1
	done
	return 0
)
t "every function and helper has a man page, and they render without warnings" man_pages

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

echo '#include <libcapstore-uring.h>' > "$scratch/uring.c"
if pkg-config --exists liburing; then
	ucflags=$(pkg-config --cflags libcap-store-uring)
	t "the installed io_uring header compiles alone as C11 (with _DEFAULT_SOURCE)" \
		$CC -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Werror $ucflags \
		-c -o "$scratch/uring.o" "$scratch/uring.c"
	if command -v c++ > /dev/null; then
		t "the installed io_uring header compiles alone as C++" \
			c++ -x c++ -Wall -Wextra -Werror $ucflags \
			-c -o "$scratch/uring.o" "$scratch/uring.c"
	fi
	cp test/check-uring.c "$scratch/check-uring.c"
	uring_build() {
		$CC -Wall -Wextra -Werror $ucflags -o "$scratch/check-uring" \
			"$scratch/check-uring.c" \
			$(pkg-config --libs libcap-store-uring)
	}
	t "an io_uring program builds with pkg-config libcap-store-uring" \
		uring_build
	if LD_LIBRARY_PATH=$lib "$scratch/check-uring" > "$log" 2>&1; then
		grep -E '^(not )?ok' "$log" >> "$results"
	else
		grep -E '^(not )?ok' "$log" >> "$results"
		not_ok "check-uring failed"
	fi
else
	skip "the io_uring header and pkg-config libcap-store-uring" \
		"no liburing.pc"
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
for ex in counter kvstore pass_cap; do
	ex_usage() { ./examples/$ex --bogus 2>/dev/null; [ $? -eq 2 ]; }
	t "examples/$ex rejects a bad option with status 2" ex_usage
	ex_static() { file examples/$ex | grep -q 'statically linked'; }
	t "examples/$ex is statically linked" ex_static
done
if [ ! -e /dev/capstore ]; then
	kv_fails() {
		./examples/kvstore get k
		[ $? -eq 1 ] && ./examples/kvstore put k v 2>&1 |
			grep -qx 'kvstore: /dev/capstore: No such file or directory'
	}
	t "examples/kvstore fails cleanly without /dev/capstore" kv_fails
fi
kv_usage() {
	./examples/kvstore put onlykey 2>/dev/null; [ $? -eq 2 ] &&
	{ ./examples/kvstore frob 2>/dev/null; [ $? -eq 2 ]; } &&
	{ ./examples/kvstore --slot 32 list 2>/dev/null; [ $? -eq 2 ]; }
}
t "examples/kvstore rejects bad command lines with status 2" kv_usage

# Number the lines, plan first.
awk '/^(not )?ok/ { n++; sub(/ok -/, "ok " n " -") } { line[NR] = $0 }
     END { print "1.." n; for (i = 1; i <= NR; i++) print line[i] }' "$results"
! grep -q '^not ok' "$results"
