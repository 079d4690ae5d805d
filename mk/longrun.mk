# mk/longrun.mk: memory checks beyond the unit tests (issue 8, "Memory";
# docs/operations.md "Security" and "Memory").
#   make integration-asan   the Prometheus and security integration suites
#                           again, with every program built with ASan+UBSan
#                           (leaks at exit, invalid accesses and undefined
#                           behaviour fail the checks); part of `make test`
#   make integration-valgrind
#                           the Prometheus and security suites with every
#                           `ksiss` they start under valgrind memcheck
#                           (tests/integration/valgrind_suite.sh, which
#                           scales the suites' bounded waits by
#                           KSISS_TEST_SLOWDOWN=10; several minutes on 2
#                           shared cores, so by hand, not in `make test`)
#   make e2e-longrun        `ksiss run` on the local control plane for
#                           thousands of ticks at a short interval, with
#                           churn, sampling its RSS: fails on growth after
#                           warm-up (tests/e2e/longrun.sh); part of `make e2e`
.PHONY: integration-asan integration-valgrind e2e-longrun

# Reports go to files (every process of the suites: ksiss and the stand-ins),
# so a leak or error fails the target even where a suite does not look at
# that process's exit status or stderr.
SAN_LOGS := $(CURDIR)/build/asan/san-logs

integration-asan: asan-lib
	@rm -rf $(SAN_LOGS); mkdir -p $(SAN_LOGS)
	@ASAN_OPTIONS=detect_leaks=1:log_path=$(SAN_LOGS)/asan UBSAN_OPTIONS=print_stacktrace=1:log_path=$(SAN_LOGS)/ubsan \
	  $(ASAN_MAKE) integration-prom integration-security; rc=$$?; \
	  if [ -n "$$(ls $(SAN_LOGS))" ]; then for f in $(SAN_LOGS)/*; do echo "--- $$f"; head -40 "$$f"; done; \
	    echo "FAIL integration-asan: sanitizer reports (above)"; exit 1; fi; \
	  echo "PASS integration-asan: no sanitizer report from any process"; exit $$rc

TEST_TARGETS += integration-asan

integration-valgrind: $(BUILD)/ksiss $(PROM_ITEST_BINS) $(SEC_ITEST_BINS) $(BUILD)/tests/logfmt_check
	@BUILD=$(BUILD) tests/integration/valgrind_suite.sh tests/integration/prom_test.sh
	@BUILD=$(BUILD) tests/integration/valgrind_suite.sh tests/integration/security_test.sh

LONGRUN_TICKS ?= 2000
LONGRUN_INTERVAL ?= 120ms

e2e-longrun: $(BUILD)/ksiss $(BUILD)/tests/logfmt_check $(PROM_ITEST_BINS)
	@BUILD=$(BUILD) LONGRUN_TICKS=$(LONGRUN_TICKS) LONGRUN_INTERVAL=$(LONGRUN_INTERVAL) tests/e2e/longrun.sh

E2E_TARGETS += e2e-longrun
