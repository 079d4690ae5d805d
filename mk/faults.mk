# mk/faults.mk: the fault-injection end-to-end suite (tests/e2e/faults.sh):
# `ksiss run` talks to the kube-apiserver through tests/cluster/faultproxy.go
# (5xx, slow responses, cut watches, 410 Gone, 409 Conflict at run time),
# the apiserver and Prometheus are killed and restarted, the autoscaler is
# SIGKILLed in every transition phase; tests/e2e/e2e_watch.c polls the
# invariants throughout. Needs a running cluster (make cluster-up) and Go
# (the proxy is test tooling, standard library only).
.PHONY: e2e-faults

FAULTS_GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

$(BUILD)/tests/faultproxy: tests/cluster/faultproxy.go
	@mkdir -p $(BUILD)/faultproxy-src $(dir $@)
	cp $< $(BUILD)/faultproxy-src/main.go
	cd $(BUILD)/faultproxy-src && { [ -f go.mod ] || GOTOOLCHAIN=local $(FAULTS_GO) mod init local/faultproxy >/dev/null 2>&1; } && \
	  CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod $(FAULTS_GO) build -trimpath -o $(abspath $@) .

e2e-faults: $(BUILD)/ksiss $(BUILD)/tests/logfmt_check $(BUILD)/tests/e2e_watch $(BUILD)/tests/fake_inference $(BUILD)/tests/prom_tool $(BUILD)/tests/faultproxy
	@BUILD=$(BUILD) tests/e2e/faults.sh

E2E_TARGETS += e2e-faults
