# SPDX-License-Identifier: GPL-2.0
# Stored capabilities across checkpoints, hard power-offs and reboots:
# rights and the weak attribute exactly as stored (several slots, a weak
# segment, a weak node, nesting, a cycle), slots of destroyed objects and
# of revoked generations dead, slots stored after a revoke live, changes
# after the last checkpoint gone. "capstore ls" shows the dead slots as
# "dead"; fsck on the host finds the store clean and counts them.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout 300 --kill-on CAPSTORE-CRASH-POINT --kill-delay 0-0.5 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_persist -t build_then_crash
EOT
host "fsck after the first power cut" "$CAPSTORE" fsck "$(img store)"

boot --timeout 300 --kill-on CAPSTORE-CRASH-POINT --kill-delay 0-0.5 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_persist -t verify_committed -t revoke_then_crash
EOT
host "fsck after the second power cut" "$CAPSTORE" fsck "$(img store)"

boot --timeout 300 <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run caps_persist -t verify_after_revoke

S=$(dev store)
# ls_has PATH REGEX: "capstore ls" of PATH has a line matching REGEX.
ls_has() {
	capstore ls "$S" "$1" >/tmp/ls 2>&1 || { cat /tmp/ls; return 1; }
	cat /tmp/ls
	grep -Eq -- "$2" /tmp/ls
}
capstore attach "$S"
tap_check "ls: a destroyed segment's slot is dead" ls_has 25 '^ 8 dead$'
tap_check "ls: a copy of the destroyed segment is dead" ls_has 25 '^ 9 dead$'
tap_check "ls: slots stored before a revoke are dead" ls_has 25 '^10 dead$'
tap_check "ls: ... both of them" ls_has 25 '^11 dead$'
tap_check "ls: the slot stored after the revoke is live" ls_has 25 '^12 segment rwmgd '
tap_check "ls: a destroyed node's slot is dead" ls_has 25 '^13 dead$'
tap_check "ls: what it held is live through another path" ls_has 25 '^14 segment r---- '
tap_check "ls: the destroyed half of a cycle is dead" ls_has 25 '^15 dead$'
tap_check "ls: the other half's slot to it is dead" ls_has 25/16 '^ 0 dead$'
tap_check "ls: a weak segment keeps W" ls_has 25 '^ 3 segment r-m--W '
tap_check "ls: a weak node keeps W" ls_has 25 '^ 5 node +r--g-W '
tap_check "ls: slots of a node revoked in boot 2 are dead" ls_has 25/4 '^ 1 dead$'
tap_check "ls: through the weak node too" ls_has 25/5 '^ 0 dead$'
capstore detach "$S"
EOT

# fsck_dead N: the store is clean and fsck counts N dead slots.
fsck_dead() {
	local out
	out=$("$CAPSTORE" fsck -v "$(img store)") || { echo "$out"; return 1; }
	echo "$out"
	grep -Eq "node slots +[0-9]+ in use, $1 dead" <<<"$out"
}
host "fsck: clean, 9 dead slots" fsck_dead 9
