# mk/fuzz.mk: libFuzzer targets (tests/fuzz/fuzz_<name>.c, docs/fuzzing.md).
# The core and shell sources are compiled again with clang and
# -fsanitize=fuzzer-no-link,address,undefined into $(BUILD)/fuzz/obj (the
# main library is gcc-built without fuzzer instrumentation); each target is
# linked against that archive into $(BUILD)/fuzz/.
#   make fuzz         each target for FUZZ_SECONDS (default 60) on a copy of its corpus
#   make fuzz-smoke   replay of the committed corpus and regressions, then
#                     FUZZ_SMOKE_SECONDS (default 10) each; part of `make test`
#   make fuzz-replay-valgrind
#                     the same committed inputs through the gcc-built library
#                     (tests/fuzz/replay_main.c, no libFuzzer) under valgrind
#                     memcheck; part of `make test`
# New inputs found go to a temporary copy only; crashes are written under
# $(BUILD)/fuzz/artifacts/<name>/ (commit them by hand into
# tests/fuzz/regressions/<name>/).
.PHONY: fuzz fuzz-smoke fuzz-build fuzz-replay-valgrind

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 60
FUZZ_SMOKE_SECONDS ?= 10
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# Product sources keep their warnings visible but not fatal here: the gcc
# build enforces -Werror on them; the fuzz targets themselves use -Werror.
FUZZ_CFLAGS   := $(CSTD) -Wall -Wextra -O1 -g $(FUZZ_SAN) -Isrc $(PKG_CFLAGS) \
                 -DKSISS_VERSION='"$(VERSION)"' -DKSISS_GIT_REV='"$(GIT_REV)"'
FUZZ_LIB_SRC  := $(wildcard src/core/*.c) $(wildcard src/shell/*.c)
FUZZ_LIB_OBJ  := $(FUZZ_LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_SRC      := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES    := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
FUZZ_BINS     := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_LIB_OBJ): $(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/libksiss_fuzz.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_common.h $(FUZZ_DIR)/libksiss_fuzz.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror -Wshadow -Itests/fuzz -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_DIR)/libksiss_fuzz.a $(PKG_LIBS) -lm -lpthread

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	@FUZZ_DIR=$(FUZZ_DIR) tests/fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke: $(FUZZ_BINS)
	@FUZZ_DIR=$(FUZZ_DIR) tests/fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_NAMES)

# Replay without libFuzzer: the targets with a plain main(), gcc and the
# project's own library and flags.
FUZZ_REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/fuzz_%)

$(FUZZ_REPLAY_BINS): $(BUILD)/fuzz-replay/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c tests/fuzz/fuzz_common.h $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz $(LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libksiss.a $(LDLIBS)

fuzz-replay-valgrind: $(FUZZ_REPLAY_BINS)
	@fail=0; for n in $(FUZZ_NAMES); do \
	  files=$$(find tests/fuzz/corpus/$$n tests/fuzz/regressions/$$n -type f 2>/dev/null | sort); \
	  echo "== valgrind fuzz_$$n"; \
	  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    $(BUILD)/fuzz-replay/fuzz_$$n $$files || fail=1; done; exit $$fail

TEST_TARGETS += fuzz-smoke fuzz-replay-valgrind
