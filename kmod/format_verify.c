// SPDX-License-Identifier: GPL-2.0
/*
 * The on-disk format verifiers, compiled from the one copy in common/ that
 * the offline tools build too (Kbuild only compiles files under kmod/).
 */
#include "../common/verify.c"
