# SPDX-License-Identifier: GPL-2.0
# The documentation builds with Sphinx, every warning an error
# ("make -C Documentation check"; "make docs" builds the HTML). Skipped
# without Debian's python3-sphinx.
require "sphinx-build is not installed (apt-get install python3-sphinx)" \
	command -v sphinx-build

host "the documentation builds without a warning" selftests/install.sh docs
