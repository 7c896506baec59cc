# SPDX-License-Identifier: GPL-2.0
# Benchmark, not a test of correctness: "capstore bench io" in the VM,
# random 4 KiB reads of a segment through io_uring (cold and cached pages,
# queue depths 1 and 32) next to fio's io_uring engine on the same virtual
# disk. fio is the host's, copied into the VM with its shared libraries
# and the dynamic loader (ldd). The table goes to the output and to
# $WORK/bench-io.txt.
#
# Skipped unless CS_BENCH=1 ("make bench"): a benchmark takes minutes and
# proves nothing in "make check". Without fio on the host the baseline is
# the bench's own reader of the raw device only.
[ "${CS_BENCH:-0}" = 1 ] || skip_scenario "a benchmark: CS_BENCH=1 (make bench) runs it"
VM_TIMEOUT=1200

disk store 256M
host "format" "$CAPSTORE" format "$(img store)"

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
tap_check "capstore bench io" capstore bench io $fio_opt \$(dev store)
capstore detach \$(dev store) >/dev/null
EOT
sed -n '/CAPSTORE-TAP-BEGIN tap_check capstore bench io/,/CAPSTORE-TAP-END/p' \
	"$WORK/boot-1.tap.log" | sed -n 's/^# //p' | tee "$WORK/bench-io.txt"
host "fsck" "$CAPSTORE" fsck "$(img store)"
