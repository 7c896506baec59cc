# SPDX-License-Identifier: GPL-2.0
# The host-side test suites of the sub-projects ("make check" in each
# directory that has that target): no VM, one result each, output in
# $WORK/host-N.log.
has_check() {
	grep -Eqs '^check[[:space:]]*:' "$1/Makefile"
}

found=
for d in libcap-store userspace-tools; do
	if has_check "$d"; then
		host "$d: make check" make -C "$d" check
		found=1
	fi
done
[ -n "$found" ] || skip_scenario "no sub-project has a check target yet"
