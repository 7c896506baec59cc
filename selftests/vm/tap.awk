# SPDX-License-Identifier: GPL-2.0
# Parse the test channel (ttyS1) of one boot of the capstore test VM.
#
#   awk -v label=LABEL -v killed=1|"" -f tap.awk <boot-N.tap.log
#
# Input: programs' TAP framed by guest-lib.sh's tap_run:
#   CAPSTORE-TAP-BEGIN <program> <args>
#   TAP version 13 / 1..N / ok N name [# SKIP why] / not ok N name / # ...
#   CAPSTORE-TAP-END <program> rc=<exit status>
# Only top-level (unindented) plan and result lines count.
#
# Output, one line per result: "PASS|FAIL|SKIP<TAB>what<TAB>reason"; a FAIL
# is followed by its context (the comment lines before it), each line
# starting with "| ". A program fails as a whole (one FAIL of its own) when
# it has no plan, runs a different number of tests than planned, bails out,
# exits non-zero without a failed test, or its output stops without
# CAPSTORE-TAP-END (the VM died) -- except in a boot the host killed on
# purpose (killed=1), where results up to the kill count and the rest is
# not expected.

function start(args) {
	inseg = 1
	prog = args
	sub(/ .*/, "", prog)
	plan = -1
	nres = 0
	nfail = 0
	skipall = ""
	bail = ""
	nctx = 0
	lastrun = ""
}

function ctx_add(line) {
	ctx[nctx % 30] = line
	nctx++
}

function ctx_flush(   i, from) {
	from = nctx > 30 ? nctx - 30 : 0
	for (i = from; i < nctx; i++)
		print "| " ctx[i % 30]
	nctx = 0
}

function emit(status, what, reason) {
	printf "%s\t%s\t%s\n", status, label ": " what, reason
}

function prog_fail(reason) {
	emit("FAIL", prog, reason)
	ctx_flush()
}

# status < 0: no CAPSTORE-TAP-END
function finish(status) {
	inseg = 0
	if (status < 0) {
		if (killed)
			return
		prog_fail("output ends without CAPSTORE-TAP-END (VM died?)")
		return
	}
	if (bail != "") {
		prog_fail("bailed out: " bail)
	} else if (plan < 0) {
		prog_fail("no TAP plan, exit status " status)
	} else if (plan == 0 && skipall != "") {
		emit("SKIP", prog, skipall)
	} else if (nres != plan) {
		prog_fail("planned " plan " tests, reported " nres \
			  ", exit status " status)
	} else if (status != 0 && status != 4 && nfail == 0) {
		prog_fail("exit status " status)
	}
}

# "ok 3 name # SKIP why" -> name in rname, directive in rdir, why in rwhy
function split_result(line,   d) {
	sub(/^(not )?ok[ \t]*[0-9]*[ \t]*(-[ \t]*)?/, "", line)
	rdir = ""
	rwhy = ""
	if (match(line, /[ \t]*#[ \t]*(SKIP|skip|Skip|TODO|todo|XFAIL|xfail|error)/)) {
		d = substr(line, RSTART)
		line = substr(line, 1, RSTART - 1)
		sub(/^[ \t]*#[ \t]*/, "", d)
		rdir = toupper(d)
		sub(/[ \t].*/, "", rdir)
		rwhy = d
		sub(/^[^ \t]*[ \t]*/, "", rwhy)
	}
	# the harness's "ok N # SKIP why" has no name: take it from "#  RUN"
	rname = line != "" ? line : lastrun != "" ? lastrun : "(unnamed test)"
	lastrun = ""
}

{ sub(/\r+$/, "") }

/^CAPSTORE-TAP-BEGIN( |$)/ {
	if (inseg)
		finish(-1)
	start(substr($0, 20))
	next
}

/^CAPSTORE-TAP-END( |$)/ {
	if (inseg) {
		st = $NF
		sub(/^rc=/, "", st)
		finish(st + 0)
	}
	next
}

/^CAPSTORE-BOOT-(BEGIN|DONE)( |$)/ { next }

!inseg { next }

/^1\.\.[0-9]+/ {
	if (plan < 0) {
		plan = substr($0, 4) + 0
		if (plan == 0 && match($0, /#[ \t]*[Ss][Kk][Ii][Pp]/)) {
			skipall = substr($0, RSTART + RLENGTH)
			sub(/^[ \t]*/, "", skipall)
			if (skipall == "")
				skipall = "skipped"
		}
	}
	next
}

/^ok([ \t]|$)/ {
	nres++
	split_result($0)
	if (rdir == "SKIP")
		emit("SKIP", prog ": " rname, rwhy)
	else
		emit("PASS", prog ": " rname, "")
	nctx = 0
	next
}

/^not ok([ \t]|$)/ {
	nres++
	split_result($0)
	if (rdir == "TODO") {
		emit("SKIP", prog ": " rname, "TODO " rwhy)
	} else {
		nfail++
		emit("FAIL", prog ": " rname, rwhy)
		ctx_flush()
	}
	nctx = 0
	next
}

/^Bail out!/ {
	bail = substr($0, 10)
	sub(/^[ \t]*/, "", bail)
	if (bail == "")
		bail = "(no reason)"
	next
}

/^#[ \t]+RUN[ \t]/ {
	lastrun = $3
}

{ ctx_add($0) }

END {
	if (inseg)
		finish(-1)
}
