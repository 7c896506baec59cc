# SPDX-License-Identifier: GPL-2.0
# Benchmark, not a test of correctness: "capstore bench caps" in the VM,
# capability commands in io_uring batches (libcapstore-uring.h) against
# the same commands as ioctls. The table goes to the output and to
# $WORK/bench-caps.txt.
#
# Skipped unless CS_BENCH=1 ("make bench").
[ "${CS_BENCH:-0}" = 1 ] || skip_scenario "a benchmark: CS_BENCH=1 (make bench) runs it"
VM_TIMEOUT=1200

disk store 128M
host "format" "$CAPSTORE" format "$(img store)"

boot <<'EOT'
cs_load_module
capstore attach $(dev store) >/dev/null
tap_check "capstore bench caps" capstore bench caps $(dev store)
capstore detach $(dev store) >/dev/null
EOT
sed -n '/CAPSTORE-TAP-BEGIN tap_check capstore bench caps/,/CAPSTORE-TAP-END/p' \
	"$WORK/boot-1.tap.log" | sed -n 's/^# //p' | tee "$WORK/bench-caps.txt"
host "fsck" "$CAPSTORE" fsck "$(img store)"
