#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make -C fuzz check: the bounded libFuzzer run of "make check".
#
#   run-check.sh FUZZER SECONDS SEED RUNFLAGS
#
# 1. every seed of corpus/ and every regression input crashes/*.img once
#    (a crash once found and fixed must stay fixed);
# 2. SECONDS of fuzzing from a fresh copy of corpus/ (SEED 0: random).
# Exits non-zero on any crash, leak, sanitizer report or timeout; the
# input that caused it is in the artifact directory of RUNFLAGS.
set -euo pipefail
cd "$(dirname "$0")"

fuzzer=$1 secs=$2 seed=$3
read -ra flags <<<"$4"
out=$(dirname "$fuzzer")
work=$out/check-corpus

shopt -s nullglob
inputs=(corpus/*.img crashes/*.img)
echo "fuzz: replaying ${#inputs[@]} inputs (corpus/, crashes/)"
"$fuzzer" "${flags[@]}" "${inputs[@]}" >"$out/replay.log" 2>&1 || {
	tail -50 "$out/replay.log"
	echo "fuzz: FAILED replaying the corpus (log: $out/replay.log)"
	exit 1
}

if [ "$secs" -gt 0 ]; then
	rm -rf "$work"
	mkdir -p "$work"
	echo "fuzz: fuzzing for $secs s (seed $seed)"
	if ! "$fuzzer" "${flags[@]}" -max_total_time="$secs" -seed="$seed" \
		"$work" corpus >"$out/check.log" 2>&1; then
		tail -60 "$out/check.log"
		echo "fuzz: FAILED (log: $out/check.log)"
		exit 1
	fi
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|Done [0-9]+ runs' \
		"$out/check.log" || true
	echo "fuzz: corpus grew to $(find "$work" -type f | wc -l) inputs"
fi
echo "fuzz: ok"
