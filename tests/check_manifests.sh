#!/usr/bin/env bash
# check_manifests.sh: `make check-deploy`'s manifest half. Runs the static
# checks on deploy/ (tests/check_manifests.c), the RBAC table against the
# code (tests/check_manifests_rbac.sh), the Dockerfile structure
# (scripts/image-build-steps.sh --check-dockerfile), the ConfigMap through
# `ksiss check-config`, the Deployment's flags against `ksiss run --help`;
# then proves each check can fail: every broken copy in the table below must
# be refused with the message named. Output and counting: tests/lib/suite.sh.
# Usage: tests/check_manifests.sh [CHECK_MANIFESTS_BINARY]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${1:-build/tests/check_manifests}
KSISS=${KSISS:-build/ksiss}
. tests/lib/suite.sh
suite_init check-manifests ksiss-check-manifests

user=$(scripts/image-build-steps.sh --print user) || { ko "Dockerfile structure"; user=65532; }
uid=${user%%:*}
if scripts/image-build-steps.sh --check-dockerfile >/dev/null; then ok "Dockerfile is what scripts/image-build-steps.sh runs (base, packages, user $user)"; else ko "Dockerfile structure"; fi
if "$BIN" manifests deploy tests/check_manifests.rbac --image-user "$uid"; then ok "deploy/ manifests"; else ko "deploy/ manifests"; fi
if tests/check_manifests_rbac.sh; then ok "RBAC table = the code's API calls"; else ko "RBAC table vs code"; fi

# `make deploy KSISS_NAMESPACE=... KSISS_MANAGED_NAMESPACE=...` renders one
# consistent set: the same checks pass and the old names are gone.
rend=$TMP/rendered
if make -s --no-print-directory deploy-render DEPLOY_RENDERED="$rend" KSISS_NAMESPACE=ml-autoscaler KSISS_MANAGED_NAMESPACE=llm-serving \
   && "$BIN" manifests "$rend" tests/check_manifests.rbac --image-user "$uid" >/dev/null \
   && ! grep -rn 'namespace: ksiss-system\|namespace: default\|value: default$\|\[ksiss-system\]' "$rend" \
   && grep -q 'namespace: llm-serving' "$rend/configmap.yaml" && grep -q 'name: ml-autoscaler' "$rend/namespace.yaml"; then
  ok "make deploy-render with other namespaces gives a consistent set"
else ko "make deploy-render with KSISS_NAMESPACE=ml-autoscaler KSISS_MANAGED_NAMESPACE=llm-serving"; fi

# The ConfigMap shipped must be a valid K-SISS configuration.
out=$("$KSISS" check-config deploy/configmap.yaml 2>&1); rc=$?
if [ $rc = 0 ]; then ok "deploy/configmap.yaml passes ksiss check-config"
else ko "deploy/configmap.yaml fails ksiss check-config:"; echo "$out" >&2; fi

# Every flag the Deployment passes is one `ksiss run` knows.
help=$("$KSISS" run --help 2>&1)
for flag in $(grep -oE -- '--[a-z][a-z-]*' deploy/deployment.yaml | sort -u); do
  if grep -q -- "$flag" <<<"$help"; then ok "ksiss run knows $flag"; else ko "deploy/deployment.yaml passes $flag, which 'ksiss run --help' does not list"; fi
done

# ---- each check can fail: FILE | sed expression | message expected
tmp=$TMP
while IFS='|' read -r name file expr want; do
  [ -z "$name" ] && continue
  rm -rf "$tmp/deploy"; cp -r deploy "$tmp/deploy"
  sed -i -e "$expr" "$tmp/deploy/$file"
  if cmp -s "deploy/$file" "$tmp/deploy/$file"; then ko "$name: the mutation '$expr' changed nothing in $file"; continue; fi
  out=$("$BIN" manifests "$tmp/deploy" tests/check_manifests.rbac --image-user "$uid" 2>&1)
  if [ $? = 1 ] && grep -qF -- "$want" <<<"$out"; then ok "refused: $name"
  else ko "$name: expected a failure saying '$want', got:"; echo "$out" >&2; fi
done <<'EOF_CASES'
wildcard_verb|clusterrole.yaml|s/verbs: \[patch\]/verbs: ["*"]/|'*' in verbs
wildcard_resource|clusterrole.yaml|s/resources: \[podautoscalers\]/resources: ["*"]/|'*' in resources
configmaps_unreadable_like_the_original|clusterrole.yaml|/resources: \[configmaps\]/{n;s/verbs: .*/verbs: [get]/}|needs cluster configmaps list
extra_verb_granted|clusterrole.yaml|s/verbs: \[create, patch\]/verbs: [create, patch, delete]/|which the code does not use
secrets_granted|clusterrole.yaml|s/resources: \[nodes\]/resources: [nodes, secrets]/|must not read Secrets
lease_not_updatable|role.yaml|s/verbs: \[get, create, update\]/verbs: [get, create]/|coordination.k8s.io/leases update
namespace_mismatch|service.yaml|s/namespace: ksiss-system/namespace: monitoring/|is in namespace monitoring
namespace_missing|serviceaccount.yaml|/namespace: ksiss-system/d|has no metadata.namespace
binding_other_namespace|clusterrolebinding.yaml|s/namespace: ksiss-system/namespace: default/|subject's namespace is default
configmap_not_in_managed_namespace|configmap.yaml|s/namespace: default/namespace: ksiss-system/|reads it from its managed namespace
writable_root|deployment.yaml|s/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/|readOnlyRootFilesystem must be true
privilege_escalation|deployment.yaml|s/allowPrivilegeEscalation: false/allowPrivilegeEscalation: true/|allowPrivilegeEscalation must be false
capabilities_kept|deployment.yaml|s/drop: \[ALL\]/drop: [NET_RAW]/|capabilities.drop must contain ALL
root_user|deployment.yaml|s/runAsUser: 65532/runAsUser: 0/|numeric non-root uid
user_differs_from_image|deployment.yaml|s/runAsUser: 65532/runAsUser: 1000/|differs from the Dockerfile's USER
no_seccomp|deployment.yaml|s/type: RuntimeDefault/type: Unconfined/|seccompProfile.type must be RuntimeDefault
wrong_readiness_path|deployment.yaml|s#path: /readyz#path: /ready#|readinessProbe must GET /readyz
wrong_probe_port|deployment.yaml|s/containerPort: 8080/containerPort: 9090/|must target port 8080
single_replica|deployment.yaml|s/replicas: 2/replicas: 1/|replicas must be at least 2
no_limits|deployment.yaml|/^            limits:/,/memory: 1Gi/d|resources.limits.cpu missing
pod_name_not_downward|deployment.yaml|s/fieldPath: metadata.name/fieldPath: spec.nodeName/|POD_NAME must come from the downward API
unknown_env|deployment.yaml|s/name: IGNORE_LIST/name: IGNORELIST/|env IGNORELIST is not read by ksiss run
service_selects_nothing|service.yaml|s/component: controller/component: ctrl/|does not select the Deployment's pods
servicemonitor_relabels|optional/servicemonitor.yaml|/honorLabels: true/d|honorLabels must be true
dashboard_in_deploy_dir|namespace.yaml|$a ---\n{"title": "not an object"}|not a Kubernetes object
EOF_CASES

# ---- the RBAC-vs-code check can fail: a call not granted, a grant not used
grep -v podautoscalers tests/check_manifests.rbac >"$tmp/missing.rbac"
out=$(tests/check_manifests_rbac.sh "$tmp/missing.rbac" 2>&1)
if [ $? = 1 ] && grep -qF "calls 'cluster autoscaling.internal.knative.dev podautoscalers patch'" <<<"$out"; then ok "refused: a call the table does not grant"
else ko "check_manifests_rbac.sh accepted a table without podautoscalers: $out"; fi
{ cat tests/check_manifests.rbac; echo "cluster apps deployments get"; } >"$tmp/extra.rbac"
out=$(tests/check_manifests_rbac.sh "$tmp/extra.rbac" 2>&1)
if [ $? = 1 ] && grep -qF "grants 'cluster apps deployments get' but no call" <<<"$out"; then ok "refused: a grant no call uses"
else ko "check_manifests_rbac.sh accepted an unused grant: $out"; fi

# ---- the Dockerfile checks can fail too
while IFS='|' read -r name expr want; do
  [ -z "$name" ] && continue
  sed -e "$expr" Dockerfile >"$tmp/Dockerfile"
  out=$(scripts/image-build-steps.sh --check-dockerfile --dockerfile "$tmp/Dockerfile" 2>&1)
  if [ $? = 1 ] && grep -qF -- "$want" <<<"$out"; then ok "refused Dockerfile: $name"
  else ko "Dockerfile $name: expected a failure saying '$want', got:"; echo "$out" >&2; fi
done <<'EOF_CASES'
root_user|s/^USER .*/USER root/|numeric non-root USER
other_base|s/^ARG DEBIAN_IMAGE=.*/ARG DEBIAN_IMAGE=ubuntu:24.04/|must be Debian 12
second_package_list|s/\${RUNTIME_PACKAGES} \&\&/${RUNTIME_PACKAGES} libssl-dev \&\&/|outside RUNTIME_PACKAGES: libssl-dev
build_deps_elsewhere|s#^RUN scripts/deps.sh build#RUN apt-get install -y gcc#|RUN scripts/deps.sh build
more_than_the_binary|s#^COPY --from=build .*#COPY --from=build /src /src#|copy only the binary
shell_entrypoint|s#^ENTRYPOINT .*#ENTRYPOINT /usr/local/bin/ksiss run#|ENTRYPOINT must be
no_expose|/^EXPOSE/d|EXPOSE 8080 missing
unknown_instruction|$a VOLUME /data|VOLUME is not understood
EOF_CASES

finish
