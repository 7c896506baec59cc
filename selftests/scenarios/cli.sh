# SPDX-License-Identifier: GPL-2.0
# The online subcommands of the capstore tool (/usr/bin/capstore in the
# guest): attach by device and of an image file through a loop device that
# detach releases again, status (human and JSON: parsed in the guest by
# selftests/cli, and on the host by python3 or jq from what the guest
# wrote to the disk "json"), set (values land in sysfs, bad ones are
# refused), ls (empty root, a segment made by the counter example, a tree
# made by selftests/cli, dead and weak capabilities in a store populated on
# the host), checkpoint (--wait), detach by path, name and id, and the
# error messages: unformatted disk, store not attached, already attached,
# capabilities still open.
disk store 64M
disk blank 16M
disk pop 16M
disk json 1M

host "format the store" "$CAPSTORE" format -L "cli test" "$(img store)"

# csimg (userspace-tools/tests/) writes a store with nodes, weak and dead
# capabilities straight into the image. Built here, into $WORK, so as not
# to race with "make -C userspace-tools check" running alongside.
build_csimg() {
	cc -std=c11 -D_GNU_SOURCE -O1 -I"$SRCDIR/include" \
		-I"$SRCDIR/include/uapi" -I"$SRCDIR/userspace-tools" \
		-o "$WORK/csimg" "$SRCDIR/userspace-tools/tests/csimg.c" \
		"$SRCDIR/userspace-tools/image.c" \
		"$SRCDIR/userspace-tools/bitmap.c" \
		"$SRCDIR/userspace-tools/util.c" \
		"$SRCDIR/common/verify.c" "$SRCDIR/common/crc32c.c"
}
host "build csimg" build_csimg
host "format the store to populate" "$CAPSTORE" format "$(img pop)"
host "populate it (nodes, weak and dead slots)" "$WORK/csimg" populate "$(img pop)"
host "the populated store is clean" "$CAPSTORE" fsck "$(img pop)"

boot --file "$SRCDIR/libcap-store/examples/counter:/usr/bin/counter" <<'EOT'
# run WANT_RC REGEX CMD...: CMD exits WANT_RC and its output (stdout and
# stderr, kept in /tmp/o) has a line matching REGEX ("" for any).
# (Its variables must not be tap_check's: sh has no local variables.)
run() {
	run_want=$1 run_re=$2
	shift 2
	run_rc=0
	"$@" >/tmp/o 2>&1 || run_rc=$?
	echo "\$ $*"
	cat /tmp/o
	if [ "$run_rc" != "$run_want" ]; then
		echo "exit status $run_rc, expected $run_want"
		return 1
	fi
	if [ -n "$run_re" ] && ! grep -Eq -- "$run_re" /tmp/o; then
		echo "no line matches /$run_re/"
		return 1
	fi
}

# silent CMD...: CMD exits 0 and prints nothing.
silent() {
	run 0 "" "$@" && [ ! -s /tmp/o ]
}

# bound LOOPNAME: the loop device is bound to a file; unbound: it is not.
bound() {
	[ -e "/sys/block/$1/loop/backing_file" ]
}

unbound() {
	! bound "$1"
}

# bound_autoclear LOOPNAME: bound, with the autoclear flag.
bound_autoclear() {
	[ -n "$1" ] && bound "$1" &&
		[ "$(cat "/sys/block/$1/loop/autoclear")" = 1 ]
}

# loop_of FILE: the name of the loop device backed by FILE.
loop_of() {
	losetup -a | sed -n "s|^/dev/\(loop[0-9]*\):.*$1.*|\1|p" | head -n 1
}

# no_loop_for FILE: no loop device is backed by FILE.
no_loop_for() {
	losetup -a
	[ -z "$(loop_of "$1")" ]
}

# save_json N: capstore status --json into the Nth 64 KiB of disk "json",
# for the host to parse after the boot.
save_json() {
	capstore status --json >/tmp/status.json || return 1
	cat /tmp/status.json
	dd if=/tmp/status.json of="$(dev json)" bs=65536 seek="$1" conv=notrunc,fsync 2>/dev/null
}

# sysfs_is ATTR VALUE: /sys/fs/capstore/vda/ATTR holds VALUE.
sysfs_is() {
	echo "$1: $(cat "/sys/fs/capstore/vda/$1"), expected $2"
	[ "$(cat "/sys/fs/capstore/vda/$1")" = "$2" ]
}

cs_load_module
S=$(dev store)
B=$(dev blank)
P=$(dev pop)

tap_check "status: no store attached" run 0 "^no store is attached" capstore status
tap_check "status --json: no store attached" run 0 '^\[\]$' capstore status --json
tap_check "attach of an unformatted disk fails" \
	run 1 "^capstore attach: $B: .*not a capstore store \(format it with capstore format\)$" capstore attach "$B"
tap_check "detach of a disk that is not attached fails" \
	run 1 "no store is attached on this device" capstore detach "$B"
tap_check "detach of an id that is not attached fails" \
	run 1 "no store with id 42 is attached" capstore detach 42
tap_check "checkpoint of a store that is not attached fails" \
	run 1 "no store with id 42 is attached" capstore checkpoint 42

# ---------------------------------------------------------------- by device
tap_check "attach by device path" \
	run 0 "^attached $S as store [0-9]+ \(vda\)$" capstore attach "$S"
ID=$(cat /sys/fs/capstore/vda/id)
tap_check "attach of an attached device fails" \
	run 1 "already attached or in use" capstore attach "$S"
tap_check "status" run 0 "^store vda$" capstore status
tap_check "status: id" run 0 "^  id +$ID$" capstore status
tap_check "status: device" run 0 "^  device +$S \([0-9]+:[0-9]+\)$" capstore status
tap_check "status: label" run 0 '^  label +"cli test"$' capstore status
tap_check "status: size" run 0 "^  size +64.00 MiB \(16384 blocks of 4096 bytes\)$" capstore status
tap_check "status: free" run 0 "^  free +[0-9.]+ MiB \([0-9]+ blocks, [0-9.]+%\)$" capstore status
tap_check "status: objects" run 0 "^  objects +1$" capstore status
tap_check "status: open capabilities" run 0 "^  open capabilities +0$" capstore status
tap_check "status: not shut down" run 0 "^  shut down +no$" capstore status
tap_check "status: uuid" run 0 "^  uuid +[0-9a-f-]{36}$" capstore status
tap_check "status: durations" run 0 "^  max stall +[0-9.]+ (ns|us|ms|s)$" capstore status
tap_check "status DEVICE" run 0 "^store vda$" capstore status "$S"
tap_check "status NAME" run 0 "^store vda$" capstore status vda
tap_check "status ID" run 0 "^store vda$" capstore status "$ID"
tap_check "status --json" run 0 '^    "name": "vda",$' capstore status --json
tap_check "status --json: device" run 0 "^    \"device\": \"$S\",$" capstore status --json
tap_check "status --json: id" run 0 "^    \"id\": $ID,$" capstore status --json
tap_check "status --json: label" run 0 '^    "label": "cli test",$' capstore status --json
tap_check "status --json: shutdown" run 0 '^    "shutdown": false,?$' capstore status --json
tap_check "status --json: size" run 0 '^    "size_bytes": 67108864,$' capstore status --json
tap_check "status --json: seq" run 0 '^    "seq": [0-9]+,?$' capstore status --json
tap_check "status --json: an array" run 0 '^\[$' capstore status --json
tap_check "status: checkpoint interval" run 0 "^  checkpoint interval +5000 ms$" capstore status
tap_check "status: dirty limit" run 0 "^  dirty limit +[0-9.]+ [KMG]iB \([0-9]+ bytes\)$" capstore status
tap_check "status: section timeout" run 0 "^  section timeout +2000 ms$" capstore status
tap_check "status: checkpoints taken" run 0 "^  checkpoints taken +[0-9]+$" capstore status
tap_check "status: failed checkpoints" run 0 "^  failed checkpoints +0$" capstore status
tap_check "status: last checkpoint took" run 0 "^  last checkpoint took +[0-9.]+ (ns|us|ms|s)$" capstore status
tap_check "status: longest checkpoint" run 0 "^  longest checkpoint +[0-9.]+ (ns|us|ms|s)$" capstore status
tap_check "status: last stall" run 0 "^  last stall +[0-9.]+ (ns|us|ms|s)$" capstore status
tap_check "status: written" run 0 "^  written +[0-9.]+ (B|KiB|MiB|GiB) \([0-9]+ blocks\)$" capstore status
tap_check "status: dirty" run 0 "^  dirty +[0-9.]+ (B|KiB|MiB|GiB)( \([0-9]+ bytes\))?$" capstore status
tap_check "status --json: interval_ms" run 0 '^    "interval_ms": 5000,$' capstore status --json
tap_check "status --json: dirty_limit_bytes" run 0 '^    "dirty_limit_bytes": [0-9]+,$' capstore status --json
tap_check "status --json: failed_checkpoints" run 0 '^    "failed_checkpoints": 0,$' capstore status --json
tap_check "status --json: written_bytes" run 0 '^    "written_bytes": [0-9]+,$' capstore status --json
tap_check "status --json of one store, for the host" save_json 0

DL=$(cat /sys/fs/capstore/vda/dirty_limit_bytes)
tap_check "set STORE SETTING=VALUE... prints nothing" \
	silent capstore set "$S" interval=1000 dirty-limit=64M section-timeout=500
tap_check "  ... interval_ms in sysfs" sysfs_is interval_ms 1000
tap_check "  ... dirty_limit_bytes in sysfs" sysfs_is dirty_limit_bytes 67108864
tap_check "  ... section_timeout_ms in sysfs" sysfs_is section_timeout_ms 500
tap_check "  ... status shows them" run 0 "^  checkpoint interval +1000 ms$" capstore status vda
tap_check "set STORE prints the settings" run 0 "^dirty-limit=67108864$" capstore set "$ID"
tap_check "set --interval off -v" run 0 "^interval=0 \(was 1000\)$" capstore set --interval off -v vda
tap_check "  ... interval_ms in sysfs" sysfs_is interval_ms 0
tap_check "set with a bad value is a usage error" \
	run 2 "^capstore set: interval '1' is out of range: .*\(try 'capstore set --help'\)$" capstore set vda section-timeout=1 interval=1
tap_check "  ... and changes nothing" sysfs_is section_timeout_ms 500
tap_check "set of an unknown setting is a usage error" run 2 "unknown setting 'interval_s'" capstore set vda interval_s=5
tap_check "set of a store that is not attached fails" run 1 "no store with id 42 is attached" capstore set 42 interval=1000
tap_check "set back to the defaults" silent capstore set vda interval=5s dirty-limit="$DL" section-timeout=2000
tap_check "  ... interval_ms in sysfs" sysfs_is interval_ms 5000
tap_check "  ... dirty_limit_bytes in sysfs" sysfs_is dirty_limit_bytes "$DL"
tap_check "ls of the empty root node prints nothing" silent capstore ls "$S"
tap_check "ls -l of the empty root node: the header" run 0 "^SLOT KIND" capstore ls -l "$ID"
tap_check "ls of an empty slot fails" run 1 "slot 5 of the root node is empty" capstore ls vda 5
tap_check "checkpoint DEVICE" \
	run 0 "^store $ID \(vda\): checkpoint [0-9]+ committed$" capstore checkpoint "$S"
tap_check "checkpoint --seq-only ID" run 0 '^[0-9]+$' capstore checkpoint --seq-only "$ID"
SEQ=$(cat /tmp/o)
tap_check "the checkpoint is the one sysfs shows" [ "$SEQ" = "$(cat /sys/fs/capstore/vda/seq)" ]
tap_check "checkpoint --wait DEVICE" \
	run 0 "^store $ID \(vda\): checkpoint [0-9]+ committed$" capstore checkpoint --wait "$S"
tap_check "checkpoint --no-wait is a usage error (checkpoints always wait)" \
	run 2 "unknown option '--no-wait'" capstore checkpoint --no-wait "$S"

tap_check "counter makes a segment in root slot 0" counter --store-id "$ID"
tap_check "ls shows the segment" \
	run 0 "^ 0 segment rwmgd +[0-9]+ 4.00 KiB$" capstore ls "$S"
tap_check "ls -l shows its size in bytes" \
	run 0 "^   0 segment rwmgd +[0-9]+ 4096 \(4.00 KiB\)$" capstore ls -l "$S"
tap_check "ls into a segment fails" \
	run 1 "slot 0 of the root node holds a segment, not a node" capstore ls "$S" 0
tap_check "status: two objects" run 0 "^  objects +2$" capstore status vda

export CS_TEST_DEV=$S
tap_run cli -t detach_busy -t ls_tree -t checkpoint_seq -t status_json \
	-t set_settings -t set_needs_root -t checkpoint_wait

tap_check "detach by device path" \
	run 0 "^detached store $ID \(vda\)$" capstore detach "$S"
tap_check "status: nothing attached after detach" run 0 "^no store is attached" capstore status
tap_check "detach again fails" run 1 "no store is attached on this device" capstore detach "$S"
tap_check "attach --id-only" run 0 '^[0-9]+$' capstore attach --id-only "$S"
ID=$(cat /tmp/o)
tap_check "the tree is still there" run 0 "^ 3 node " capstore ls "$ID"
tap_check "detach by id" run 0 "^detached store $ID \(vda\)$" capstore detach "$ID"
tap_check "attach by device path again" run 0 "" capstore attach -i "$S"
tap_check "detach -q by name prints nothing" silent capstore detach -q vda
tap_check "  ... and detaches" run 0 "^no store is attached" capstore status

# ---------------------------------------------------------------- image file
tap_check "format an image file in the guest" \
	run 0 "" capstore format --size 64M -L image /tmp/x.img
tap_check "attach the image file" \
	run 0 "^attached /tmp/x.img on /dev/loop[0-9]+ as store [0-9]+ \(loop[0-9]+\)$" capstore attach /tmp/x.img
L=$(sed -n 's|.* on /dev/\(loop[0-9]*\) as .*|\1|p' /tmp/o)
note "image attached on $L"
tap_check "the loop device is bound, with autoclear" bound_autoclear "$L"
tap_check "losetup shows it" run 0 "/tmp/x.img" losetup -a
tap_check "attach of the attached image file fails" \
	run 1 "already attached as store [0-9]+ \($L\)" capstore attach /tmp/x.img
tap_check "status FILE: the backing file" \
	run 0 "^  backing file +/tmp/x.img$" capstore status /tmp/x.img
tap_check "status --json FILE: the backing file" \
	run 0 '"backing_file": "/tmp/x.img",' capstore status --json /tmp/x.img
tap_check "status FILE: the label" run 0 '^  label +"image"$' capstore status /tmp/x.img
tap_check "ls FILE" silent capstore ls /tmp/x.img
tap_check "checkpoint FILE" run 0 "checkpoint [0-9]+ committed" capstore checkpoint /tmp/x.img
tap_check "detach FILE" run 0 "^released /dev/$L$" capstore detach /tmp/x.img
tap_check "the loop device is released" unbound "$L"
tap_check "losetup shows nothing for the image" no_loop_for /tmp/x.img
tap_check "detach of a detached image file fails" \
	run 1 "not attached \(no loop device is backed by it\)" capstore detach /tmp/x.img
tap_check "the image is still a clean store" run 0 "clean" capstore fsck /tmp/x.img

tap_check "attach the image file again" run 0 "" capstore attach --id-only /tmp/x.img
IID=$(cat /tmp/o)
L=$(loop_of /tmp/x.img)
tap_check "  ... on a loop device" bound_autoclear "$L"
tap_check "detach it by id releases the loop device too" \
	run 0 "^released /dev/loop[0-9]+$" capstore detach "$IID"
tap_check "  ... which is unbound" unbound "$L"

# Autoclear alone frees the loop device when the module lets go of it.
tap_check "attach the image file once more" run 0 "" capstore attach -i /tmp/x.img
CS_CLI_STORE_ID=$(cat /tmp/o) CS_CLI_LOOP=$(loop_of /tmp/x.img) tap_run cli -t loop_autoclear
tap_check "  ... and no loop device is left" no_loop_for /tmp/x.img

truncate -s 16M /tmp/blank.img
tap_check "attach of an unformatted image file fails" \
	run 1 "not a capstore store \(format it with capstore format\)" capstore attach /tmp/blank.img
tap_check "  ... and leaves no loop device behind" no_loop_for /tmp/blank.img

# ---------------------------------------------------- a populated store
tap_check "attach the populated store" run 0 "^attached $P as store" capstore attach "$P"
tap_check "attach the first store too" run 0 '^[0-9]+$' capstore attach -i "$S"
tap_check "status --json of two stores, for the host" save_json 1
tap_check "  ... detach the first store" silent capstore detach -q "$S"
tap_check "ls: the root node" run 0 "^ 0 segment rwmgd +2 64.00 KiB$" capstore ls "$P"
tap_check "ls: a node with restricted rights" run 0 "^ 1 node    rw-g-  +4$" capstore ls "$P"
tap_check "ls: a read-map segment" run 0 "^ 2 segment r-m--  +5 4.00 KiB$" capstore ls "$P"
tap_check "ls: a weak node" run 0 "^ 3 node    r--g-W +130$" capstore ls "$P"
tap_check "ls PATH: a weak segment" run 0 "^ 0 segment r-m--W +3 1.17 MiB$" capstore ls "$P" 1
tap_check "ls PATH: a dead capability (old generation)" run 0 "^ 7 dead$" capstore ls "$P" 1
tap_check "ls PATH: a dead capability (destroyed object)" run 0 "^ 8 dead$" capstore ls "$P" 1
tap_check "ls PATH: a node" run 0 "^31 node    rw-gd  +1$" capstore ls "$P" 1
tap_check "ls -l PATH: dead" run 0 "^   7 dead " capstore ls -l "$P" 1
tap_check "ls -l PATH: used slots" run 0 "^  31 node .* 4 of 32 slots used$" capstore ls -l "$P" 1
tap_check "ls PATH through a cycle" run 0 "^ 3 node    r--g-W +130$" capstore ls "$P" 1/31
tap_check "ls of the empty weak node" silent capstore ls "$P" 3
tap_check "ls into a dead capability fails" \
	run 1 "slot 7 of node 1 holds a dead capability" capstore ls "$P" 1/7
tap_check "status: objects of the populated store" run 0 "^  objects +7$" capstore status "$P"
tap_check "detach the populated store" run 0 "^detached store" capstore detach "$P"
EOT

host "fsck the store after the VM" "$CAPSTORE" fsck "$(img store)"
host "fsck the populated store after the VM" "$CAPSTORE" fsck "$(img pop)"

# check_json N STORES: the Nth 64 KiB of disk "json" (save_json N in the
# guest) is JSON, an array of STORES stores with the settings and figures.
check_json() {
	local f=$WORK/status-$1.json
	dd if="$(img json)" bs=65536 skip="$1" count=1 status=none | tr -d '\000' >"$f"
	cat "$f"
	if command -v python3 >/dev/null; then
		python3 -m json.tool "$f" >/dev/null || return 1
		python3 - "$f" "$2" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list) and len(d) == int(sys.argv[2]), d
for s in d:
    for k in ("id", "size_bytes", "free_bytes", "objects", "interval_ms",
              "dirty_limit_bytes", "section_timeout_ms", "seq",
              "checkpoints", "failed_checkpoints", "last_checkpoint_ns",
              "max_checkpoint_ns", "last_stall_ns", "max_stall_ns",
              "blocks_written", "written_bytes", "dirty_bytes"):
        assert type(s[k]) is int, (k, s.get(k))
    assert s["shutdown"] is False
    assert s["written_bytes"] == 4096 * s["blocks_written"]
    assert s["interval_ms"] == 5000 and s["section_timeout_ms"] == 2000
assert any(s["name"] == "vda" and s["label"] == "cli test" for s in d), d
print("valid JSON:", len(d), "stores")
EOF
	elif command -v jq >/dev/null; then
		jq -e "length == $2 and all(.[]; (.interval_ms | type) == \"number\")" "$f"
	else
		echo "no python3, no jq"
		return 1
	fi
}
host "status --json written in the guest parses (one store)" check_json 0 1
host "status --json written in the guest parses (two stores)" check_json 1 2
