# mk/deps.mk (included first by the Makefile, while make reads it): installs
# the Debian packages that the goals need (scripts/deps.sh), then takes the
# compiler and linker flags from pkg-config, failing loudly, naming the
# package, when one is still unknown. Running here, before make builds
# anything, keeps a fresh machine's first `make demo` from compiling with
# empty flags, and keeps apt-get from running beside a compile under -j.

# Goals that need no package (or install their own), and goals that need
# only the build's packages; any other goal (test, unit, integration, e2e,
# bench, ...) gets the unit tests' or every package.
DEPS_NONE_GOALS  := clean help deps deps-build cluster-build cluster-up cluster-down cluster-nodes fresh-check
DEPS_BUILD_GOALS := all build demo build/ksiss sim-traces sim-quality sim-suite bench-sim
DEPS_UNIT_GOALS  := unit unit-asan asan-lib unit-tsan
DEPS_GOALS := $(or $(MAKECMDGOALS),all)

ifeq ($(filter-out $(DEPS_NONE_GOALS),$(DEPS_GOALS)),)
DEPS_LEVEL := none
else ifeq ($(filter-out $(DEPS_NONE_GOALS) $(DEPS_BUILD_GOALS),$(DEPS_GOALS)),)
DEPS_LEVEL := build
else ifeq ($(filter-out $(DEPS_NONE_GOALS) $(DEPS_BUILD_GOALS) $(DEPS_UNIT_GOALS),$(DEPS_GOALS)),)
DEPS_LEVEL := unit
else
DEPS_LEVEL := all
endif

# A sub-make ($(MAKE) from a recipe) inherits KSISS_DEPS_DONE and does not
# run the script again.
ifeq ($(KSISS_SKIP_DEPS)$(KSISS_DEPS_DONE),)
ifneq ($(DEPS_LEVEL),none)
DEPS_STATUS := $(shell scripts/deps.sh $(DEPS_LEVEL) >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error scripts/deps.sh $(DEPS_LEVEL) failed (exit $(DEPS_STATUS)): the packages above are needed for '$(DEPS_GOALS)')
endif
export KSISS_DEPS_DONE := $(DEPS_LEVEL)
endif
endif

# Flags from pkg-config, each package checked (only for goals that compile).
ifneq ($(DEPS_LEVEL),none)
ifeq ($(shell command -v pkg-config),)
$(error pkg-config not found: install it with 'apt-get install pkg-config' (scripts/deps.sh build does))
endif
DEPS_PKG_MISSING := $(strip $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) && echo ok),,$(p))))
ifneq ($(DEPS_PKG_MISSING),)
$(error pkg-config does not know: $(DEPS_PKG_MISSING) (their -dev packages are missing: scripts/deps.sh build installs them; pkg-config --exists --print-errors $(DEPS_PKG_MISSING) says more))
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
endif
