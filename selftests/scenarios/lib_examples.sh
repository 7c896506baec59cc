# SPDX-License-Identifier: GPL-2.0
# The examples of libcap-store, run as installed programs: pass_cap hands
# a restricted capability and a revocable one to a child over a unix
# socket; kvstore's command line (selftests/lib_kvstore.c -t cli); the
# counter counts across a reboot. fsck checks what they left.
disk store 64M
host "format" "$CAPSTORE" format "$(img store)"

EX=$SRCDIR/libcap-store/examples
boot --file "$EX/kvstore:/usr/bin/kvstore" --file "$EX/pass_cap:/usr/bin/pass_cap" \
     --file "$EX/counter:/usr/bin/counter" <<'EOT'
cs_load_module
export CS_TEST_DEV=$(dev store)
tap_run lib_kvstore -t cli
capstore attach "$(dev store)" >/dev/null
tap_check "pass_cap: the child can read, cannot write or destroy, loses the delegation" pass_cap
tap_check "pass_cap again, on the segment the first run made" pass_cap --slot 2 --scratch 4
tap_check "counter: first visit" sh -c 'counter | grep -x "visits: 1"'
tap_check "pass_cap refuses a slot that holds another segment" sh -c '! pass_cap --slot 0'
capstore detach "$(dev store)" >/dev/null
EOT

boot --file "$EX/counter:/usr/bin/counter" <<'EOT'
cs_load_module
capstore attach "$(dev store)" >/dev/null
tap_check "counter: the second visit, after a reboot" sh -c 'counter | grep -x "visits: 2"'
capstore detach "$(dev store)" >/dev/null
EOT
host "fsck" "$CAPSTORE" fsck "$(img store)"
