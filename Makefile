# SPDX-License-Identifier: GPL-2.0
# capstore: top-level build.
#
#   make              the module, the library, the tools and the tests
#   make check        every test, in the VM (installs missing packages
#                     first); TESTS='glob ...' picks scenarios, JOBS=N runs
#                     N VMs at once
#   make demo         the persistent visitor counter, over several boots
#                     of the VM and a power cut
#   make bench        the benchmarks (selftests/scenarios/bench_*.sh: capstore
#                     bench io, caps, checkpoint), one VM at a time; the
#                     tables land in build/test-logs/bench_*/bench-*.txt
#                     (Documentation/benchmarks.rst)
#   make check-debug  the VM tests again on the debug kernel (KASAN, UBSAN,
#                     lockdep, kmemleak, ...), the module built against
#                     its headers; DEBUG_TESTS='glob ...' picks scenarios
#   make debug-kernel build that debug kernel's packages from
#                     linux-source-6.1 (about 45 minutes)
#   make stress       the concurrency stress for STRESS_SECS (600) seconds;
#                     make stress-debug on the debug kernel
#   make fault-inject every fault site of every operation, debug kernel
#   make install      DESTDIR=, PREFIX= (default /usr/local)
#   make lint         checkpatch --strict, W=1 and sparse on the module
#   make fuzz         libFuzzer on images for FUZZ_TIME s; fuzz-images,
#                     fuzz-syscalls: the long VM fuzzing lanes (below)
#   make deps         install the Debian packages the build and tests need
#   make clean        remove build products (distclean: also the files
#                     extracted from linux-source)
#
# KVER=VERSION builds (and installs) the module for /lib/modules/VERSION/build
# instead of the newest installed kernel (scripts/kver.sh), e.g.
# KVER=$(uname -r); give it to "make install" too. KDIR=/path/to/kernel/build
# builds the module against another kernel tree.
# The kernel the VM boots and its modules: VM_KERNEL, VM_MODULES_DIR,
# CAPSTORE_KO (see Documentation/testing.rst). The debug kernel:
# CAPSTORE_DEBUG_KERNEL, else ../shared/debug-kernel, else the output of
# "make debug-kernel" (scripts/debug-kernel.sh).

PREFIX ?= /usr/local
JOBS ?= 2
export PREFIX DESTDIR

# Sub-projects built only once they have a Makefile.
OPTIONAL_DIRS := libcap-store userspace-tools
have = $(wildcard $(1)/Makefile)
has_install = $(shell grep -Eqs '^install[[:space:]]*:' $(1)/Makefile && echo y)
kdir_arg = $(if $(KDIR),KDIR=$(KDIR))

# "make check" installs packages before anything is built, even with -j.
deps_first := $(if $(filter check check-debug demo bench fuzz%,$(MAKECMDGOALS)),deps)

all: module lib tools tests

module: | $(deps_first)
	$(MAKE) -C kmod $(kdir_arg)

lib: | $(deps_first)
ifneq ($(call have,libcap-store),)
	$(MAKE) -C libcap-store
else
	@echo "libcap-store: no Makefile yet, skipped"
endif

tools: lib | $(deps_first)
ifneq ($(call have,userspace-tools),)
	$(MAKE) -C userspace-tools
else
	@echo "userspace-tools: no Makefile yet, skipped"
endif

tests: lib | $(deps_first)
	$(MAKE) -C selftests

check: deps all
	JOBS=$(JOBS) selftests/run.sh

# The same tests and tools; scripts/check-debug.sh builds the module
# against the debug kernel's headers, in build/kmod-debug/.
check-debug: deps lib tools tests
	JOBS=$(JOBS) scripts/check-debug.sh

debug-kernel:
	scripts/debug-kernel.sh build

demo: deps all
	scripts/demo.sh

# The benchmark scenarios skip themselves unless CS_BENCH=1; one VM at a
# time, so that they do not compete for the host's CPUs.
bench: deps all
	CS_BENCH=1 JOBS=1 selftests/run.sh 'bench_*'

deps:
	scripts/deps.sh

lint:
	scripts/lint.sh

KVER_INSTALL = $(shell scripts/kver.sh)

install: all
ifeq ($(call has_install,kmod),y)
	$(MAKE) -C kmod install $(kdir_arg)
else
	install -D -m 644 kmod/capstore.ko \
		$(DESTDIR)/lib/modules/$(KVER_INSTALL)/updates/capstore.ko
	$(if $(DESTDIR),,depmod -a $(KVER_INSTALL))
endif
	@set -e; for d in $(OPTIONAL_DIRS); do \
		if grep -Eqs '^install[[:space:]]*:' $$d/Makefile; then \
			echo "$(MAKE) -C $$d install"; $(MAKE) -C $$d install; \
		fi; \
	done

clean:
	$(MAKE) -C kmod clean $(kdir_arg)
	@set -e; for d in $(OPTIONAL_DIRS); do \
		if [ -f $$d/Makefile ]; then \
			echo "$(MAKE) -C $$d clean"; $(MAKE) -C $$d clean; \
		fi; \
	done
	$(MAKE) -C selftests clean
	rm -rf build

distclean: clean
	rm -rf selftests/.cache

.PHONY: all module lib tools tests check check-debug debug-kernel demo bench \
	deps lint install clean distclean

# make torture: the crash-consistency torture, long (Documentation/
# testing.rst, "Crash-consistency torture"): CYCLES power cuts of the VM
# (default 300) and the dm-log-writes replay checked after every log entry;
# TORTURE_TESTS picks the lanes, JOBS runs them side by side.
CYCLES ?= 300
TORTURE_TESTS ?= torture_powercut torture_flush

torture: deps all
	TORTURE_CYCLES=$(CYCLES) TORTURE_FLUSH=full JOBS=$(JOBS) \
		selftests/run.sh $(TORTURE_TESTS)

.PHONY: torture

# Long runs of the lanes in Documentation/testing.rst, "Fault injection
# and concurrency stress":
#   make stress        STRESS_SECS seconds of the stress (default 600;
#                      "make check" runs 30) on the stock kernel
#   make stress-debug  the same on the debug kernel (lockdep, KASAN,
#                      kmemleak)
#   make fault-inject  every fault site of every operation (FI_FULL=1)
#                      instead of a sample, debug kernel (about 20 min)
STRESS_SECS ?= 600

# deps before anything is built, even with -j (as deps_first above)
module lib tools tests: | $(if $(filter stress stress-debug fault-inject,$(MAKECMDGOALS)),deps)

stress: deps all
	CS_STRESS_SECS=$(STRESS_SECS) JOBS=1 selftests/run.sh stress

stress-debug: deps lib tools tests
	CS_STRESS_SECS=$(STRESS_SECS) JOBS=1 scripts/check-debug.sh stress

fault-inject: deps lib tools tests
	VM_GUEST_ENV="FI_FULL=1 $(VM_GUEST_ENV)" JOBS=1 \
		scripts/check-debug.sh 'fault_inject_*'

.PHONY: stress stress-debug fault-inject

# System integration, DKMS and documentation (Documentation/admin-guide.rst):
#   make install    also installs etc/: the udev rule, the systemd units and
#                   the modules-load.d entry (etc/Makefile)
#   make dkms       the DKMS source tree /usr/src/capstore-VERSION; as root
#                   without DESTDIR also dkms add and dkms install
#                   (scripts/dkms.sh)
#   make docs       the HTML documentation, with Sphinx (python3-sphinx),
#                   into build/docs/html (Documentation/Makefile)
install: install-etc

install-etc:
	$(MAKE) -C etc install

dkms:
	scripts/dkms.sh install

docs:
	$(MAKE) -C Documentation html

clean: clean-etc

clean-etc:
	$(MAKE) -C etc clean

.PHONY: install-etc dkms docs clean-etc

# Fuzzing (Documentation/testing.rst, "Fuzzing"):
#   make fuzz            libFuzzer on images in userspace (fuzz/): the
#                        shared verifiers, fsck and dump, FUZZ_TIME
#                        seconds (default 300); FUZZ_JOBS processes
#   make fuzz-images     the in-kernel image lane, long: FUZZ_IMAGES
#                        damaged images attached in the VM (default 10000)
#   make fuzz-syscalls   the syscall fuzzer, long: FUZZ_CALLS calls
#                        (default 1000000)
#   make fuzz-all        the three, one after the other
# FUZZ_KERNEL=debug runs the VM lanes on the debug kernel (KCOV guides
# the syscall fuzzer there); SEED= replays a VM run.
FUZZ_TIME ?= 300
FUZZ_JOBS ?= 1
FUZZ_IMAGES ?= 10000
FUZZ_CALLS ?= 1000000
FUZZ_KERNEL ?= stock
fuzz_vm = $(if $(filter debug,$(FUZZ_KERNEL)),scripts/check-debug.sh,selftests/run.sh)

fuzz: | $(deps_first)
	$(MAKE) -C fuzz fuzz FUZZ_TIME=$(FUZZ_TIME) FUZZ_JOBS=$(FUZZ_JOBS)

fuzz-images: all
	IMAGE_FUZZ_COUNT=$(FUZZ_IMAGES) IMAGE_FUZZ_DEBUG_COUNT=$(FUZZ_IMAGES) \
		JOBS=1 $(fuzz_vm) image_fuzz

fuzz-syscalls: all
	SYSFUZZ_CALLS=$(FUZZ_CALLS) SYSFUZZ_SECS=0 JOBS=1 $(fuzz_vm) sysfuzz

fuzz-all: fuzz fuzz-images fuzz-syscalls

clean: clean-fuzz

clean-fuzz:
	$(MAKE) -C fuzz clean

.PHONY: fuzz fuzz-images fuzz-syscalls fuzz-all clean-fuzz
