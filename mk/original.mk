# mk/original.mk: the original's users on the original's hardware (issue 18,
# tests/e2e/original.sh): the original's ConfigMap unchanged, `ksiss run`
# against the local control plane's A100-40GB and A100-80GB nodes, the GPU
# model of each service found from its revision and its nodes. Needs a
# running cluster (make cluster-up); about 17 minutes.
.PHONY: e2e-original

e2e-original: $(BUILD)/ksiss $(BUILD)/tests/fake_inference $(BUILD)/tests/prom_tool
	@BUILD=$(BUILD) tests/e2e/original.sh

E2E_TARGETS += e2e-original
