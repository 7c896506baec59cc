# SPDX-License-Identifier: GPL-2.0
# Concurrency stress (Documentation/testing.rst, "Concurrency stress"):
# processes and threads map, fault, write, fsync, restrict, pass
# capabilities over unix sockets (SCM_RIGHTS), store and fetch them,
# forward, revoke and destroy while others fault on the mappings,
# checkpoint and open sections, all at once, while detach is tried; every
# few seconds everyone closes everything, detach must succeed the moment
# the last capability goes, and the store after fsck and attach must be
# exactly the model of what was done. At the end the disk drops its writes
# under the running workload (dm-flakey) and the plain disk must be one
# committed checkpoint no older than the last fsync. First, 100 rounds of
# threads closing their last capabilities while detach is called over and
# over, each followed at once by attach. CS_STRESS_SECS sets
# the length (default 40 s; "make stress": 600 s). On the debug kernel it
# runs under lockdep, KASAN and kmemleak.
secs=${CS_STRESS_SECS:-40}
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout $((secs + 300)) <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store)
tap_run stress --detach-race 100
tap_run stress --secs $secs --seed \$CS_SEED
cs_unload_module
EOT
host "fsck after the stress" "$CAPSTORE" fsck "$(img store)"
