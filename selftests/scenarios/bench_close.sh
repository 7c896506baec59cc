# SPDX-License-Identifier: GPL-2.0
# Benchmark, not a test of correctness: "capstore bench close" in the VM,
# threads closing capabilities against threads closing eventfds (the
# kernel's internal anon_inode mount). The table goes to the output and
# to $WORK/bench-close.txt.
#
# Skipped unless CS_BENCH=1 ("make bench").
[ "${CS_BENCH:-0}" = 1 ] || skip_scenario "a benchmark: CS_BENCH=1 (make bench) runs it"
VM_TIMEOUT=1200

disk store 128M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
capstore attach $(dev store) >/dev/null
tap_check "capstore bench close" capstore bench close $(dev store)
capstore detach $(dev store) >/dev/null
EOT
sed -n '/CAPSTORE-TAP-BEGIN tap_check capstore bench close/,/CAPSTORE-TAP-END/p' \
	"$WORK/boot-1.tap.log" | sed -n 's/^# //p' | tee "$WORK/bench-close.txt"
host "fsck" "$CAPSTORE" fsck "$(img store)"
