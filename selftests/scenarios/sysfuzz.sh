# SPDX-License-Identifier: GPL-2.0
# The syscall fuzzer (selftests/sysfuzz.c, Documentation/testing.rst
# "Fuzzing"): threads throw every ioctl, io_uring command and file
# operation, with random and structure-aware arguments, at /dev/capstore
# and capabilities while a chaos thread checkpoints, revokes, detaches and
# attaches; KCOV-guided on the debug kernel. No splat, every error
# documented, the store detaches and fsck finds it clean.
#
#   SYSFUZZ_SECS     seconds of fuzzing [45]
#   SYSFUZZ_CALLS    stop after that many calls instead (make
#                    fuzz-syscalls: 1000000, SYSFUZZ_SECS=0)
#   SYSFUZZ_THREADS  worker threads [3]
secs=${SYSFUZZ_SECS:-45}
calls=${SYSFUZZ_CALLS:-}
threads=${SYSFUZZ_THREADS:-3}

disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

# A bounded run: the boot's timeout covers the fuzzing, setup and
# teardown; a call-count run gets a day.
if [ "$secs" -gt 0 ]; then
	timeout=$((120 + secs * 2))
else
	timeout=86400
fi

boot --timeout "$timeout" <<EOT
cs_load_module
export CS_SEED
export CS_TEST_DEV=\$(dev store)
export SYSFUZZ_SECS=$secs SYSFUZZ_THREADS=$threads
${calls:+export SYSFUZZ_CALLS=$calls}
tap_run sysfuzz
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
