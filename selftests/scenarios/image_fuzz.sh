# SPDX-License-Identifier: GPL-2.0
# In-kernel image fuzzing (selftests/image_fuzz.c, Documentation/testing.rst
# "Fuzzing"): damaged images, made in the guest from real ones by
# fuzz/imgmut.c, attached one after another on a 1 MiB disk; each must be
# refused with a clean error or attach, survive use, checkpoint and detach,
# and a store fsck finds clean must stay clean. Any splat fails the boot.
#
#   IMAGE_FUZZ_COUNT         images per run [1000]
#   IMAGE_FUZZ_DEBUG_COUNT   images per run in the debug lane [1000]
#   IMAGE_FUZZ_SECS          stop after that many seconds [no limit]
#   IMAGE_FUZZ_ONLY=N        run iteration N alone (with SEED= the run's)
#   IMAGE_FUZZ_SAVE=1        also write the images the module made to the
#                            disk "save" and copy them, trimmed, into
#                            fuzz/corpus/vm-*.img (the libFuzzer seeds)
# make fuzz-images runs it with IMAGE_FUZZ_COUNT=10000.
if [ -n "${CS_DEBUG_LANE:-}" ]; then
	count=${IMAGE_FUZZ_DEBUG_COUNT:-1000}
else
	count=${IMAGE_FUZZ_COUNT:-1000}
fi
secs=${IMAGE_FUZZ_SECS:-0}
only=${IMAGE_FUZZ_ONLY:-}
save=${IMAGE_FUZZ_SAVE:-}

disk fuzz 1M
[ -z "$save" ] || disk save 4M

# The host-made seeds of the libFuzzer corpus are bases too.
files=()
bases=
for f in "$SRCDIR"/fuzz/corpus/host-*.img; do
	[ -f "$f" ] || continue
	files+=(--file "$f:/var/lib/capstore-fuzz/${f##*/}")
	bases="$bases /var/lib/capstore-fuzz/${f##*/}"
done

# About 0.1 s per image on the stock kernel, several times that on the
# debug one (whose boot timeouts are scaled x10).
timeout=$((120 + count / 4))

boot --timeout "$timeout" "${files[@]}" <<EOT
cs_load_module
export CS_SEED
export CS_TEST_DEV=\$(dev fuzz)
export IMAGE_FUZZ_COUNT=$count IMAGE_FUZZ_SECS=$secs
export IMAGE_FUZZ_BASES="$bases"
${only:+export IMAGE_FUZZ_ONLY=$only}
${save:+export IMAGE_FUZZ_SAVE=\$(dev save)}
tap_run image_fuzz
EOT

# IMAGE_FUZZ_SAVE: the module's images (one per MiB of "save": slot 0 is
# the fresh store, then vm-populated, vm-reattached), trimmed.
save_seeds() {
	local i name n
	for i in 1 2; do
		case $i in
		1) name=vm-populated ;;
		2) name=vm-reattached ;;
		esac
		dd if="$(img save)" of="$WORK/$name.img" bs=1M skip=$i count=1 \
			status=none
		"$CAPSTORE" fsck "$WORK/$name.img"
		n=256
		while [ "$n" -gt 1 ] && cmp -s -n 4096 \
			-i $(((n - 1) * 4096)):0 "$WORK/$name.img" /dev/zero; do
			n=$((n - 1))
		done
		truncate -s $((n * 4096)) "$WORK/$name.img"
		cp "$WORK/$name.img" "$SRCDIR/fuzz/corpus/$name.img"
	done
}
[ -z "$save" ] || host "save the module's images as seeds" save_seeds
