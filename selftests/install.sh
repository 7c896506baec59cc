#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host checks of what "make install", "make dkms" and "make docs" produce
# (Documentation/admin-guide.rst). No VM; nothing is installed on the host,
# loaded, or registered with dkms. The scenarios install*.sh run these
# steps one by one; run alone, it runs them all and prints TAP.
#
#   selftests/install.sh [STEP ARG...]
#
#   stage DIR       make install DESTDIR=DIR (PREFIX from the environment,
#                   default /usr/local)
#   tree DIR        DIR holds every path an installation must have, and
#                   nothing else; the listing goes to stdout
#   units DIR       systemd-analyze verify of the installed units, as
#                   instances, against DIR's capstore and man pages
#   udev DIR        the installed udev rules parse: udevadm verify where it
#                   exists (systemd >= 254), else udevadm test in a private
#                   mount namespace where they are the only local rules
#   can-udev        exit 0 if "udev" can run here
#   help DIR        every subcommand the installed capstore lists: --help
#                   and "help CMD" exit 0, a bad option exits 2, and its
#                   man page capstore-CMD(8) is installed
#   outside DIR OUT build tests/install/outside.c as an outside program
#                   would, with pkg-config on DIR, statically, into OUT
#   dkms OUT        the DKMS source tree (scripts/dkms.sh tree), dkms add
#                   and dkms build in scratch trees, for the kernel the
#                   module is built for; the module is copied to OUT
#   docs            make -C Documentation check (Sphinx, -W)
set -eu -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
PATH=$PATH:/usr/sbin:/sbin
export PREFIX

die() {
	echo "install.sh: $*" >&2
	exit 1
}

step_stage() {
	local dir=${1:?stage DIR}
	rm -rf "$dir"
	make -C "$top" --no-print-directory install DESTDIR="$dir"
}

# The kernel release the built module is for.
module_kver() {
	modinfo -F vermagic "$top/kmod/capstore.ko" | cut -d' ' -f1
}

# The subcommands the capstore command lists in its --help.
subcommands() {
	"$1" --help | awk '/^Commands:/ { on = 1; next }
		on && /^  [a-z]/ && $1 != "help" { print $1 }
		on && /^$/ { exit }'
}

step_tree() {
	local dir=${1:?tree DIR} p=${PREFIX#/} kver sub f rc=0
	kver=$(module_kver)
	local want=(
		"lib/modules/$kver/extra/capstore.ko"
		"$p/sbin/capstore"
		"$p/share/man/man8/capstore.8"
		"$p/lib/libcap-store.a"
		"$p/lib/libcap-store.so"
		"$p/lib/libcap-store.so.1"
		"$p/lib/pkgconfig/libcap-store.pc"
		"$p/include/libcapstore.h"
		"$p/include/linux/capstore.h"
		"$p/share/man/man3/capstore_control_open.3"
		"$p/share/man/man7/capstore.7"
		"$p/lib/udev/rules.d/60-capstore.rules"
		"$p/lib/systemd/system/capstore@.service"
		"$p/lib/systemd/system/capstore-image@.service"
		"$p/lib/modules-load.d/capstore.conf"
	)
	[ -x "$dir/$p/sbin/capstore" ] || die "$dir/$p/sbin/capstore missing"
	for sub in $(subcommands "$dir/$p/sbin/capstore"); do
		want+=("$p/share/man/man8/capstore-$sub.8")
	done
	echo "installed tree ($dir):"
	(cd "$dir" && find . ! -type d | sed 's|^\./||' | sort) >"$dir.list"
	sed 's/^/  /' "$dir.list"
	for f in "${want[@]}"; do
		if [ ! -e "$dir/$f" ]; then
			echo "missing: /$f"
			rc=1
		fi
	done
	# Anything else must be the library's (headers, man pages, examples).
	while read -r f; do
		case $f in
		"lib/modules/$kver/extra/capstore.ko") ;;
		"$p"/lib/libcap-store*) ;;
		"$p"/lib/pkgconfig/libcap-store*.pc) ;;
		"$p"/include/libcapstore*.h | "$p/include/linux/capstore.h") ;;
		"$p"/share/man/man3/capstore*.3 | "$p"/share/man/man7/*.7) ;;
		"$p"/share/man/man8/capstore*.8) ;;
		"$p"/share/doc/libcap-store/* | "$p"/libexec/libcap-store/*) ;;
		"$p/sbin/capstore") ;;
		"$p/lib/udev/rules.d/60-capstore.rules") ;;
		"$p"/lib/systemd/system/capstore*@.service) ;;
		"$p/lib/modules-load.d/capstore.conf") ;;
		*) echo "unexpected: /$f"; rc=1 ;;
		esac
	done <"$dir.list"
	# The units run the installed command.
	for f in "$dir/$p"/lib/systemd/system/capstore*@.service; do
		if grep -n '@[a-z]*@' "$f" ||
		   ! grep -q "^ExecStart=$PREFIX/sbin/capstore attach %f$" "$f"; then
			echo "$f: does not run $PREFIX/sbin/capstore"
			rc=1
		fi
	done
	if ! grep -qx "prefix=$PREFIX" "$dir/$p/lib/pkgconfig/libcap-store.pc"; then
		echo "libcap-store.pc: prefix is not $PREFIX"
		rc=1
	fi
	[ "$rc" = 0 ] && echo "every expected path, nothing else"
	return "$rc"
}

step_units() {
	local dir=${1:?units DIR} p=${PREFIX#/} tmp rc=0 inst out
	command -v systemd-analyze >/dev/null || die "no systemd-analyze"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-units.XXXXXX")
	# The units name $PREFIX/sbin/capstore: point them at DIR's.
	for f in "$dir/$p"/lib/systemd/system/capstore*@.service; do
		sed "s|=\(-\{0,1\}\)$PREFIX/sbin/|=\1$dir/$p/sbin/|" "$f" \
			>"$tmp/${f##*/}"
	done
	for inst in "capstore@dev-disk-by\\x2did-ata\\x2dDISK\\x2dpart1.service" \
		    "capstore@dev-vdb.service" \
		    "capstore-image@var-lib-capstore-store.img.service"; do
		echo "\$ systemd-analyze verify $inst"
		if ! out=$(cd "$tmp" && MANPATH="$dir/$p/share/man" \
			   systemd-analyze verify "./$inst" 2>&1) || [ -n "$out" ]; then
			echo "${out:-exit status non-zero}"
			rc=1
		fi
	done
	rm -rf "$tmp"
	[ "$rc" = 0 ] && echo "no complaint"
	return "$rc"
}

can_udev() {
	command -v udevadm >/dev/null || return 1
	udevadm verify --help >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && [ -e /sys/class/mem/null ] &&
		unshare -m true 2>/dev/null
}

step_udev() {
	local dir=${1:?udev DIR} p=${PREFIX#/} rules tmp
	rules=$dir/$p/lib/udev/rules.d
	if udevadm verify --help >/dev/null 2>&1; then
		echo "\$ udevadm verify $rules/60-capstore.rules"
		udevadm verify "$rules/60-capstore.rules"
		return
	fi
	# systemd 252 (Debian 12) has no udevadm verify. udevadm test parses
	# every rules file and names each bad line (FILE:LINE ...); in a mount
	# namespace of its own our rules are the only ones in /etc, and /run
	# is a scratch tmpfs, so the host sees nothing of it.
	# The commented examples are checked too, as 61-examples.rules.
	echo "udevadm $(udevadm --version) has no verify: udevadm test with only these rules in /etc/udev/rules.d"
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-udev.XXXXXX")
	mkdir "$tmp/rules"
	cp "$rules/60-capstore.rules" "$tmp/rules/"
	sed -n 's/^#\(SUBSYSTEM\)/\1/p' "$rules/60-capstore.rules" \
		>"$tmp/rules/61-examples.rules"
	unshare -m sh -c '
		mount --make-rprivate / &&
		mount --bind "$1" /etc/udev/rules.d &&
		mount -t tmpfs tmpfs /run &&
		udevadm test --action=add /sys/class/mem/null' sh "$tmp/rules" \
		>"$tmp/log" 2>&1 || { cat "$tmp/log"; rm -rf "$tmp"; return 1; }
	grep -F "capstore.rules" "$tmp/log" || true
	for f in 60-capstore.rules 61-examples.rules; do
		if ! grep -qF "Reading rules file: /etc/udev/rules.d/$f" "$tmp/log"; then
			echo "udevadm test did not read $f"
			rm -rf "$tmp"
			return 1
		fi
	done
	if grep -E "^/etc/udev/rules.d/6[01]-[a-z]*.rules:" "$tmp/log"; then
		rm -rf "$tmp"
		return 1
	fi
	echo "examples:"
	cat "$tmp/rules/61-examples.rules"
	rm -rf "$tmp"
	echo "60-capstore.rules and its examples: parsed, no complaint"
}

step_help() {
	local dir=${1:?help DIR} p=${PREFIX#/} cs sub rc=0 subs
	cs=$dir/$p/sbin/capstore
	subs=$(subcommands "$cs")
	[ -n "$subs" ] || die "capstore --help lists no command"
	echo "subcommands: $(echo $subs)"
	check() {
		local want=$1 re=$2 got=0
		shift 2
		"$cs" "$@" >/tmp/capstore-help.$$ 2>&1 || got=$?
		if [ "$got" != "$want" ] || ! grep -qE -- "$re" /tmp/capstore-help.$$; then
			echo "capstore $*: exit status $got (want $want), output:"
			sed 's/^/  | /' /tmp/capstore-help.$$
			rc=1
		fi
	}
	check 0 '^Usage: capstore ' --help
	check 2 'unknown command' no-such-command
	check 2 '' 
	for sub in $subs; do
		check 0 "^Usage: capstore $sub" "$sub" --help
		check 0 "^Usage: capstore $sub" help "$sub"
		check 2 "unknown option '--no-such-option'.*--help" "$sub" --no-such-option
		[ -f "$dir/$p/share/man/man8/capstore-$sub.8" ] || {
			echo "no man page capstore-$sub(8)"
			rc=1
		}
	done
	rm -f /tmp/capstore-help.$$
	[ "$rc" = 0 ] && echo "every subcommand: --help 0, help CMD 0, bad option 2, man page"
	return "$rc"
}

step_outside() {
	local dir=${1:?outside DIR OUT} out=${2:?outside DIR OUT} p=${PREFIX#/}
	local flags
	export PKG_CONFIG_LIBDIR=$dir/$p/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dir
	unset PKG_CONFIG_PATH
	flags=$(pkg-config --cflags --libs --static libcap-store)
	echo "pkg-config --cflags --libs --static libcap-store: $flags"
	# shellcheck disable=SC2086
	${CC:-cc} -std=c11 -Wall -Wextra -Werror -static -o "$out" \
		"$top/selftests/install/outside.c" $flags
}

step_dkms() {
	local out=${1:?dkms OUT} tmp ver kver ko
	command -v dkms >/dev/null || die "no dkms (apt-get install dkms)"
	ver=$("$top/scripts/dkms.sh" version)
	kver=$(module_kver)
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-dkms.XXXXXX")
	mkdir -p "$tmp/tree" "$tmp/install"
	"$top/scripts/dkms.sh" tree "$tmp/src/capstore-$ver"
	echo "DKMS source tree:"
	(cd "$tmp/src" && find . | sort | sed 's/^/  /')
	# No signing: dkms would make a key in /var/lib/dkms.
	export sign_file=/nonexistent
	local opt=(-m capstore -v "$ver" -k "$kver" --sourcetree "$tmp/src"
		   --dkmstree "$tmp/tree" --installtree "$tmp/install")
	dkms add "${opt[@]}"
	dkms build "${opt[@]}" || {
		cat "$tmp/tree/capstore/$ver/build/make.log" 2>/dev/null
		rm -rf "$tmp"
		return 1
	}
	dkms status --dkmstree "$tmp/tree" -m capstore
	ko=$tmp/tree/capstore/$ver/$kver/$(uname -m)/module/capstore.ko
	[ -f "$ko" ] || { echo "no $ko"; rm -rf "$tmp"; return 1; }
	cp "$ko" "$out"
	rm -rf "$tmp"
	echo "vermagic: $(modinfo -F vermagic "$out")"
	[ "$(modinfo -F vermagic "$out" | cut -d' ' -f1)" = "$kver" ]
}

step_docs() {
	make -C "$top/Documentation" --no-print-directory check
}

# Alone: every step, as TAP.
all_steps() {
	local tmp n=0 fail=0
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-install.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	t() {
		local desc=$1
		shift
		n=$((n + 1))
		if "$@" >"$tmp/log" 2>&1; then
			echo "ok $n - $desc"
		else
			echo "not ok $n - $desc"
			sed 's/^/# /' "$tmp/log"
			fail=$((fail + 1))
		fi
	}
	skip() {
		n=$((n + 1))
		echo "ok $n - $1 # SKIP $2"
	}
	echo "1..8"
	t "make install DESTDIR" "$0" stage "$tmp/root"
	t "the installed tree" "$0" tree "$tmp/root"
	if command -v systemd-analyze >/dev/null; then
		t "systemd units verify" "$0" units "$tmp/root"
	else
		skip "systemd units verify" "no systemd-analyze"
	fi
	if "$0" can-udev; then
		t "udev rules parse" "$0" udev "$tmp/root"
	else
		skip "udev rules parse" "no udevadm verify, and udevadm test cannot run here"
	fi
	t "every subcommand's --help and usage errors" "$0" help "$tmp/root"
	t "an outside program builds with pkg-config" "$0" outside "$tmp/root" "$tmp/outside"
	if command -v dkms >/dev/null; then
		t "the module builds through DKMS" "$0" dkms "$tmp/dkms.ko"
	else
		skip "the module builds through DKMS" "no dkms"
	fi
	if command -v sphinx-build >/dev/null; then
		t "the documentation builds without warnings" "$0" docs
	else
		skip "the documentation builds without warnings" "no sphinx-build"
	fi
	[ "$fail" = 0 ]
}

case ${1:-all} in
all) all_steps ;;
stage | tree | units | udev | help | outside | dkms | docs)
	step=$1
	shift
	"step_$step" "$@"
	;;
can-udev) can_udev ;;
*) sed -n '3,29s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
