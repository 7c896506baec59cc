# SPDX-License-Identifier: GPL-2.0
# Host only, no VM: the libFuzzer image fuzzer (fuzz/, Documentation/
# testing.rst "Fuzzing"): every seed of fuzz/corpus/ and every regression
# input of fuzz/crashes/ once, then FUZZ_CHECK_TIME seconds (default 60)
# of fuzzing the shared verifiers, fsck and dump under ASan and UBSan.
# "make fuzz" is the long run.
check_time=${FUZZ_CHECK_TIME:-60}

require "clang with libFuzzer (make deps)" make -s -C "$SRCDIR/fuzz" all
host "libFuzzer: the corpus, then $check_time s" \
	make -s -C "$SRCDIR/fuzz" check FUZZ_CHECK_TIME="$check_time" \
	FUZZ_SEED="${SEED:-0}"
