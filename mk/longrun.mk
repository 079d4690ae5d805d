# mk/longrun.mk: memory checks beyond the unit tests (issue 8, "Memory";
# docs/operations.md "Security" and "Memory").
#   make integration-asan   the Prometheus and security integration suites
#                           again, with every program built with ASan+UBSan
#                           (leaks at exit, invalid accesses and undefined
#                           behaviour fail the checks); part of `make test`
#   make e2e-longrun        `ksiss run` on the local control plane for
#                           thousands of ticks at a short interval, with
#                           churn, sampling its RSS: fails on growth after
#                           warm-up (tests/e2e/longrun.sh); part of `make e2e`
.PHONY: integration-asan e2e-longrun

SAN_OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

integration-asan:
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(MAKE) --no-print-directory BUILD=build/asan OPT="$(SAN_OPT)" \
	  LDFLAGS="-fsanitize=address,undefined" integration-prom integration-security

TEST_TARGETS += integration-asan

LONGRUN_TICKS ?= 2400
LONGRUN_INTERVAL ?= 150ms

e2e-longrun: $(BUILD)/ksiss $(PROM_ITEST_BINS)
	@BUILD=$(BUILD) LONGRUN_TICKS=$(LONGRUN_TICKS) LONGRUN_INTERVAL=$(LONGRUN_INTERVAL) tests/e2e/longrun.sh

E2E_TARGETS += e2e-longrun
