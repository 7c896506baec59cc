# SPDX-License-Identifier: GPL-2.0
# "make install DESTDIR=..." of libcap-store lays out what an outside
# program needs: on the host, libcap-store/test/outside.c is built against
# the DESTDIR tree only, with pkg-config libcap-store-uring, statically and
# dynamically; in the VM both run on a real store (the dynamic one with the
# installed libcap-store.so.1, liburing, libc and the loader put in with
# boot --file), and so do the installed examples.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"
require "pkg-config and liburing.pc on the host" pkg-config --exists liburing

dest=$WORK/root
install_lib() {
	rm -rf "$dest"
	make -s -C "$SRCDIR/libcap-store" install DESTDIR="$dest" PREFIX=/usr
}
host "make install DESTDIR=$dest PREFIX=/usr" install_lib

export PKG_CONFIG_PATH=$dest/usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
src=$WORK/outside.c
cp "$SRCDIR/libcap-store/test/outside.c" "$src"
build_static() {
	cc -Wall -Wextra -Werror -static $(pkg-config --cflags libcap-store-uring) \
		-o "$WORK/outside-static" "$src" \
		$(pkg-config --static --libs libcap-store-uring)
}
build_dynamic() {
	cc -Wall -Wextra -Werror $(pkg-config --cflags libcap-store-uring) \
		-o "$WORK/outside-dynamic" "$src" \
		$(pkg-config --libs libcap-store-uring) &&
	LD_LIBRARY_PATH=$dest/usr/lib ldd "$WORK/outside-dynamic" |
		grep -F "libcap-store.so.1 => $dest/usr/lib/libcap-store.so.1"
}
host "an outside program builds statically with pkg-config" build_static
host "an outside program builds dynamically with pkg-config, against the installed .so" build_dynamic

# The dynamic program's libraries at the paths its loader looks in: the
# installed libcap-store.so.1 in /usr/lib, the others where the host has them.
files=(--file "$WORK/outside-static:/usr/bin/outside-static"
       --file "$WORK/outside-dynamic:/usr/bin/outside-dynamic"
       --file "$dest/usr/lib/libcap-store.so.1.0.0:/usr/lib/libcap-store.so.1")
for lib in $(LD_LIBRARY_PATH=$dest/usr/lib ldd "$WORK/outside-dynamic" |
	     awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
	case $lib in "$dest"/*) continue ;; esac
	files+=(--file "$(readlink -f "$lib"):$lib")
done
for ex in kvstore pass_cap counter; do
	files+=(--file "$dest/usr/libexec/libcap-store/$ex:/usr/libexec/libcap-store/$ex")
done

boot "${files[@]}" <<'EOT'
cs_load_module
tap_check "the static outside program runs" outside-static $(dev store)
tap_check "the dynamic outside program runs, on the installed libcap-store.so.1" \
	outside-dynamic $(dev store)
capstore attach $(dev store) >/dev/null
tap_check "the installed kvstore example runs" sh -c \
	'/usr/libexec/libcap-store/kvstore put installed yes &&
	 /usr/libexec/libcap-store/kvstore get installed | grep -x yes'
tap_check "the installed pass_cap example runs" /usr/libexec/libcap-store/pass_cap
capstore detach $(dev store) >/dev/null
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
