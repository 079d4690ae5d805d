# mk/actuation.mk: the actuation end-to-end suite (tests/e2e/actuation.sh):
# `ksiss run` against the local control plane (make cluster-up), a real
# Prometheus and the stand-in inference server, with invariants polled
# throughout by tests/e2e/e2e_watch.c. Needs a running cluster.
.PHONY: e2e-actuation

$(BUILD)/tests/e2e_watch: $(BUILD)/tests/e2e/e2e_watch.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

e2e-actuation: $(BUILD)/ksiss $(BUILD)/tests/logfmt_check $(BUILD)/tests/e2e_watch $(BUILD)/tests/fake_inference $(BUILD)/tests/prom_tool
	@BUILD=$(BUILD) tests/e2e/actuation.sh

E2E_TARGETS += e2e-actuation
