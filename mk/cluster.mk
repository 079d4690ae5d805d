# Local Kubernetes + Knative control plane for end-to-end tests
# (tests/cluster/, docs/local-cluster.md). Needs root (network namespace),
# Go (builds the upstream binaries once, cached in $(KSISS_CACHE)), openssl
# and iproute2.
.PHONY: cluster-build cluster-up cluster-down cluster-smoke cluster-nodes

cluster-build:
	@tests/cluster/build.sh

cluster-up:
	@tests/cluster/up.sh

cluster-down:
	@tests/cluster/down.sh

# Re-applies the fake GPU node inventory (INVENTORY=file to use another one).
cluster-nodes:
	@tests/cluster/nodes.sh apply $(INVENTORY)

cluster-smoke:
	@tests/cluster/smoke.sh

E2E_TARGETS += cluster-smoke
