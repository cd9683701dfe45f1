# Thin wrapper over meson: `make` builds, `make run` starts the whole
# service set on etc/dev.conf, `make test` builds with ASan/UBSan (and the
# fuzz targets with clang) and runs every test. Missing Debian packages
# and npm test dependencies are installed first, idempotently.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
DEV_DIR    ?= /var/tmp/stratus-dev
FUZZ_RUNS  ?= 20000

.PHONY: all deps build run test bench clean deb deb-test faults fuzz load

all: build

deps:
	@./tools/install-deps.sh
	@./tools/install-npm-deps.sh

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD)
	@meson compile -C $(BUILD)

run: build
	@mkdir -p $(DEV_DIR)/run $(DEV_DIR)/home $(DEV_DIR)/objects
	@test -f $(DEV_DIR)/users || echo 'demo@example.com:{PLAIN}demo::::::' > $(DEV_DIR)/users
	@echo "Starting Stratus on etc/dev.conf (Ctrl-C stops it)."
	@echo "  IMAP 127.0.0.1:10143  POP3 127.0.0.1:10110  LMTP 127.0.0.1:10024  ManageSieve 127.0.0.1:14190"
	@echo "  demo user: demo@example.com / demo   status: $(BUILD)/svc-ctl/stratusctl -c etc/dev.conf status"
	@exec $(BUILD)/svc-ctl/stratusctl -c etc/dev.conf run

# The plain build is compiled too, so what `make run` uses is always checked.
test: build
	@test -f $(ASAN_BUILD)/build.ninja || \
		meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined
	@meson compile -C $(ASAN_BUILD)
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) \
		-Dfuzz=true -Dfuzz_runs=$(FUZZ_RUNS) -Db_sanitize=address,undefined
	@./tests/build-fuzz.sh $(FUZZ_BUILD)
	@./tests/run-tests.sh $(ASAN_BUILD) $(FUZZ_BUILD)

# The fault suite's long form (tests/faults, issue 16): kill -9 of every
# service, S3 faults and 30 s outages, slapd down, disk full, under a
# ledger of acknowledged mail. Its short form runs in `make test`.
faults: build
	@test -f $(ASAN_BUILD)/build.ninja || \
		meson setup $(ASAN_BUILD) -Db_sanitize=address,undefined
	@meson compile -C $(ASAN_BUILD)
	@FAULTS_LONG=1 STRATUS_BUILD_DIR=$(abspath $(ASAN_BUILD)) STRATUS_SRC_DIR=$(CURDIR) \
		PYTHONPATH=$(CURDIR)/tests/integration PYTHONDONTWRITEBYTECODE=1 \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
		python3 tests/faults/test_faults.py

# libFuzzer targets under ASan/UBSan (clang fuzz build), FUZZ_SECONDS
# each from the seed corpus in tests/fuzz/corpus; a crash fails and its
# input stays in tests/fuzz/crashes/. `make test` runs each corpus once.
FUZZ_SECONDS ?= 60
fuzz:
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) \
		-Dfuzz=true -Dfuzz_runs=$(FUZZ_RUNS) -Db_sanitize=address,undefined
	@./tests/build-fuzz.sh $(FUZZ_BUILD)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		./tests/fuzz/fuzz-all.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# IDLE load (issue 16 part 4): LOAD_CONNS (10,000) IMAP connections in
# IDLE for LOAD_SECONDS (600) with a delivery a second, on the plain
# build; RSS and descriptors of every service printed start/end.
# Short form: make load LOAD_CONNS=1000 LOAD_SECONDS=30
LOAD_CONNS ?= 10000
LOAD_SECONDS ?= 600
load: build
	@LOAD_CONNS=$(LOAD_CONNS) LOAD_SECONDS=$(LOAD_SECONDS) \
		STRATUS_BUILD_DIR=$(abspath $(BUILD)) STRATUS_SRC_DIR=$(CURDIR) \
		PYTHONDONTWRITEBYTECODE=1 python3 tests/load/idle_load.py

# Side-by-side benchmarks against Dovecot CE: writes bench/results/latest.md.
# BENCH_ARGS=--full for the issue's sizes (under 20 minutes).
bench:
	@./bench/run.sh $(or $(BENCH_ARGS),--quick)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

# Debian packages (dpkg-buildpackage -b) from the committed tree (git
# archive HEAD), built under DEB_DIR so the shared tree stays clean;
# `make deb-test` unpacks them and runs each binary against
# /etc/dovecot/dovecot.conf, then installs them with apt into a fresh
# debootstrap'ed Debian 12 root (made once under DEB_CHROOT_BASE; root and
# debootstrap needed) and runs the installed services there.
# deb-test first runs lintian over the .changes (tests/test-deb-lintian.sh):
# an error or a warning fails it, info and pedantic tags are printed.
DEB_DIR ?= /var/tmp/stratus-deb
deb:
	@./tools/install-deps.sh deb
	@rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	@git archive HEAD | tar -x -C $(DEB_DIR)/src
	@cd $(DEB_DIR)/src && nice -n 10 dpkg-buildpackage -b -us -uc -j2
	@ls $(DEB_DIR)/*.deb

deb-test: deb
	@./tests/test-deb-lintian.sh $(DEB_DIR)
	@./tests/test-deb.sh $(DEB_DIR)
	@./tests/test-deb-install.sh $(DEB_DIR)
