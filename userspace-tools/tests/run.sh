#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of the capstore command; no VM needed: the offline subcommands
# (format, fsck, dump) in full, with their progress lines (on a terminal
# made by script(1), and never elsewhere); the online ones (attach, detach,
# checkpoint, status, set, ls) as far as they go without the module:
# command lines, the "module not loaded" hint, and status and set over a
# fake sysfs tree (CAPSTORE_SYSFS). selftests/scenarios/cli.sh tests them in the VM. Prints
# TAP. Run by `make -C userspace-tools check`, which builds
# the sanitized binary and the test helper first.
#
# Environment:
#   CAPSTORE         binary under test (default ./capstore-asan)
#   CAPSTORE_STATIC  the static build, checked to be static (./capstore)
#   CSIMG            the image surgery helper (./tests/csimg)
#   FUZZ_RUNS        random mutations to try (default 200)
#   TIMEOUT          seconds allowed per command (default 30)
set -u

CAPSTORE=${CAPSTORE:-./capstore-asan}
CAPSTORE_STATIC=${CAPSTORE_STATIC:-./capstore}
CSIMG=${CSIMG:-./tests/csimg}
FUZZ_RUNS=${FUZZ_RUNS:-200}
TIMEOUT=${TIMEOUT:-30}

# A sanitizer report must not look like fsck's "damage found" (exit 1).
export ASAN_OPTIONS=exitcode=86:detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=exitcode=87:print_stacktrace=1:halt_on_error=1

tmp=$(mktemp -d "${TMPDIR:-/tmp}/capstore-tests.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

ntest=0
nfail=0
rc=0

pass() {
	ntest=$((ntest + 1))
	echo "ok $ntest - $1"
}

fail() {
	ntest=$((ntest + 1))
	nfail=$((nfail + 1))
	echo "not ok $ntest - $1"
	shift
	for line in "$@"; do
		echo "# $line"
	done
	for f in "$tmp/out" "$tmp/err"; do
		[ -s "$f" ] && sed -n '1,15s/^/#   /p' "$f"
	done
	return 0
}

# cs ARGS...: run the tool; rc, $tmp/out, $tmp/err.
cs() {
	timeout "$TIMEOUT" "$CAPSTORE" "$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

sanitizer_report() {
	grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$@"
}

# expect NAME RC [REGEX]: check the last cs run.
expect() {
	local name=$1 want=$2 re=${3:-}

	if sanitizer_report "$tmp/err"; then
		fail "$name" "sanitizer report"
	elif [ "$rc" -ne "$want" ]; then
		fail "$name" "exit status $rc, expected $want"
	elif [ -n "$re" ] && ! grep -qE -- "$re" "$tmp/out" "$tmp/err"; then
		fail "$name" "output does not match /$re/"
	else
		pass "$name"
	fi
}

# check NAME RC [REGEX] -- ARGS...: cs ARGS, then expect.
check() {
	local name=$1 want=$2 re=$3

	shift 4
	cs "$@"
	expect "$name" "$want" "$re"
}

csimg() {
	"$CSIMG" "$@" 2>"$tmp/csimg.err" || {
		echo "# csimg $* failed: $(cat "$tmp/csimg.err")"
		return 1
	}
}

# ------------------------------------------------------------------ CLI

check "capstore --help lists the commands" 0 "fsck .*check" -- --help
check "capstore without a command is a usage error" 2 "" --
check "capstore with an unknown command is a usage error" 2 "unknown command" -- frobnicate
check "capstore --version" 0 "^capstore " -- --version
check "capstore help fsck" 0 "Usage: capstore fsck" -- help fsck
for sub in format fsck dump; do
	check "$sub --help exits 0" 0 "Usage: capstore $sub" -- "$sub" --help
	check "$sub -h exits 0" 0 "Usage: capstore $sub" -- "$sub" -h
	check "$sub --bogus is a usage error" 2 "unknown option '--bogus'.*--help" -- "$sub" --bogus
	check "$sub -Z is a usage error" 2 "unknown option '-Z'" -- "$sub" -Z
	check "$sub without a device is a usage error" 2 "missing DEVICE" -- "$sub"
	check "$sub with two devices is a usage error" 2 "too many" -- "$sub" a b
done
check "fsck --header without a value is a usage error" 2 "needs an argument" -- fsck x --header
check "fsck --header 0 is a usage error" 2 "bad sequence" -- fsck --header 0 x
check "format --size with --blocks is a usage error" 2 "not both" -- format --size 1M --blocks 300 "$tmp/never.img"
check "format --slots 1 is a usage error" 2 "header slots" -- format --slots 1 --size 1M "$tmp/never.img"
check "format --slots 17 is a usage error" 2 "header slots" -- format --slots 17 --size 1M "$tmp/never.img"
check "format --uuid garbage is a usage error" 2 "bad uuid" -- format --uuid 1234 --size 1M "$tmp/never.img"
check "format with a 33-byte label is a usage error" 2 "label" -- format -L 123456789012345678901234567890123 --size 1M "$tmp/never.img"
check "format --size garbage is a usage error" 2 "bad size" -- format --size 12Q "$tmp/never.img"
if [ ! -e "$tmp/never.img" ]; then
	pass "usage errors create nothing"
else
	fail "usage errors create nothing"
fi

if command -v readelf >/dev/null; then
	if [ -x "$CAPSTORE_STATIC" ] && ! readelf -l "$CAPSTORE_STATIC" | grep -q INTERP &&
	   "$CAPSTORE_STATIC" --help >/dev/null; then
		pass "the installed binary is statically linked and runs"
	else
		fail "the installed binary is statically linked and runs"
	fi
else
	pass "the installed binary is statically linked and runs # SKIP no readelf"
fi

# ------------------------------------------------------- online commands

check "capstore --help lists the online commands" 0 "checkpoint +checkpoint an attached store" -- --help
for sub in attach detach checkpoint status set ls; do
	check "$sub --help exits 0" 0 "Usage: capstore $sub" -- "$sub" --help
	check "$sub -h exits 0" 0 "Usage: capstore $sub" -- "$sub" -h
	check "help $sub" 0 "Usage: capstore $sub" -- help "$sub"
	check "$sub --bogus is a usage error" 2 "unknown option '--bogus'.*--help" -- "$sub" --bogus
	check "$sub -Z is a usage error" 2 "unknown option '-Z'" -- "$sub" -Z
done
check "attach without a device is a usage error" 2 "missing DEVICE or FILE" -- attach
check "attach with two devices is a usage error" 2 "too many" -- attach a b
for sub in detach checkpoint set ls; do
	check "$sub without a store is a usage error" 2 "missing STORE" -- "$sub"
done
check "detach with two stores is a usage error" 2 "too many" -- detach 0 1
check "checkpoint with two stores is a usage error" 2 "too many" -- checkpoint 0 1
check "status with two stores is a usage error" 2 "too many" -- status 0 1
check "ls with three arguments is a usage error" 2 "too many" -- ls 0 1 2
check "ls with a bad path is a usage error" 2 "bad path 'a/b'" -- ls 0 a/b
check "ls with slot 32 is a usage error" 2 "bad path '3/32'" -- ls 0 3/32
check "ls with a negative slot is a usage error" 2 "bad path" -- ls 0 -- -1
check "checkpoint --no-wait is a usage error (checkpoints always wait)" 2 "unknown option '--no-wait'" -- checkpoint --no-wait 0
check "set with only a setting is a usage error" 2 "missing STORE before 'interval=1000'" -- set interval=1000
check "set with an unknown setting is a usage error" 2 "unknown setting 'speed'" -- set 0 speed=3
check "set with a word that is no setting is a usage error" 2 "'fast' is not SETTING=VALUE" -- set 0 fast
check "set with an empty value is a usage error" 2 "no value for interval" -- set 0 interval=
check "set interval=abc is a usage error" 2 "bad interval 'abc'" -- set 0 interval=abc
check "set interval=5 (below 10 ms) is a usage error" 2 "interval '5' is out of range: 0 or off" -- set 0 interval=5
check "set interval=2d is a usage error" 2 "bad interval '2d'" -- set 0 interval=2d
check "set --interval 25h is a usage error" 2 "interval '25h' is out of range" -- set --interval 25h 0
check "set dirty-limit=100 (below 4 KiB) is a usage error" 2 "dirty-limit '100' is out of range: 0, or 4K..4P" -- set 0 dirty-limit=100
check "set dirty-limit=5P is a usage error" 2 "dirty-limit '5P' is out of range" -- set 0 dirty-limit=5P
check "set dirty-limit=1.5G is a usage error" 2 "bad dirty-limit '1.5G'" -- set 0 dirty-limit=1.5G
check "set section-timeout=11min is a usage error" 2 "section-timeout '11min' is out of range: 0..600000" -- set 0 section-timeout=11min
check "set section-timeout=off is a usage error" 2 "bad section-timeout 'off'" -- set 0 section-timeout=off
check "set of one setting twice is a usage error" 2 "interval given twice" -- set --interval 10 0 interval_ms=20

# Nothing here has the module: every online command says so (unless this
# machine does have /dev/capstore, where these would touch real stores).
truncate -s 1M "$tmp/online.img"
if [ ! -e /dev/capstore ]; then
	hint="module not loaded \(modprobe capstore\)"
	check "attach without the module fails with the hint" 1 "$hint" -- attach "$tmp/online.img"
	expect "  ... naming /dev/capstore" 1 "/dev/capstore: No such file"
	check "attach --id-only without the module fails" 1 "$hint" -- attach --id-only /dev/null
	check "detach without the module fails with the hint" 1 "$hint" -- detach 0
	check "detach of a file without the module fails" 1 "$hint" -- detach "$tmp/online.img"
	check "checkpoint without the module fails with the hint" 1 "$hint" -- checkpoint 0
	check "checkpoint --wait without the module fails with the hint" 1 "$hint" -- checkpoint --wait 0
	check "ls without the module fails with the hint" 1 "$hint" -- ls 0
	check "ls -l of a path without the module fails" 1 "$hint" -- ls -l 0 3/0
	export CAPSTORE_SYSFS="$tmp/no-sysfs"
	check "status without the module fails with the hint" 1 "$hint" -- status
	check "status --json without the module fails with the hint" 1 "$hint" -- status --json
	check "status of a store without the module fails" 1 "$hint" -- status 0
	check "set without the module fails with the hint" 1 "$hint" -- set 0 interval=1000
	check "set (print) without the module fails with the hint" 1 "$hint" -- set 0
	unset CAPSTORE_SYSFS
	if command -v losetup >/dev/null && [ -n "$(losetup -j "$tmp/online.img" 2>/dev/null)" ]; then
		fail "a failed attach leaves no loop device behind"
	else
		pass "a failed attach leaves no loop device behind"
	fi
else
	for t in attach detach checkpoint ls status set; do
		pass "$t without the module # SKIP /dev/capstore exists here"
	done
fi

# status over a fake sysfs tree: what it shows, what it does with missing
# and unknown files, JSON escaping, and how a STORE argument is resolved.
sys="$tmp/sys"
put() { mkdir -p "$(dirname "$sys/$1")" && printf '%b' "$2" >"$sys/$1"; }
mkdir -p "$sys/fs/capstore"
export CAPSTORE_SYSFS="$sys"
check "status with no store attached" 0 "no store is attached" -- status
check "status --json with no store attached prints []" 0 "^\[\]$" -- status --json
check "status 0 with no store attached fails" 1 "no store with id 0 is attached" -- status 0
s=fs/capstore/vda
put $s/id '0\n'
put $s/dev '254:0\n'
put $s/uuid '01234567-89ab-cdef-0123-456789abcdef\n'
put $s/label 'a "q" \\ b\x01\n'
put $s/seq '3\n'
put $s/blocks '16384\n'
put $s/free_blocks '16000\n'
put $s/objects '1\n'
put $s/open_caps '0\n'
put $s/checkpoints '2\n'
put $s/last_checkpoint_ns '1234567\n'
put $s/last_stall_ns '12345\n'
put $s/max_stall_ns '99\n'
put $s/blocks_written '10\n'
put $s/shutdown '0\n'
put $s/interval_ms '5000\n'
put $s/dirty_limit_bytes '16777216\n'
put $s/section_timeout_ms '2000\n'
put $s/failed_checkpoints '1\n'
put $s/max_checkpoint_ns '2500000000\n'
put $s/dirty_bytes '1536\n'
put $s/last_checkpoint_pages '12\n'
put $s/sections_open '0\n'
put $s/sections_broken '0\n'
put $s/mode 'two words\n'
put $s/bytes '\x01\xff\xc3\xa9\n'
put dev/block/254:0/uevent 'MAJOR=254\nMINOR=0\nDEVNAME=vda\n'
s=fs/capstore/loop0
put $s/id '1\n'
put $s/dev '7:0\n'
put $s/label '123\n'
put $s/blocks '256\n'
put $s/shutdown '1\n'
put $s/interval_ms '0\n'
put $s/dirty_limit_bytes '0\n'
put $s/section_timeout_ms '2000\n'
put dev/block/7:0/uevent 'MAJOR=7\nMINOR=0\nDEVNAME=loop0\n'
put block/loop0/dev '7:0\n'
put block/loop0/loop/backing_file "$tmp/online.img\n"
put block/loop0/loop/autoclear '1\n'
mkdir -p "$sys/fs/capstore/not-a-store"
check "status lists every store" 0 "^store vda$" -- status
expect "  ... and the one on a loop device" 0 "^store loop0$"
expect "  ... with the device name" 0 "device +/dev/vda \(254:0\)"
expect "  ... the loop device's backing file" 0 "backing file +$tmp/online.img"
expect "  ... human sizes" 0 "size +64.00 MiB \(16384 blocks of 4096 bytes\)"
expect "  ... free space" 0 "free +62.50 MiB \(16000 blocks, 97.6%\)"
expect "  ... durations" 0 "last checkpoint took +1.235 ms"
expect "  ... the escaped label" 0 'label +"a \\"q\\" \\\\ b\\x01"'
expect "  ... the last checkpoint" 0 "last checkpoint seq +3$"
expect "  ... the shut-down flag" 0 "shut down +yes"
expect "  ... unknown files under their names" 0 "^  mode +two words$"
expect "  ... the checkpoint interval" 0 "^  checkpoint interval +5000 ms$"
expect "  ... the dirty limit" 0 "^  dirty limit +16.00 MiB \(16777216 bytes\)$"
expect "  ... the section timeout" 0 "^  section timeout +2000 ms$"
expect "  ... failed checkpoints" 0 "^  failed checkpoints +1$"
expect "  ... the longest checkpoint" 0 "^  longest checkpoint +2.500 s$"
expect "  ... the last stall" 0 "^  last stall +12.3 us$"
expect "  ... bytes written" 0 "^  written +40.00 KiB \(10 blocks\)$"
expect "  ... dirty bytes" 0 "^  dirty +1.50 KiB \(1536 bytes\)$"
expect "  ... an interval of 0 is off" 0 "^  checkpoint interval +off \(no scheduled checkpoints\)$"
expect "  ... a dirty limit of 0" 0 "^  dirty limit +0 \(a checkpoint as soon as anything is dirty\)$"
if grep -qE '^  (interval_ms|dirty_limit_bytes|section_timeout_ms|dirty_bytes|failed_checkpoints) ' "$tmp/out"; then
	fail "  ... known files only under their labels"
else
	pass "  ... known files only under their labels"
fi
if [ "$(grep -c '^store ' "$tmp/out")" = 2 ]; then
	pass "  ... and nothing that is not a store"
else
	fail "  ... and nothing that is not a store"
fi
if grep -A8 '^store loop0' "$tmp/out" | grep -qE '^  (objects|free) '; then
	fail "  ... missing files are left out"
else
	pass "  ... missing files are left out"
fi
check "status --json" 0 '"name": "vda"' -- status --json
expect "  ... integers as numbers" 0 '"free_blocks": 16000,'
expect "  ... derived sizes" 0 '"size_bytes": 67108864,'
expect "  ... labels as strings even when numeric" 0 '"label": "123"'
expect "  ... shutdown as a boolean" 0 '"shutdown": true'
expect "  ... escaped strings" 0 '"label": "a \\"q\\" \\\\ b\\u0001"'
expect "  ... invalid UTF-8 escaped, valid UTF-8 kept" 0 '"bytes": "\\u0001\\u00ff'$'\xc3\xa9''"'
expect "  ... unknown files" 0 '"mode": "two words"'
expect "  ... the settings" 0 '"interval_ms": 5000,'
expect "  ... bytes written" 0 '"written_bytes": 40960,'
if command -v python3 >/dev/null; then
	if python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [s["id"] for s in d] == [0, 1]
assert d[0]["label"] == "a \"q\" \\ b\x01"
v = d[0]
assert (v["interval_ms"], v["dirty_limit_bytes"], v["section_timeout_ms"]) == (5000, 16777216, 2000)
assert (v["checkpoints"], v["failed_checkpoints"], v["dirty_bytes"]) == (2, 1, 1536)
assert (v["last_checkpoint_ns"], v["max_checkpoint_ns"]) == (1234567, 2500000000)
assert (v["last_stall_ns"], v["max_stall_ns"]) == (12345, 99)
assert (v["blocks_written"], v["written_bytes"]) == (10, 40960)
assert (v["size_bytes"], v["free_bytes"]) == (67108864, 65536000)
assert d[1]["shutdown"] is True and d[1]["interval_ms"] == 0
' <"$tmp/out" 2>"$tmp/err"; then
		pass "  ... is valid JSON"
	else
		fail "  ... is valid JSON"
	fi
else
	pass "  ... is valid JSON # SKIP no python3"
fi
check "status 1 picks a store by id" 0 "^store loop0$" -- status 1
if grep -q "^store vda" "$tmp/out"; then fail "  ... and only that store"; else pass "  ... and only that store"; fi
check "status vda picks a store by name" 0 "^store vda$" -- status vda
check "status FILE picks the store on the loop device backed by it" 0 "^store loop0$" -- status "$tmp/online.img"
check "status --json STORE is an array of one" 0 '^\[$' -- status --json vda
check "status of a store that is not attached fails" 1 "no store with id 7" -- status 7
check "status of a missing path fails" 1 "no such store, device or file" -- status "$tmp/nothing"
: >"$tmp/plain-online.img"
check "status of a file no loop device backs fails" 1 "not attached \(no loop device" -- status "$tmp/plain-online.img"
check "status of a directory fails" 1 "not a store id, store name, block device or image file" -- status "$tmp"
bdev=$(find /dev -maxdepth 1 -type b 2>/dev/null | head -n 1)
if [ -n "$bdev" ]; then
	devt=$(printf '%d:%d' "0x$(stat -c %t "$bdev")" "0x$(stat -c %T "$bdev")")
	check "status of a device no store is on fails" 1 "no store is attached on this device" -- status "$bdev"
	put fs/capstore/blk/id '5\n'
	put fs/capstore/blk/dev "$devt\n"
	check "status DEVICE picks the store by device number" 0 "^store blk$" -- status "$bdev"
	rm -rf "$sys/fs/capstore/blk"
else
	pass "status DEVICE picks the store by device number # SKIP no block device"
fi

# set over the same tree: the files are plain files here, so what set
# writes is what a test reads back (the module's own checks are tested in
# the VM, selftests/scenarios/cli.sh).
v=$sys/fs/capstore/vda
settings() { echo "$(cat "$v/interval_ms") $(cat "$v/dirty_limit_bytes") $(cat "$v/section_timeout_ms")"; }
check "set STORE prints the settings" 0 "^interval=5000$" -- set vda
expect "  ... the dirty limit" 0 "^dirty-limit=16777216$"
expect "  ... the section timeout" 0 "^section-timeout=2000$"
check "set STORE SETTING=VALUE..." 0 "" -- set vda interval=1000 dirty-limit=256M section-timeout=3s
if [ "$(settings)" = "1000 268435456 3000" ] && [ ! -s "$tmp/out" ]; then
	pass "  ... writes the values, in ms and bytes, and prints nothing"
else
	fail "  ... writes the values, in ms and bytes, and prints nothing" "got $(settings)"
fi
check "set --interval --dirty-limit --section-timeout" 0 "" -- set --interval 2min --dirty-limit 0 --section-timeout 0 0
if [ "$(settings)" = "120000 0 0" ]; then
	pass "  ... writes the values"
else
	fail "  ... writes the values" "got $(settings)"
fi
check "set interval=off -v" 0 "^interval=0 \(was 120000\)$" -- set -v vda interval=off
check "set with the sysfs names" 0 "" -- set "$tmp/online.img" interval_ms=7000 dirty_limit_bytes=8192 section_timeout_ms=10
if [ "$(cat "$sys/fs/capstore/loop0/interval_ms")" = 7000 ] && [ "$(settings)" = "0 0 0" ]; then
	pass "  ... by image file: only that store changes"
else
	fail "  ... by image file: only that store changes"
fi
before=$(settings)
check "a bad value among good ones is a usage error" 2 "dirty-limit '1' is out of range" -- set vda interval=1000 dirty-limit=1
if [ "$(settings)" = "$before" ]; then
	pass "  ... and changes nothing"
else
	fail "  ... and changes nothing" "$before -> $(settings)"
fi
check "set of a store that is not attached fails" 1 "no store with id 9 is attached" -- set 9 interval=1000
rm "$v/section_timeout_ms"
check "set of a setting the module lacks fails" 1 "setting section_timeout_ms to 5: .*the module has no such setting" -- set vda interval=2000 section-timeout=5
expect "  ... and says the one before it was changed" 1 "the settings before it were changed"
check "set STORE with a setting missing prints the others, fails" 1 "reading section_timeout_ms" -- set vda
expect "  ... the others" 1 "^interval=2000$"
printf '2000\n' >"$v/section_timeout_ms"
chmod a-w "$v/interval_ms"
if [ "$(id -u)" != 0 ]; then
	check "set without write access fails with the hint" 1 "needs root" -- set vda interval=3000
else
	pass "set without write access fails with the hint # SKIP root writes anyway"
fi
chmod u+w "$v/interval_ms"
unset CAPSTORE_SYSFS

# ------------------------------------------------------------ format

# size name extra-format-args
for spec in "256K min" "8M small" "8M slots2 --slots 2" "8M slots16 --slots 16" \
	    "1G 1g" "200G 200g"; do
	# shellcheck disable=SC2086 # split on purpose
	set -- $spec
	size=$1 name=$2
	shift 2
	img="$tmp/$name.img"
	check "format $size ($name)" 0 "formatted" -- format --size "$size" "$@" "$img"
	check "fsck of a new $size store is clean" 0 "clean, checkpoint 1, 1 objects" -- fsck "$img"
	check "fsck -v of a new $size store" 0 "1 live \(0 segments, 1 nodes, 0 forwarders\)" -- fsck -v "$img"
	check "dump of a new $size store" 0 "oid 1: node gen 1 \[root\]" -- dump --blocks "$img"
done
check "256K is 64 blocks, the minimum" 0 "nblocks +64 " -- dump "$tmp/min.img"
check "slots 16: data starts at block 17" 0 "data_start +17$" -- dump "$tmp/slots16.img"
check "1 GiB: space map of height 1" 0 "space map: height 1, 8 leaves" -- dump "$tmp/1g.img"
check "200 GiB: space map of height 2" 0 "space map: height 2, 1600 leaves" -- dump "$tmp/200g.img"
kb=$(du -k "$tmp/200g.img" | cut -f1)
if [ "$kb" -lt 1024 ]; then
	pass "format keeps a 200 GiB image sparse (${kb} KiB)"
else
	fail "format keeps a 200 GiB image sparse" "${kb} KiB allocated"
fi

check "format refuses an existing store" 1 "already holds a capstore store.*--force" -- format "$tmp/small.img"
check "the refused store is untouched" 0 "clean" -- fsck "$tmp/small.img"
uuid_before=$(grep -o 'uuid [0-9a-f-]*' "$tmp/out")
check "format --force overwrites a store" 0 "formatted" -- format --force "$tmp/small.img"
cs fsck "$tmp/small.img"
uuid_after=$(grep -o 'uuid [0-9a-f-]*' "$tmp/out")
if [ "$rc" -eq 0 ] && [ "$uuid_before" != "$uuid_after" ]; then
	pass "the forced store is new and clean"
else
	fail "the forced store is new and clean" "$uuid_before / $uuid_after rc $rc"
fi
check "format --uuid --label" 0 "formatted" -- format --size 1M --uuid 0123ABCD-4567-89ab-cdef-0123456789ab -L lab.el "$tmp/named.img"
check "dump shows the uuid and label" 0 "label +\"lab.el\"" -- dump "$tmp/named.img"
expect "dump shows the uuid given" 0 "uuid +0123abcd-4567-89ab-cdef-0123456789ab"
check "format of a missing file without --size fails" 1 "does not exist" -- format "$tmp/missing.img"
check "format of a store below 64 blocks fails" 1 "too small" -- format --size 200K "$tmp/tiny.img"
if [ ! -e "$tmp/tiny.img" ]; then
	pass "a failed format removes the file it created"
else
	fail "a failed format removes the file it created"
fi
check "format of a directory fails" 1 "not a regular file or block device" -- format "$tmp"
truncate -s 3M "$tmp/plain.img"
check "format of an existing file uses its size" 0 "blocks +768 of" -- format "$tmp/plain.img"
check "format grows an existing file to --size" 0 "blocks +1024 of" -- format --force --size 4M "$tmp/plain.img"

# format --zero: every block of the store is written, with zeroes but for
# the few that format writes after; no discard, no holes.
# nonzero_blocks IMG: the numbers of the blocks of IMG that hold anything.
nonzero_blocks() {
	python3 -c '
import sys
bs = 4096
with open(sys.argv[1], "rb") as f:
    i = 0
    while True:
        b = f.read(bs)
        if not b:
            break
        if b.count(0) != len(b):
            print(i)
        i += 1
' "$1" | tr '\n' ' '
}
# fill IMG SIZE: IMG holds SIZE bytes of 0xff.
fill() {
	rm -f "$1"
	head -c "$2" /dev/zero | tr '\0' '\377' >"$1"
}
if command -v python3 >/dev/null; then
	fill "$tmp/z.img" 8M
	check "format of a file full of 0xff: old data survives without --zero" 0 "formatted" -- format "$tmp/z.img"
	n=$(nonzero_blocks "$tmp/z.img" | wc -w)
	if [ "$n" -gt 2000 ]; then pass "  ... ($n of 2048 blocks non-zero)"; else fail "  ... ($n of 2048 blocks non-zero)"; fi
	fill "$tmp/z.img" 8M
	CAPSTORE_PROGRESS_DELAY_MS=0 cs format --zero "$tmp/z.img"
	expect "format --zero" 0 "^  zeroed +every block, 8388608 bytes$"
	if [ ! -s "$tmp/err" ]; then
		pass "  ... prints no progress when stderr is not a terminal"
	else
		fail "  ... prints no progress when stderr is not a terminal"
	fi
	# 0 superblock, 2 header of checkpoint 1 (slot 1), 5 object table,
	# 6 space map leaf: blocks 1, 3, 4 are the other header slots.
	got=$(nonzero_blocks "$tmp/z.img")
	if [ "$got" = "0 2 5 6 " ]; then
		pass "  ... leaves only what format wrote: blocks $got"
	else
		fail "  ... leaves only what format wrote" "non-zero blocks: $got"
	fi
	check "  ... and the store is clean" 0 "clean, checkpoint 1" -- fsck "$tmp/z.img"
	kb=$(du -k "$tmp/z.img" | cut -f1)
	if [ "$kb" -ge 8192 ]; then pass "  ... and not sparse (${kb} KiB)"; else fail "  ... and not sparse (${kb} KiB)"; fi
	fill "$tmp/z.img" 8M
	check "format --zero --size 4M of an 8 MiB file" 0 "zeroed +every block, 4194304 bytes" -- format --zero --size 4M "$tmp/z.img"
	if [ "$(head -c 4M "$tmp/z.img" | tail -c 2M | tr -d '\0' | wc -c)" = 0 ] &&
	   [ "$(tail -c 4M "$tmp/z.img" | tr -d '\377' | wc -c)" = 0 ]; then
		pass "  ... zeroes the store, not the rest of the file"
	else
		fail "  ... zeroes the store, not the rest of the file"
	fi
	check "format --zero refuses an existing store" 1 "already holds a capstore store" -- format --zero "$tmp/z.img"
	check "  ... and leaves it alone" 0 "clean" -- fsck "$tmp/z.img"
	check "format --zero of a new file" 0 "zeroed" -- format --zero --size 1M "$tmp/znew.img"
	check "  ... is a clean store" 0 "clean" -- fsck "$tmp/znew.img"
else
	pass "format --zero # SKIP no python3"
fi
check "fsck of a missing file fails" 1 "No such file" -- fsck "$tmp/missing.img"
: >"$tmp/empty.img"
check "fsck of an empty file: damage" 1 "corrupt superblock: image smaller than one block" -- fsck "$tmp/empty.img"
head -c 1048576 /dev/zero >"$tmp/zero.img"
check "fsck of zeroes: not a store" 1 "corrupt superblock: bad magic" -- fsck "$tmp/zero.img"
check "dump of zeroes fails" 1 "bad magic" -- dump "$tmp/zero.img"

# --------------------------------------------- a store with objects in it

for name in small 1g; do
	img="$tmp/$name.img"
	cp --sparse=always "$tmp/$name.img" "$tmp/$name-fresh.img"
	if csimg populate "$img" >/dev/null; then
		pass "populate the $name store (checkpoint 2)"
	else
		fail "populate the $name store (checkpoint 2)"
	fi
	check "fsck of the populated $name store is clean" 0 "clean, checkpoint 2, 7 objects" -- fsck "$img"
	check "fsck -v counts segments, nodes and dead slots ($name)" 0 "node slots +8 in use, 2 dead" -- fsck -v "$img"
	expect "fsck -v lists the dead slots ($name)" 0 "node 4 slot 7: dead capability to segment 2 gen 99 \(object is gen 1\)"
	check "fsck --header 1 checks the older checkpoint ($name)" 0 "clean, checkpoint 1, 1 objects" -- fsck --header 1 "$img"
	check "fsck --header 01 is decimal, 0x2 hexadecimal ($name)" 0 "checking checkpoint 1" -- fsck --header 01 "$img"
	check "fsck --header 0x2 ($name)" 0 "checking checkpoint 2" -- fsck --header 0x2 "$img"
	check "fsck --header 7: no such checkpoint ($name)" 1 "no valid header with seq 7" -- fsck --header 7 "$img"
	check "dump of the populated $name store" 0 "slot  7: oid 2 gen 99 segment rw--- dead" -- dump "$img"
	expect "dump shows weak rights ($name)" 0 "slot  0: oid 3 gen 3 segment r-m--W$"
	expect "dump shows a height-2 segment ($name)" 0 "data height 2, root block [0-9]+ crc 0x[0-9a-f]+, 5 blocks \(2 pages\)"
	check "dump --blocks lists page runs ($name)" 0 "pages: 0-2@[0-9]+-[0-9]+ 5@" -- dump --blocks "$img"
	check "dump --header 1 ($name)" 0 "checkpoint 1 \(slot 1\)" -- dump --header 1 "$img"
done

# ------------------------------------------------------------- progress

# Progress lines go to a terminal only: script(1) gives the command one.
# CAPSTORE_PROGRESS_DELAY_MS=0 shows them however short the work.
# on_tty CMD...: run CMD on a terminal; what it printed there in $tmp/tty.
on_tty() {
	local cmd

	cmd=$(printf '%q ' "$@")
	CAPSTORE_PROGRESS_DELAY_MS=${CAPSTORE_PROGRESS_DELAY_MS:-0} timeout "$TIMEOUT" \
		script -qec "$cmd" /dev/null >"$tmp/tty" 2>&1 </dev/null
	rc=$?
}
# tty_has REGEX: $tmp/tty has it (control characters made visible: \r as
# ^M, escape as ^[).
tty_has() {
	cat -v "$tmp/tty" | grep -qE -- "$1"
}
if command -v script >/dev/null; then
	on_tty "$CAPSTORE" fsck "$tmp/1g.img"
	if [ "$rc" = 0 ] && tty_has '\^Mcapstore fsck: checking checkpoint 2: [0-9]+% \([0-9]+ of [0-9]+ blocks\)\^\[\[K'; then
		pass "fsck on a terminal shows its progress"
	else
		fail "fsck on a terminal shows its progress" "exit $rc: $(cat -v "$tmp/tty" | head -c 600)"
	fi
	if tty_has '\^M\^\[\[K.*clean, checkpoint 2' || tty_has '\^M\^\[\[K\^Mclean'; then
		pass "  ... and erases it before it reports"
	else
		fail "  ... and erases it before it reports" "$(cat -v "$tmp/tty" | head -c 600)"
	fi
	on_tty sh -c "$(printf '%q ' "$CAPSTORE") dump $(printf '%q' "$tmp/1g.img") >$(printf '%q' "$tmp/dump.out")"
	if [ "$rc" = 0 ] && tty_has 'capstore dump: dumping checkpoint 2: [0-9]+%' &&
	   grep -q "^oid 1: node gen 1 \[root\]" "$tmp/dump.out" && ! grep -q capstore "$tmp/dump.out"; then
		pass "dump to a file shows its progress on the terminal"
	else
		fail "dump to a file shows its progress on the terminal" "exit $rc: $(cat -v "$tmp/tty" | head -c 600)"
	fi
	on_tty "$CAPSTORE" dump "$tmp/1g.img"
	if [ "$rc" = 0 ] && ! tty_has 'dumping checkpoint' && tty_has 'oid 1: node gen 1'; then
		pass "dump to the terminal shows no progress line"
	else
		fail "dump to the terminal shows no progress line" "exit $rc"
	fi
	fill "$tmp/z.img" 8M
	on_tty "$CAPSTORE" format --zero "$tmp/z.img"
	if [ "$rc" = 0 ] && tty_has '\^Mcapstore format: zeroing .*z.img: [0-9]+% \([0-9.]+ [KM]iB of 8.00 MiB\)\^\[\[K' &&
	   tty_has '\^M\^\[\[Kformatted'; then
		pass "format --zero on a terminal shows its progress, then erases it"
	else
		fail "format --zero on a terminal shows its progress, then erases it" "exit $rc: $(cat -v "$tmp/tty" | head -c 600)"
	fi
	CAPSTORE_PROGRESS_DELAY_MS=60000 on_tty "$CAPSTORE" fsck "$tmp/1g.img"
	if [ "$rc" = 0 ] && ! tty_has 'checking checkpoint 2:'; then
		pass "short work shows no progress line (the delay)"
	else
		fail "short work shows no progress line (the delay)"
	fi
else
	pass "progress on a terminal # SKIP no script(1)"
fi
CAPSTORE_PROGRESS_DELAY_MS=0 cs fsck "$tmp/1g.img"
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ] && ! grep -q "%" "$tmp/out"; then
	pass "fsck prints no progress when not on a terminal"
else
	fail "fsck prints no progress when not on a terminal"
fi
CAPSTORE_PROGRESS_DELAY_MS=0 cs dump "$tmp/1g.img"
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then
	pass "dump prints no progress when not on a terminal"
else
	fail "dump prints no progress when not on a terminal"
fi

# -------------------------------------------------------------- damage

# damage NAME BASE KIND RC REGEX [FSCK-ARGS...]: copy BASE, csimg corrupt
# KIND ("@N" in REGEX becomes the block csimg names), fsck expecting RC and
# REGEX; then dump must survive the same image.
damage() {
	local name=$1 base=$2 kind=$3 want=$4 re=$5 what

	shift 5
	cp --sparse=always "$tmp/$base.img" "$tmp/d.img"
	what=$(csimg corrupt "$tmp/d.img" "$kind") || {
		fail "$name" "csimg corrupt $kind failed"
		return
	}
	re=${re//@N/$what}
	# dump first, so that $tmp/out and $tmp/err are fsck's afterwards
	timeout "$TIMEOUT" "$CAPSTORE" dump "$tmp/d.img" >/dev/null 2>"$tmp/derr"
	what=$?
	if sanitizer_report "$tmp/derr" || [ "$what" -gt 1 ]; then
		fail "dump survives: $name" "dump exit $what"
	fi
	cs fsck "$@" "$tmp/d.img"
	expect "$name" "$want" "$re"
}

damage "superblock bit flip" small-fresh sb-bitflip 1 "corrupt superblock: superblock checksum mismatch"
damage "superblock wrong magic" small-fresh sb-magic 1 "corrupt superblock: bad magic"
damage "bad crc in the only header: no valid header" small-fresh hdr-crc 1 "no valid checkpoint header"
expect "  ... and the slot says why" 1 "slot 1 \(block 2\): invalid: header checksum mismatch"
damage "bad crc in the newest header: falls back to the older one" small hdr-crc 0 "checking checkpoint 1 \(slot 1\)"
expect "  ... and warns about the torn slot" 0 "warning: header slot 2: header checksum mismatch"
damage "  ... which --strict counts as damage" small hdr-crc 1 "corrupt header slot 2: header checksum mismatch" --strict
cp --sparse=always "$tmp/small-fresh.img" "$tmp/d.img"
csimg corrupt "$tmp/d.img" hdr-dup >/dev/null && csimg corrupt "$tmp/d.img" hdr-crc >/dev/null
check "fresh store, seq 2 torn: falls back to seq 1" 0 "checking checkpoint 1" -- fsck "$tmp/d.img"
damage "a valid header in the wrong slot" small hdr-wrong-slot 1 "corrupt header slot 3: header in the wrong slot"
cp --sparse=always "$tmp/small.img" "$tmp/d.img"
truncate -s 4M "$tmp/d.img"
check "truncated image" 1 "store larger than the device \(truncated\?\)" -- fsck "$tmp/d.img"
for base in small 1g; do
	damage "space map bit cleared for a used block ($base)" $base smap-clear 1 "block @N used but marked free"
	damage "space map bit set for a free block ($base)" $base smap-leak 1 "block @N marked used but unreferenced \(leaked\)"
done
damage "space map bit cleared (fresh 200 GiB store)" 200g smap-clear 1 "block @N used but marked free"
damage "object record with a bad kind" small otable-kind 1 "corrupt object record: oid 1: unknown object kind"
damage "object record beyond next_oid" small-fresh record-beyond 1 "corrupt object record: oid @N: record at or beyond next_oid is not all zero"
damage "node slot with unknown rights" small slot-rights 1 "corrupt node 1 slot 0: slot with unknown rights"
damage "node slot naming an id beyond next_oid" small slot-beyond 1 "corrupt node 1 slot 0: object id 205 at or beyond next_oid 200"
damage "block pointer past the end" small bptr-past-end 1 "corrupt segment 2 page 0: block @N: block pointer outside the data area"
damage "block pointer past the end (1 GiB)" 1g bptr-past-end 1 "corrupt segment 2 page 0: block @N: block pointer outside the data area"
damage "block referenced twice" small double-ref 1 "block [0-9]+ referenced twice \(again as segment 2 page 1\)"
damage "segment page checksum" small page-flip 1 "corrupt segment 2 page 0: block @N: block checksum mismatch"
damage "--no-data skips segment pages" small page-flip 0 "clean" --no-data
damage "header nobjects wrong" small nobjects 1 "header nobjects 8 but the object table holds 7 live objects"
damage "header used_blocks wrong" small used-blocks 1 "header used_blocks [0-9]+ but the space map marks [0-9]+ blocks used"
damage "--max-errors 1 caps the report" small double-ref 1 "1 more problems not shown" --max-errors 1

# ------------------------------------------------------------------ fuzz

# Random mutations of metadata blocks, mostly with checksums resealed so
# they reach the field checks. fsck must exit 0 or 1, dump 0 or 1, within
# the timeout, without a sanitizer report.
fuzz() {
	local base=$1 runs=$2 seed0=$3 bad=0 i seed frc drc

	for ((i = 0; i < runs; i++)); do
		seed=$((seed0 + i))
		cp --sparse=always "$tmp/$base.img" "$tmp/f.img"
		if ! "$CSIMG" fuzz "$tmp/f.img" "$seed" >"$tmp/fuzz.log" 2>&1; then
			echo "# seed $seed: csimg fuzz failed: $(tail -1 "$tmp/fuzz.log")"
			bad=$((bad + 1))
			continue
		fi
		timeout "$TIMEOUT" "$CAPSTORE" fsck "$tmp/f.img" >/dev/null 2>"$tmp/ferr"
		frc=$?
		timeout "$TIMEOUT" "$CAPSTORE" dump -b "$tmp/f.img" >/dev/null 2>"$tmp/derr"
		drc=$?
		if [ "$frc" -gt 1 ] || [ "$drc" -gt 1 ] ||
		   sanitizer_report "$tmp/ferr" "$tmp/derr"; then
			echo "# seed $seed ($base): fsck exit $frc, dump exit $drc" \
			     "(124: timeout, 86: ASan, 87: UBSan)"
			sed 's/^/#   /' "$tmp/fuzz.log"
			grep -hE -m3 'Sanitizer|runtime error' "$tmp/ferr" "$tmp/derr" | sed 's/^/#   /'
			bad=$((bad + 1))
		fi
	done
	return $bad
}

small_runs=$((FUZZ_RUNS * 3 / 4))
if fuzz small "$small_runs" 1; then
	pass "fuzz: $small_runs mutated 8 MiB stores, fsck and dump survive"
else
	fail "fuzz: $small_runs mutated 8 MiB stores, fsck and dump survive"
fi
if fuzz 1g $((FUZZ_RUNS - small_runs)) 100001; then
	pass "fuzz: $((FUZZ_RUNS - small_runs)) mutated 1 GiB stores, fsck and dump survive"
else
	fail "fuzz: $((FUZZ_RUNS - small_runs)) mutated 1 GiB stores, fsck and dump survive"
fi

echo "1..$ntest"
[ "$nfail" -eq 0 ]
