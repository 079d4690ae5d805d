# K-SISS build: `make` builds build/ksiss; `make test` runs every test suite
# (unit tests, the same under ASan+UBSan, integration with a real Prometheus);
# `make e2e` runs the end-to-end suite on the local control plane;
# `make demo` runs the built-in example. Area-specific targets live in mk/*.mk.

CC      ?= cc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
OPT     ?= -O2 -g
PKGS    := yaml-0.1 jansson libcurl libmicrohttpd zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS  += $(CSTD) $(WARN) $(OPT) -Isrc $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread

BUILD   ?= build
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
CFLAGS  += -DKSISS_VERSION='"$(VERSION)"' -DKSISS_GIT_REV='"$(GIT_REV)"'

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

-include mk/*.mk

.PHONY: all build deps test unit unit-asan e2e demo bench clean help
all: build
build: deps-build $(BUILD)/ksiss $(EXTRA_BINS)

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

$(BUILD)/libksiss.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/ksiss: $(BUILD)/src/cli/main.o $(BUILD)/libksiss.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(TESTLIB_OBJ) $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# Unit tests run from the repository root (they read tests/data/...).
unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
unit-asan:
	@$(MAKE) --no-print-directory BUILD=build/asan \
	  OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	  LDFLAGS="-fsanitize=address,undefined" unit

# Unit tests under valgrind memcheck (leaks and invalid accesses fail).
unit-valgrind: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== valgrind $$t"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect $$t >/dev/null || fail=1; done; exit $$fail

test: deps build unit unit-asan $(TEST_TARGETS)
	@echo "make test: all suites passed"

e2e: deps build $(E2E_TARGETS)
	@echo "make e2e: all suites passed"

bench: deps build $(BENCH_TARGETS)

demo: deps build
	@scripts/demo.sh

clean:
	rm -rf build

help:
	@echo "make [build]  build build/ksiss"
	@echo "make test     unit tests (+ASan/UBSan) and integration tests"
	@echo "make e2e      end-to-end tests on the local control plane"
	@echo "make demo     run the built-in example"
	@echo "make bench    benchmarks"

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
