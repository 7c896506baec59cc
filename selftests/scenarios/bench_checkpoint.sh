# SPDX-License-Identifier: GPL-2.0
# Benchmark, not a test of correctness: "capstore bench checkpoint" in the
# VM. Dirty sets from 1 MiB to about half the guest's RAM, each
# checkpointed while a writer thread keeps writing: the stall it sees and
# the one the module reports, the checkpoint's duration, and its write
# throughput next to fio's sequential O_DIRECT writes on the same virtual
# disk. Once with a writer that stores through a mapping (page_mkwrite
# waits on wr_fault), once with one that calls pwrite(2) (waits on
# wr_sys). The tables go to the output and to $WORK/bench-checkpoint.txt.
#
# The store takes 1536 MiB of the 2560 MiB disk: fio writes past it. The
# image is allocated on the host first, so that neither side writes into
# holes of the image file. In the guest the kernel's dirty thresholds are
# raised, so that the dirty set reaches the checkpoint rather than early
# writeback (the bench warns when the snapshot claims less than was
# dirtied).
#
# Skipped unless CS_BENCH=1 ("make bench"). Without fio on the host the
# baseline is the bench's own O_DIRECT writer, named as such in the table.
[ "${CS_BENCH:-0}" = 1 ] || skip_scenario "a benchmark: CS_BENCH=1 (make bench) runs it"
VM_TIMEOUT=2400

disk store 2560M
host "allocate the image" fallocate -l 2560M "$(img store)"
host "format 1536 MiB of it" "$CAPSTORE" format --size 1536M "$(img store)"

files=()
fio_opt=--no-fio
if fio=$(command -v fio); then
	# fio and every library it loads, at the paths ldd names
	for lib in $fio $(ldd "$fio" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
		files+=(--file "$(readlink -f "$lib"):$lib")
	done
	fio_opt="--fio $fio"
fi

boot --mem 1G "${files[@]}" <<EOT
cs_load_module
capstore attach \$(dev store) >/dev/null
echo 90 >/proc/sys/vm/dirty_ratio
echo 80 >/proc/sys/vm/dirty_background_ratio
echo 60000 >/proc/sys/vm/dirty_expire_centisecs
tap_check "capstore bench checkpoint" capstore bench checkpoint $fio_opt \$(dev store)
tap_check "capstore bench checkpoint --writer write" \
	capstore bench checkpoint --writer write $fio_opt \$(dev store)
capstore detach \$(dev store) >/dev/null
EOT
for t in "capstore bench checkpoint" "capstore bench checkpoint --writer write"; do
	echo "== $t"
	sed -n "/CAPSTORE-TAP-BEGIN tap_check $t\r\{0,1\}\$/,/CAPSTORE-TAP-END/p" \
		"$WORK/boot-1.tap.log" | sed -n 's/^# //p'
	echo
done | tee "$WORK/bench-checkpoint.txt"
host "fsck" "$CAPSTORE" fsck "$(img store)"
