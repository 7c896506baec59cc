# SPDX-License-Identifier: GPL-2.0
# Concurrency stress (Documentation/testing.rst, "Concurrency stress"):
# processes and threads map, fault, write, fsync, restrict, pass
# capabilities over unix sockets (SCM_RIGHTS), store and fetch them,
# forward, revoke and destroy while others fault on the mappings,
# checkpoint and open sections, all at once, while detach is tried; every
# 12 s everyone closes everything, detach must succeed once the last
# capability goes, and the store after fsck and attach must be exactly
# the model of what was done. At the end the disk drops its writes under
# the running workload (dm-flakey) and the plain disk must be one
# committed checkpoint no older than what was durable before. First,
# CS_STRESS_RACES (100) rounds of threads closing their last capabilities
# while detach is called over and over, each followed at once by attach.
# CS_STRESS_SECS sets the workload's length (30 s; "make stress": 600 s).
# On the debug kernel it runs under lockdep, KASAN and kmemleak.
secs=${CS_STRESS_SECS:-30}
races=${CS_STRESS_RACES:-100}
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

boot --timeout $((secs + 300)) <<EOT
cs_load_module
export CS_TEST_DEV=\$(dev store)
tap_run stress --detach-race $races
tap_run stress --secs $secs --seed \$CS_SEED
cs_unload_module
EOT
host "fsck after the stress" "$CAPSTORE" fsck "$(img store)"
