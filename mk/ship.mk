# mk/ship.mk: shipping K-SISS. `make image` (docker build), `make deploy` /
# `make undeploy` (kubectl), `make check-deploy` (static checks of the
# manifests, the dashboard and the Dockerfile; part of `make test`),
# `make image-steps` (the Dockerfile's build steps run here, without docker),
# `make e2e-deploy` (the manifests against the local control plane).

# Image name, as the original's makefile had: $(REGISTRY)/$(IMAGE):$(TAG).
REGISTRY ?= ghcr.io/ksiss
IMAGE    ?= ksiss
TAG      ?= $(VERSION)
DOCKER   ?= docker
KUBECTL  ?= kubectl
# The one namespace of every manifest (deploy/namespace.yaml); `make deploy
# KSISS_NAMESPACE=x` renders them all with x.
KSISS_NAMESPACE ?= ksiss-system
# The managed namespace: its Knative Services are scaled and the
# autoscaler-config ConfigMap lives there (the Deployment's NAMESPACE).
KSISS_MANAGED_NAMESPACE ?= default
DEPLOY_NAMESPACE := ksiss-system
DEPLOY_MANAGED_NAMESPACE := default
# the image as written in deploy/deployment.yaml, replaced by $(REGISTRY)/$(IMAGE):$(TAG)
DEPLOY_IMAGE := $(shell sed -n "s/^ *image: *//p" deploy/deployment.yaml)
DEPLOY_RENDERED := $(BUILD)/deploy

CHECK_MANIFESTS := $(BUILD)/tests/check_manifests

.PHONY: image deploy undeploy deploy-render deploy-servicemonitor check-deploy image-steps e2e-deploy

image:
	@if ! command -v $(DOCKER) >/dev/null 2>&1; then \
	  echo "make image: '$(DOCKER)' not found; install Docker (or set DOCKER=podman). Without an engine, 'make image-steps' runs the same build steps here." >&2; exit 1; fi
	@if ! $(DOCKER) info >/dev/null 2>&1; then \
	  echo "make image: no Docker engine reachable ('$(DOCKER) info' failed; is the daemon running, is DOCKER_HOST right?). Without an engine, 'make image-steps' runs the same build steps here." >&2; exit 1; fi
	$(DOCKER) build --build-arg GIT_REV=$(GIT_REV) -t $(REGISTRY)/$(IMAGE):$(TAG) .
	@echo "built $(REGISTRY)/$(IMAGE):$(TAG); push it with: $(DOCKER) push $(REGISTRY)/$(IMAGE):$(TAG)"

# deploy/ with the namespace and image of this invocation.
deploy-render:
	@rm -rf $(DEPLOY_RENDERED) && mkdir -p $(DEPLOY_RENDERED)/optional
	@for f in deploy/*.yaml deploy/optional/*.yaml; do \
	  sed -e 's/\b$(DEPLOY_NAMESPACE)\b/$(KSISS_NAMESPACE)/g' \
	      -e 's|image: $(DEPLOY_IMAGE)|image: $(REGISTRY)/$(IMAGE):$(TAG)|' \
	      -e '/^kind: ConfigMap/,/^data:/s/^  namespace: $(DEPLOY_MANAGED_NAMESPACE)$$/  namespace: $(KSISS_MANAGED_NAMESPACE)/' \
	      -e '/- name: NAMESPACE$$/{n;s/value: $(DEPLOY_MANAGED_NAMESPACE)$$/value: $(KSISS_MANAGED_NAMESPACE)/}' \
	      "$$f" > $(DEPLOY_RENDERED)/$${f#deploy/}; done

deploy: deploy-render
	@command -v $(KUBECTL) >/dev/null 2>&1 || { echo "make deploy: '$(KUBECTL)' not found (set KUBECTL=...)" >&2; exit 1; }
	$(KUBECTL) apply -f $(DEPLOY_RENDERED)/namespace.yaml
	$(KUBECTL) apply -f $(DEPLOY_RENDERED)/
	@echo "K-SISS deployed in namespace $(KSISS_NAMESPACE) with image $(REGISTRY)/$(IMAGE):$(TAG)."
	@echo "Optional: 'make deploy-servicemonitor' (needs the Prometheus Operator CRDs); Grafana: import deploy/grafana/grafana-dashboard.json."

deploy-servicemonitor: deploy-render
	$(KUBECTL) apply -f $(DEPLOY_RENDERED)/optional/

# Removes everything but the ConfigMap: it is the user's configuration.
undeploy: deploy-render
	@$(KUBECTL) delete --ignore-not-found -f $(DEPLOY_RENDERED)/optional/ 2>/dev/null || true
	$(KUBECTL) delete --ignore-not-found $(patsubst deploy/%,-f $(DEPLOY_RENDERED)/%,$(filter-out deploy/configmap.yaml,$(wildcard deploy/*.yaml)))
	@echo "kept ConfigMap autoscaler-config in $(KSISS_MANAGED_NAMESPACE) (your configuration): kubectl -n $(KSISS_MANAGED_NAMESPACE) delete configmap autoscaler-config"

$(CHECK_MANIFESTS): $(BUILD)/tests/check_manifests.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Static checks, no cluster: manifests, RBAC against the code, dashboard
# against the exporter, Dockerfile structure; and the same checks fail on
# broken fixtures (tests/check_manifests_data/).
check-deploy: $(CHECK_MANIFESTS) $(BUILD)/ksiss
	@tests/check_manifests.sh $(CHECK_MANIFESTS)
	@tests/check_dashboard.sh $(CHECK_MANIFESTS)

# The Dockerfile's build steps, run on this Debian 12 machine: a clean build
# in a copy of the tree (about 20 s on 2 cores), ldd against the runtime
# packages, `ksiss version` as the image's user in a bare root (chroot: root
# needed; as non-root it says so, and the last line of `make test` counts it
# as skipped: tests/lib/suite.sh).
image-steps:
	@if [ "$$(id -u)" != 0 ]; then why="not run: needs root, to chroot into a bare root as the image's user"; \
	   echo "image-steps: SKIPPED: $$why"; \
	   if [ -n "$$KSISS_SKIPPED" ]; then mkdir -p "$$(dirname "$$KSISS_SKIPPED")"; echo "$@: $$why" >>"$$KSISS_SKIPPED"; fi; \
	 else scripts/image-build-steps.sh; fi

e2e-deploy: $(BUILD)/ksiss $(CHECK_MANIFESTS)
	@CHECK_MANIFESTS=$(CHECK_MANIFESTS) tests/e2e/test_deploy_manifests.sh

TEST_TARGETS += check-deploy image-steps
E2E_TARGETS += e2e-deploy
