# mk/security.mk: the security suite (tests/integration/security_test.sh,
# docs/operations.md "Security"): hostile names through a real Prometheus,
# credentials never in logs or /metrics, TLS verification on by default for
# the Kubernetes and Prometheus clients, the exporter bound only where
# configured. Loopback only, plus a private network namespace when
# `unshare` works (root). Part of `make test`; `make integration-security`
# runs it alone.
.PHONY: integration-security

SEC_ITEST_BINS := $(BUILD)/tests/sec_tool
EXTRA_BINS += $(SEC_ITEST_BINS)

$(BUILD)/tests/sec_tool: $(BUILD)/tests/integration/sec_tool.o $(BUILD)/tests/integration/serve_port.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

integration-security: $(BUILD)/ksiss $(PROM_ITEST_BINS) $(SEC_ITEST_BINS) $(BUILD)/tests/logfmt_check
	@BUILD=$(BUILD) tests/integration/security_test.sh

TEST_TARGETS += integration-security
