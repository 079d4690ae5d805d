# mk/prom.mk: the Prometheus integration suite (tests/integration/): a real
# Prometheus (Debian's /usr/bin/prometheus, or $PROMETHEUS) on loopback
# scraping a stand-in inference server and the K-SISS exporter. Part of
# `make test`; `make integration-prom` runs it alone.
.PHONY: integration-prom

PROM_ITEST_BINS := $(BUILD)/tests/fake_inference $(BUILD)/tests/prom_tool
EXTRA_BINS += $(PROM_ITEST_BINS)

$(BUILD)/tests/fake_inference: $(BUILD)/tests/integration/fake_inference.o $(BUILD)/tests/integration/serve_port.o \
                                $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/prom_tool: $(BUILD)/tests/integration/prom_tool.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

integration-prom: $(BUILD)/ksiss $(PROM_ITEST_BINS)
	@BUILD=$(BUILD) tests/integration/prom_test.sh

TEST_TARGETS += integration-prom
