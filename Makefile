# K-SISS build: `make` builds build/ksiss; `make test` runs every test suite
# (unit tests, the same under ASan+UBSan, integration with a real Prometheus);
# `make e2e` runs the end-to-end suite on the local control plane;
# `make demo` runs the built-in example. Area-specific targets live in mk/*.mk.

CC      ?= cc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
PKGS    := yaml-0.1 jansson libcurl libmicrohttpd zlib
SAN_OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Debian packages first, while make reads this file: before any flag is
# computed (pkg-config and the -dev packages may be missing on a fresh
# machine) and never beside a compile under -j. The goals decide how much:
# none, the build's packages (demo, build), the unit tests' (+ cmocka), or
# everything (integration, e2e, bench). KSISS_SKIP_DEPS=1 skips it (a
# non-Debian system with the libraries installed); sub-makes skip it.
include mk/deps.mk

# The project's own flags come first and always stay (`make CFLAGS=-O0`
# adds to them, and wins where flags conflict, as -O does).
override CFLAGS := $(CSTD) $(WARN) $(OPT) -Isrc $(PKG_CFLAGS) $(CFLAGS)
override LDLIBS := $(PKG_LIBS) -lm -lpthread $(LDLIBS)

BUILD   ?= build
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
override CFLAGS += -DKSISS_VERSION='"$(VERSION)"' -DKSISS_GIT_REV='"$(GIT_REV)"'

# Pure core, thin shell, command-line front end (see README "Architecture").
CORE_SRC  := $(wildcard src/core/*.c)
SHELL_SRC := $(wildcard src/shell/*.c)
CLI_SRC   := $(filter-out src/cli/main.c,$(wildcard src/cli/*.c))
LIB_SRC   := $(CORE_SRC) $(SHELL_SRC) $(CLI_SRC)
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TESTLIB_SRC := $(wildcard tests/unit/support/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)

# Extra suites registered by mk/*.mk: TEST_TARGETS run by `make test`,
# E2E_TARGETS by `make e2e`, BENCH_TARGETS by `make bench`.
TEST_TARGETS :=
E2E_TARGETS  :=
BENCH_TARGETS :=
EXTRA_BINS :=

-include $(filter-out mk/deps.mk,$(wildcard mk/*.mk))

# What the suites skip (a check, a test, a whole suite: no root, no IPv6...)
# they append to $(KSISS_SKIPPED) as "TARGET: what" (tests/lib/suite.sh),
# under the name of the make target that ran them (a sub-make's suites, as
# integration-asan's, under the target that started it); the last line of
# `make test` / `make e2e` counts those suites as skipped, never as passed
# (tests/lib/summary.sh). Emptied when a top-level make starts either.
SUITES_TEST := unit unit-asan $(TEST_TARGETS)
SUITES_E2E  := $(E2E_TARGETS)
export KSISS_SKIPPED ?= $(abspath $(BUILD))/skipped
ifeq ($(MAKELEVEL),0)
ifneq ($(filter test e2e,$(MAKECMDGOALS)),)
$(shell rm -f $(KSISS_SKIPPED))
endif
$(SUITES_TEST) $(SUITES_E2E): export KSISS_SUITE_TARGET = $@
endif

.PHONY: all build deps test unit unit-asan e2e demo bench fresh-check clean help
all: build
build: $(BUILD)/ksiss $(EXTRA_BINS)

# Explicit installs (every goal already installs what it needs).
deps-build:
	@scripts/deps.sh build
deps:
	@scripts/deps.sh all

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The two objects that print the version and commit are rebuilt when
# either changes (an incremental build kept the commit they were compiled
# at): the stamp is rewritten only when its text differs.
VERSION_STAMP := $(BUILD)/version.stamp
$(VERSION_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(VERSION) $(GIT_REV)' | cmp -s - $@ || echo '$(VERSION) $(GIT_REV)' > $@
$(BUILD)/src/shell/metrics.o $(BUILD)/src/cli/cli_common.o: $(VERSION_STAMP)
.PHONY: FORCE
FORCE:

# Made anew each time (`ar r` only adds and replaces), and also when the
# list of objects changes: after a source is deleted, every object left is
# older than the archive, and its object would stay in it.
LIB_LIST := $(BUILD)/libksiss.list
$(LIB_LIST): FORCE
	@mkdir -p $(dir $@)
	@echo '$(sort $(LIB_OBJ))' | cmp -s - $@ || echo '$(sort $(LIB_OBJ))' > $@
$(BUILD)/libksiss.a: $(LIB_OBJ) $(LIB_LIST)
	@mkdir -p $(dir $@)
	@rm -f $@
	$(AR) rcs $@ $(LIB_OBJ)

$(BUILD)/ksiss: $(BUILD)/src/cli/main.o $(BUILD)/libksiss.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A test may add link flags of its own as TEST_LINK_<name>.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TESTLIB_OBJ) $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka $(TEST_LINK_$*)

# test_http_auth looks into every block libksiss.a frees (for tokens left
# in it) and makes curl_slist_append fail on demand.
TEST_LINK_test_http_auth := -Wl,--wrap=free -Wl,--wrap=curl_slist_append

# Unit tests run from the repository root (they read tests/data/...); a
# test cmocka skipped is reported as skipped (tests/lib/cmocka_run.sh).
unit: $(UNIT_BIN)
	@tests/lib/cmocka_run.sh $(UNIT_BIN)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
# build/asan is shared with integration-asan (mk/longrun.mk): asan-lib
# builds what both link against once, so under -j the two never compile
# into that directory at the same time (each then links only its own
# programs).
ASAN_MAKE := $(MAKE) --no-print-directory BUILD=build/asan OPT="$(SAN_OPT)" LDFLAGS="-fsanitize=address,undefined"
.PHONY: asan-lib
asan-lib:
	@$(ASAN_MAKE) build/asan/libksiss.a build/asan/ksiss $(TESTLIB_OBJ:$(BUILD)/%=build/asan/%)

unit-asan: asan-lib
	@$(ASAN_MAKE) unit

# Unit tests under valgrind memcheck (leaks and invalid accesses fail).
unit-valgrind: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t >/dev/null || fail=1; done; exit $$fail

test: build $(SUITES_TEST)
	@tests/lib/summary.sh "make test" $(SUITES_TEST)

e2e: build $(SUITES_E2E)
	@tests/lib/summary.sh "make e2e" $(SUITES_E2E)

bench: build $(BENCH_TARGETS)

demo: build
	@scripts/demo.sh

# A newcomer's first commands on a bare Debian 12 (debootstrap, chroot; root):
# see scripts/fresh-check.sh.
fresh-check:
	@scripts/fresh-check.sh

clean:
	rm -rf build

help:
	@echo "make [build]  build build/ksiss"
	@echo "make test     unit tests (+ASan/UBSan) and integration tests"
	@echo "make e2e      end-to-end tests on the local control plane"
	@echo "make demo     run the built-in example"
	@echo "make bench    benchmarks"
	@echo "make fresh-check  make demo and the unit suites on a bare Debian 12 (chroot; root)"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
