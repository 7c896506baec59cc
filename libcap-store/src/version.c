// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The version of the library linked at run time, to compare with the
 * CAPSTORE_VERSION_* macros of the header a program was built with.
 */
#include "libcapstore.h"

int capstore_version_major(void)
{
	return CAPSTORE_VERSION_MAJOR;
}

int capstore_version_minor(void)
{
	return CAPSTORE_VERSION_MINOR;
}

bool capstore_version_check(int major, int minor)
{
	return CAPSTORE_VERSION_CHECK(major, minor);
}
