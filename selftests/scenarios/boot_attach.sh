# SPDX-License-Identifier: GPL-2.0
# Attaching at boot, detaching at shutdown: etc/systemd/capstore@.service
# and capstore-image@.service. The VM has no systemd, so the host takes
# the command lines the units run (ExecStart=, ExecStop=) from the unit
# files, expands systemd's specifiers (%i, %I, %f) for an instance and
# @sbindir@, and the guest runs them as systemd would: in order, stopping
# at the first failure unless the line starts with "-". Checked: the
# store attaches at "boot" (with a uevent of subsystem capstore, which the
# udev tuning rules match); at "shutdown" the final checkpoint commits what
# was written without any sync, and the store is detached (for an image,
# the loop device released); a store still in use at shutdown cannot be
# detached, but the checkpoint before the detach has committed everything.
disk store 32M

host "format the store" "$CAPSTORE" format -L boot "$(img store)"

# unit_cmds UNIT KEY PATH: the KEY= lines of etc/systemd/UNIT.in for the
# instance of PATH, one command line each, "-" prefix kept.
unit_cmds() {
	local unit=$1 key=$2 path=$3 inst unesc line
	# systemd-escape --path: drop the leading "/", "-" -> \x2d, "/" -> "-".
	inst=${path#/}
	inst=${inst//-/\\x2d}
	inst=${inst//\//-}
	if command -v systemd-escape >/dev/null; then
		[ "$(systemd-escape --path "$path")" = "$inst" ] ||
			cs_die "unit_cmds: systemd-escape disagrees for $path"
	fi
	unesc=${inst//-//}
	unesc=${unesc//\\x2d/-}
	sed -n "s/^$key=//p" "$SRCDIR/etc/systemd/$unit.in" | while IFS= read -r line; do
		line=${line//@sbindir@//usr/bin}
		line=${line//%i/$inst}
		line=${line//%I/$unesc}
		line=${line//%f//$unesc}
		case $line in
		*%* | *@*@*) cs_die "unit_cmds: $unit: unknown specifier in: $line" ;;
		esac
		printf '%s\n' "$line"
	done
}

cmds() {
	unit_cmds "$@" >"$WORK/$4" || return 1
	echo "$1 $2 for $3:"
	cat "$WORK/$4"
	[ -s "$WORK/$4" ]
}
host "capstore@.service: its ExecStart= for /dev/vda" \
	cmds capstore@.service ExecStart /dev/vda dev-start
host "capstore@.service: its ExecStop= for /dev/vda" \
	cmds capstore@.service ExecStop /dev/vda dev-stop
host "capstore-image@.service: its ExecStart= for /tmp/store.img" \
	cmds capstore-image@.service ExecStart /tmp/store.img img-start
host "capstore-image@.service: its ExecStop= for /tmp/store.img" \
	cmds capstore-image@.service ExecStop /tmp/store.img img-stop

build_outside() {
	cc -std=c11 -Wall -Wextra -Werror -static \
		-I"$SRCDIR/libcap-store/include" -I"$SRCDIR/include/uapi" \
		-o "$WORK/outside" "$SRCDIR/selftests/install/outside.c" \
		"$SRCDIR/libcap-store/libcap-store.a"
}
host "build the outside program" build_outside

# The guest's helpers.
cat >"$WORK/unit.sh" <<'END_OF_HELPERS'
# unit CMDFILE: run a unit's command lines as systemd does.
unit() {
	while IFS= read -r line; do
		ignore=
		case $line in
		-*) ignore=1; line=${line#-} ;;
		esac
		echo "+ $line"
		if sh -c "$line" </dev/null; then
			:
		elif [ -n "$ignore" ]; then
			echo "(failure ignored: the line starts with -)"
		else
			echo "unit failed"
			return 1
		fi
	done <"$1"
}

unit_fails() {
	! unit "$1"
}

id_of() {
	cat "/sys/fs/capstore/$1/id"
}

seq_of() {
	cat "/sys/fs/capstore/$1/seq"
}

# visit N NAME: the outside program on store NAME counts visit N.
visit() {
	outside "$(id_of "$2")" >/tmp/o 2>&1 || { cat /tmp/o; return 1; }
	cat /tmp/o
	grep -qx "outside: ok, visit $1" /tmp/o
}

# hold N NAME: the outside program counts visit N, no sync, and keeps its
# capabilities open (pid in $HOLD) until unhold.
hold() {
	rm -f /tmp/hold
	outside --hold "$(id_of "$2")" >/tmp/hold 2>&1 &
	HOLD=$!
	i=0
	while [ $i -lt 50 ]; do
		i=$((i + 1))
		grep -qs holding /tmp/hold && break
		sleep 0.2
	done
	cat /tmp/hold
	grep -qx "outside: holding, visit $1" /tmp/hold
}

unhold() {
	kill "$HOLD"
	wait "$HOLD" || true
}

attached() {
	[ -d "/sys/fs/capstore/$1" ]
}

not_attached() {
	! attached "$1"
}

seq_above() {
	echo "checkpoint $(seq_of "$1"), was $2"
	[ "$(seq_of "$1")" -gt "$2" ]
}

# detached_above NAME SEQ: the kernel says NAME was detached at a
# checkpoint newer than SEQ.
detached_above() {
	dmesg | grep "capstore: $1: detached store"
	d=$(dmesg | sed -n "s/.*capstore: $1: detached store [0-9]* at checkpoint \([0-9]*\)$/\1/p" | tail -n 1)
	[ -n "$d" ] && [ "$d" -gt "$2" ]
}

uevent_seen() {
	sleep 0.3
	cat /tmp/uevents
	grep -qx "$1" /tmp/uevents
}

loop_of() {
	losetup -a | sed -n "s|^/dev/\(loop[0-9]*\):.*$1.*|\1|p" | head -n 1
}

loop_released() {
	! [ -e "/sys/block/$1/loop/backing_file" ]
}
END_OF_HELPERS

FILES=(--file "$WORK/dev-start:/etc/units/dev-start"
       --file "$WORK/dev-stop:/etc/units/dev-stop"
       --file "$WORK/img-start:/etc/units/img-start"
       --file "$WORK/img-stop:/etc/units/img-stop"
       --file "$WORK/unit.sh:/etc/units/unit.sh"
       --file "$WORK/outside:/usr/bin/outside")

boot --name "boot 1: attach at boot, final checkpoint at shutdown" "${FILES[@]}" <<'EOT'
. /etc/units/unit.sh
cs_load_module
uevent sh -c 'echo "$ACTION $SUBSYSTEM $DEVPATH" >>/tmp/uevents' &
UEV=$!
sleep 0.2

tap_check "boot: capstore@dev-vda.service starts" unit /etc/units/dev-start
tap_check "  ... the store is attached" attached vda
tap_check "  ... with an add uevent of subsystem capstore" \
	uevent_seen "add capstore /fs/capstore/vda"
tap_check "a visit, checkpointed" visit 1 vda
# From here on only the unit's stop makes anything durable.
echo 0 >/sys/fs/capstore/vda/interval_ms
tap_check "a visit nobody syncs; its capabilities stay open" hold 2 vda
SEQ=$(seq_of vda)
tap_check "shutdown with the store in use: the stop fails (detach: busy)" \
	unit_fails /etc/units/dev-stop
tap_check "  ... the store stays attached" attached vda
tap_check "  ... but the checkpoint before the detach committed" seq_above vda "$SEQ"
unhold

tap_check "a third visit, not synced" hold 3 vda
unhold
SEQ=$(seq_of vda)
tap_check "shutdown: capstore@dev-vda.service stops" unit /etc/units/dev-stop
tap_check "  ... the store is detached" not_attached vda
tap_check "  ... at a checkpoint newer than before the stop" detached_above vda "$SEQ"
tap_check "  ... with a remove uevent" uevent_seen "remove capstore /fs/capstore/vda"
kill "$UEV" 2>/dev/null || true

# The same for a store in an image file (on the guest's tmpfs).
tap_check "format an image file" capstore format --size 16M -L image /tmp/store.img
tap_check "boot: capstore-image@tmp-store.img.service starts" unit /etc/units/img-start
LOOP=$(loop_of /tmp/store.img)
note "image attached on $LOOP"
tap_check "  ... the store is attached, on a loop device" attached "$LOOP"
tap_check "a visit" visit 1 "$LOOP"
echo 0 >"/sys/fs/capstore/$LOOP/interval_ms"
tap_check "a visit, not synced" hold 2 "$LOOP"
unhold
tap_check "shutdown: capstore-image@tmp-store.img.service stops" unit /etc/units/img-stop
tap_check "  ... the store is detached" not_attached "$LOOP"
tap_check "  ... and the loop device released" loop_released "$LOOP"
tap_check "boot again: the unit starts" unit /etc/units/img-start
LOOP=$(loop_of /tmp/store.img)
tap_check "  ... the visit no one synced is there" visit 3 "$LOOP"
tap_check "shutdown" unit /etc/units/img-stop
EOT

host "fsck the store after shutdown" "$CAPSTORE" fsck "$(img store)"

boot --name "boot 2: the store as the shutdown left it" "${FILES[@]}" <<'EOT'
. /etc/units/unit.sh
cs_load_module
tap_check "boot: capstore@dev-vda.service starts" unit /etc/units/dev-start
tap_check "the visits no one synced are there (visit 4 now)" visit 4 vda
tap_check "shutdown: capstore@dev-vda.service stops" unit /etc/units/dev-stop
tap_check "  ... the store is detached" not_attached vda
EOT

host "fsck the store at the end" "$CAPSTORE" fsck "$(img store)"
