# Kubernetes client, live GPU inventory, leader election, Events
# (src/shell/kube*.c, docs/kubernetes.md). Unit tests are the generic
# tests/unit/test_kube*.c, test_inventory*.c, test_leader.c; this adds the
# end-to-end suite against the local control plane (make cluster-up).

KUBE_E2E_BIN := $(BUILD)/e2e/test_kube_client

$(KUBE_E2E_BIN): $(BUILD)/tests/e2e/test_kube_client.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

.PHONY: e2e-kube
e2e-kube: $(KUBE_E2E_BIN)
	@tests/e2e/test_kube_client.sh $(KUBE_E2E_BIN)

E2E_TARGETS += e2e-kube
