# SPDX-License-Identifier: GPL-2.0
# Self-test of the test bench, on the host only (no VM): the TAP parser and
# the kernel log scanner of selftests/vm/lib.sh on planted input.

# tap_expect KILLED EXPECTED <TAP: the parser's results, without their
# reasons and context, must be EXPECTED (one "STATUS what" a line).
tap_expect() {
	local got
	got=$(cs_parse_tap L "$1" | grep -v '^| ' | cut -f1,2 | tr '\t' ' ')
	if [ "$got" != "$2" ]; then
		printf 'got:\n%s\nwant:\n%s\n' "$got" "$2"
		return 1
	fi
}

# splat_expect 0|1 LINE: the scanner finds a splat in a log holding LINE
# (1) or finds none (0).
splat_expect() {
	local log=$WORK/splat.log rc=0
	printf '[    1.000000] before\n[    1.100000] %s\n[    1.200000] after\n' \
		"$2" >"$log"
	cs_scan_splats "$log" || rc=$?
	[ "$rc" = "$1" ]
}

host "tap: pass, skip, fail, XFAIL" tap_expect "" "PASS L: p: a
SKIP L: p: global.b
FAIL L: p: c
PASS L: p: d" <<'EOT'
CAPSTORE-TAP-BEGIN p -t x
TAP version 13
1..4
ok 1 a
#  RUN           global.b ...
#      SKIP      no device
ok 2 # SKIP no device
# p.c:1:c:Expected 1 (1) == 2 (2)
not ok 3 c
    ok 1 an indented subtest does not count
ok 4 d # XFAIL known bug
CAPSTORE-TAP-END p rc=1
EOT

host "tap: two programs, skip-all" tap_expect "" "PASS L: p: a
SKIP L: q" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..1
ok 1 a
CAPSTORE-TAP-END p rc=0
CAPSTORE-TAP-BEGIN q
1..0 # SKIP no io_uring
CAPSTORE-TAP-END q rc=4
EOT

host "tap: no plan is a failure" tap_expect "" "FAIL L: p" <<'EOT'
CAPSTORE-TAP-BEGIN p
hello
CAPSTORE-TAP-END p rc=0
EOT

host "tap: crash after one of two tests" tap_expect "" "PASS L: p: a
FAIL L: p" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..2
ok 1 a
CAPSTORE-TAP-END p rc=139
EOT

host "tap: non-zero exit without a failed test" tap_expect "" "PASS L: p: a
FAIL L: p" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..1
ok 1 a
CAPSTORE-TAP-END p rc=1
EOT

host "tap: bail out" tap_expect "" "PASS L: p: a
FAIL L: p" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..2
ok 1 a
Bail out! no store
CAPSTORE-TAP-END p rc=1
EOT

host "tap: output cut short (VM died)" tap_expect "" "PASS L: p: a
FAIL L: p" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..2
ok 1 a
EOT

host "tap: output cut short by a planned kill" tap_expect 1 "PASS L: p: a" <<'EOT'
CAPSTORE-TAP-BEGIN p
1..2
ok 1 a
# CAPSTORE-CRASH-POINT
EOT

host "tap: carriage returns" tap_expect "" "PASS L: p: a" < <(printf 'CAPSTORE-TAP-BEGIN p\r\n1..1\r\nok 1 a\r\nCAPSTORE-TAP-END p rc=0\r\n')

host "scanner: a clean log" splat_expect 0 "This is not a bug."
host "scanner: clean ACPI message" splat_expect 0 \
	'PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug'
host "scanner: WARNING" splat_expect 1 "WARNING: CPU: 1 PID: 42 at fs/x.c:10 f+0x1/0x2"
host "scanner: BUG" splat_expect 1 "BUG: kernel NULL pointer dereference, address: 0000000000000008"
host "scanner: Oops" splat_expect 1 "Oops: 0002 [#1] PREEMPT SMP NOPTI"
host "scanner: GPF" splat_expect 1 "general protection fault, probably for non-canonical address 0xdead: 0000 [#1]"
host "scanner: KASAN" splat_expect 1 "BUG: KASAN: use-after-free in f+0x1/0x2"
host "scanner: UBSAN" splat_expect 1 "UBSAN: shift-out-of-bounds in fs/x.c:1:2"
host "scanner: lockdep circular" splat_expect 1 "WARNING: possible circular locking dependency detected"
host "scanner: lockdep recursive" splat_expect 1 "WARNING: possible recursive locking detected"
host "scanner: lockdep state" splat_expect 1 "WARNING: inconsistent lock state"
host "scanner: hung task" splat_expect 1 "INFO: task kworker/0:1:23 blocked for more than 30 seconds."
host "scanner: kmemleak" splat_expect 1 "unreferenced object 0xffff888003a1b000 (size 64):"
host "scanner: panic" splat_expect 1 "Kernel panic - not syncing: Fatal exception"
host "scanner: RCU stall" splat_expect 1 "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"
host "scanner: rcu_sched stall" splat_expect 1 "INFO: rcu_sched detected stalls on CPUs/tasks:"
host "scanner: kernel BUG at" splat_expect 1 "kernel BUG at mm/slub.c:123!"
host "scanner: list corruption" splat_expect 1 "list_add corruption. prev->next should be next (ffff8880)"
host "scanner: refcount" splat_expect 1 "refcount_t: underflow; use-after-free."
