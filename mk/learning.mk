# mk/learning.mk: the learned capacity end to end (issue 17,
# tests/e2e/learning.sh): `ksiss run` with no perGpu in the ConfigMap
# against the local control plane (make cluster-up), a real Prometheus and
# the stand-in inference server whose latency follows a known capacity per
# tier; it learns the capacity, moves to the tier that capacity calls for,
# keeps what it learned across a restart. Needs a running cluster; about
# 12 minutes.
.PHONY: e2e-learning

e2e-learning: $(BUILD)/ksiss $(BUILD)/tests/logfmt_check $(BUILD)/tests/fake_inference $(BUILD)/tests/prom_tool
	@BUILD=$(BUILD) tests/e2e/learning.sh

E2E_TARGETS += e2e-learning
