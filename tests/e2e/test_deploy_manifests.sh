#!/usr/bin/env bash
# test_deploy_manifests.sh: deploy/ against the local control plane's REAL
# kube-apiserver (make cluster-up; docs/local-cluster.md), as `make e2e-deploy`:
#  1. server-side validation (`kubectl apply --dry-run=server`), then a real
#     apply, of the manifests rendered as `make deploy` renders them (here
#     into throw-away namespaces, with the cluster-scoped names suffixed so
#     that nothing another suite relies on is touched);
#  2. the Deployment's pod template is admitted under the namespace's
#     "restricted" Pod Security level (its ReplicaSet creates the pods; no
#     image is pulled: they need not become Ready);
#  3. RBAC, asked of the apiserver with `kubectl auth can-i --as` the
#     ServiceAccount: every grant of tests/check_manifests.rbac (= the calls
#     in src/shell/) is allowed, every other verb on those resources and a
#     list of dangerous ones are denied, and `auth can-i --list` shows
#     nothing beyond the table;
#  4. `ksiss run` with that ServiceAccount's token (exactly these roles) and
#     the Deployment's env and args, dry-run: it gets ready, takes the Lease
#     in K-SISS's namespace, and no API request is refused (no 403 in its
#     /metrics); the dashboard's metrics are all in that /metrics.
# Uses $KUBECONFIG when set, else the local cluster's admin kubeconfig.
# Leaves nothing behind (namespaces, cluster-scoped objects, processes).
# Output and counting: tests/lib/suite.sh.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CACHE=${KSISS_CACHE:-$HOME/.cache/ksiss-cluster}
if [ -z "${KUBECONFIG:-}" ]; then KUBECONFIG=${KSISS_CLUSTER_DIR:-$CACHE/run}/kubeconfig; fi
export KUBECONFIG
KUBECTL=${KUBECTL:-$CACHE/bin/kubectl}
[ -x "$KUBECTL" ] || KUBECTL=$(command -v kubectl || true)
KSISS=${KSISS:-build/ksiss}
CHECK_MANIFESTS=${CHECK_MANIFESTS:-build/tests/check_manifests}
TABLE=tests/check_manifests.rbac
. tests/lib/suite.sh
suite_init e2e-deploy ksiss-e2e-deploy

[ -r "${KUBECONFIG%%:*}" ] || die setup "no kubeconfig at ${KUBECONFIG%%:*}: start the local control plane first (make cluster-up)"
[ -n "$KUBECTL" ] || die setup "no kubectl (make cluster-build builds one into $CACHE/bin)"
k() { timeout 60 "$KUBECTL" "$@"; }
k get --raw /readyz >/dev/null 2>&1 || die setup "the apiserver of $KUBECONFIG does not answer /readyz (make cluster-up)"
log "against $(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')"

id=$$
KNS=ksiss-e2e-deploy-$id          # K-SISS's namespace (ksiss-system in deploy/)
MNS=ksiss-e2e-managed-$id         # the managed namespace (default in deploy/)
CR=ksiss-e2e-deploy-$id           # the ClusterRole / binding (ksiss in deploy/)
SA=system:serviceaccount:$KNS:ksiss
tmp=$TMP
R=$tmp/deploy
ksiss_pid=""
suite_on_exit() {
  if [ -n "$ksiss_pid" ]; then kill "$ksiss_pid" 2>/dev/null; wait "$ksiss_pid" 2>/dev/null; fi
  k delete namespace "$KNS" "$MNS" --ignore-not-found --wait=false >/dev/null 2>&1
  k delete clusterrolebinding "$CR" --ignore-not-found >/dev/null 2>&1
  k delete clusterrole "$CR" --ignore-not-found >/dev/null 2>&1
}

# ---- 1. render as `make deploy` does, then suffix the cluster-scoped names
make -s --no-print-directory deploy-render DEPLOY_RENDERED="$R" KSISS_NAMESPACE="$KNS" KSISS_MANAGED_NAMESPACE="$MNS" \
  || die "make deploy-render"
sed -i "s/^  name: ksiss\$/  name: $CR/" "$R/clusterrole.yaml" "$R/clusterrolebinding.yaml"
grep -q "name: $CR" "$R/clusterrole.yaml" && grep -c "name: $CR" "$R/clusterrolebinding.yaml" | grep -q 2 \
  || die setup "could not rename the ClusterRole for the test"

if out=$(k apply --dry-run=server -f "$R/namespace.yaml" -f "$R/clusterrole.yaml" -f "$R/clusterrolebinding.yaml" 2>&1); then
  ok "server-side dry run: Namespace, ClusterRole, ClusterRoleBinding"
else ko "server-side dry run of the cluster-scoped objects: $out"; fi
k create namespace "$MNS" >/dev/null || die "create the managed namespace"
k apply -f "$R/namespace.yaml" >/dev/null || die "apply namespace.yaml"
if out=$(k apply --dry-run=server -f "$R/" 2>&1); then ok "server-side dry run of every manifest in deploy/"
else ko "server-side dry run of deploy/: $out"; fi
if k get crd servicemonitors.monitoring.coreos.com >/dev/null 2>&1; then
  if out=$(k apply --dry-run=server -f "$R/optional/" 2>&1); then ok "server-side dry run of deploy/optional/"
  else ko "server-side dry run of deploy/optional/: $out"; fi
else skip_check "server-side dry run of deploy/optional/" "no ServiceMonitor CRD in this cluster"; fi
if out=$(k apply -f "$R/" 2>&1); then ok "kubectl apply -f deploy/ (after namespace.yaml)"
else ko "kubectl apply -f deploy/: $out"; fi
for obj in "namespace/$KNS" "clusterrole/$CR" "clusterrolebinding/$CR" "-n $KNS serviceaccount/ksiss" \
           "-n $KNS role/ksiss-leader-election" "-n $KNS rolebinding/ksiss-leader-election" \
           "-n $KNS deployment/ksiss" "-n $KNS service/ksiss-metrics" "-n $KNS poddisruptionbudget/ksiss" \
           "-n $MNS configmap/autoscaler-config"; do
  # shellcheck disable=SC2086
  k get $obj >/dev/null 2>&1 && ok "exists: $obj" || ko "missing after apply: $obj"
done
# the ConfigMap as the apiserver stores it is a valid K-SISS configuration
if k get -n "$MNS" configmap autoscaler-config -o yaml >"$tmp/cm.yaml" 2>/dev/null; then
  out=$("$KSISS" check-config "$tmp/cm.yaml" 2>&1); rc=$?
  if [ $rc = 0 ]; then ok "the stored ConfigMap passes ksiss check-config"
  else ko "the stored ConfigMap fails ksiss check-config: $out"; fi
else ko "cannot read back ConfigMap autoscaler-config from $MNS"; fi

# ---- 2. Pod Security "restricted" admits the pod template
pods=0
for _ in $(seq 60); do
  pods=$(k get pods -n "$KNS" -l app.kubernetes.io/name=ksiss --no-headers 2>/dev/null | wc -l)
  [ "$pods" -ge 2 ] && break
  sleep 0.5
done
if [ "$pods" -ge 2 ]; then ok "the ReplicaSet created $pods pods under Pod Security 'restricted'"
else
  why=$(k get events -n "$KNS" --field-selector reason=FailedCreate -o jsonpath='{.items[*].message}' 2>/dev/null)
  ko "the Deployment's pods were not created within 30 s${why:+: $why}"
fi

# ---- 3. RBAC as the ServiceAccount
ALL_VERBS="get list watch create update patch delete deletecollection"
can() { # can VERB RESOURCE NAMESPACE(or -) -> 0 yes, 1 no
  if [ "$3" = - ]; then k auth can-i "$1" "$2" --as="$SA" >/dev/null 2>&1
  else k auth can-i "$1" "$2" --as="$SA" -n "$3" >/dev/null 2>&1; fi
}
declare -A granted=()
can_ok=0 can_bad=0
while read -r scope group res verbs; do
  [ -z "$scope" ] && continue
  r=$res; [ "$group" != core ] && r=$res.$group
  IFS=, read -ra vs <<<"$verbs"
  for v in "${vs[@]}"; do granted["$scope $r $v"]=1; done
  for v in $ALL_VERBS; do
    want=no; [ -n "${granted[$scope $r $v]+x}" ] && want=yes
    if [ "$scope" = namespace ]; then
      where=("$KNS" "$MNS" kube-system); expect=("$want" no no)
    elif [ "$res" = nodes ]; then
      where=(-); expect=("$want")
    else
      where=("$MNS" kube-system); expect=("$want" "$want")
    fi
    for i in "${!where[@]}"; do
      if can "$v" "$r" "${where[$i]}"; then got=yes; else got=no; fi
      if [ "$got" = "${expect[$i]}" ]; then can_ok=$((can_ok + 1))
      else ko "can-i $v $r in ${where[$i]}: got $got, want ${expect[$i]}"; can_bad=$((can_bad + 1)); fi
    done
  done
done < <(sed 's/#.*//' "$TABLE" | grep -v '^[[:space:]]*$')
[ $can_bad = 0 ] && [ $can_ok -gt 0 ] && ok "auth can-i: $can_ok answers, every grant of $TABLE allowed where it should be, every other verb on those resources denied"
[ $can_ok -gt 0 ] || ko "auth can-i: nothing asked (empty $TABLE?)"

# nothing dangerous or unrelated
while read -r v r ns; do
  [ -z "$v" ] && continue
  if can "$v" "$r" "$ns"; then ko "the ServiceAccount may $v $r in $ns"; else ok "denied: $v $r in $ns"; fi
done <<EOF_DENY
get secrets $MNS
list secrets $KNS
get secrets kube-system
create pods $MNS
create pods/exec $MNS
create serviceaccounts/token $KNS
patch deployments.apps $KNS
update configmaps $MNS
create configmaps $KNS
update leases.coordination.k8s.io kube-node-lease
create services.serving.knative.dev $MNS
delete services.serving.knative.dev $MNS
bind clusterroles.rbac.authorization.k8s.io -
escalate clusterroles.rbac.authorization.k8s.io -
create clusterrolebindings.rbac.authorization.k8s.io -
* * $MNS
* * -
EOF_DENY

# the apiserver's own list of what the ServiceAccount may do, minus what every
# authenticated user may (system:basic-user, system:discovery, ...)
for ns in "$MNS" "$KNS"; do
  extra=$(k auth can-i --list --as="$SA" -n "$ns" 2>/dev/null | awk 'NR > 1 && $1 !~ /^\[/ && $1 != "" { print $1 }' |
          grep -vE '^(selfsubject(access|rules)reviews\.authorization\.k8s\.io|selfsubjectreviews\.authentication\.k8s\.io)$' |
          while read -r r; do
            base=${r%%.*}; grp=${r#*.}; [ "$grp" = "$r" ] && grp=core
            grep -qE "^[a-z]+[[:space:]]+$grp[[:space:]]+$base[[:space:]]" <(sed 's/#.*//' "$TABLE") || echo "$r"
          done)
  if [ -z "$extra" ]; then ok "auth can-i --list in $ns: no resource beyond the table"
  else ko "auth can-i --list in $ns shows resources outside $TABLE: $extra"; fi
done

# ---- 4. ksiss run with exactly these roles
token=$(k create token ksiss -n "$KNS" --duration=10m 2>/dev/null)
server=$(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')
ca=$(grep -m1 'certificate-authority:' "${KUBECONFIG%%:*}" | awk '{print $2}')
cad=$(grep -m1 'certificate-authority-data:' "${KUBECONFIG%%:*}" | awk '{print $2}')
cat >"$tmp/kubeconfig" <<EOF_KC
apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: $server
    ${ca:+certificate-authority: $ca}${cad:+certificate-authority-data: $cad}
users:
- name: ksiss-sa
  user:
    token: $token
contexts:
- name: e2e
  context: {cluster: e2e, user: ksiss-sa, namespace: $KNS}
current-context: e2e
EOF_KC
chmod 600 "$tmp/kubeconfig"
free_port() { local p; for _ in $(seq 50); do p=$((20000 + RANDOM % 20000)); ss -ltn 2>/dev/null | grep -q ":$p " || { echo $p; return; }; done; echo 0; }
mport=$(free_port); pport=$(free_port)   # pport: nothing listens there (Prometheus down: hold)
# configured as the Deployment configures it: its env and args (the
# downward API filled in); only the cluster access, Prometheus (nothing
# listens: metrics missing, K-SISS holds), the listen port and --dry-run
# differ.
envv=(POD_NAME=e2e-deploy-0 POD_NAMESPACE="$KNS") argv=()
while IFS= read -r l; do envv+=("$l"); done < <("$CHECK_MANIFESTS" env "$R/deployment.yaml")
while IFS= read -r l; do l=${l//\$(POD_NAMESPACE)/$KNS}; argv+=("${l//\$(POD_NAME)/e2e-deploy-0}"); done \
  < <("$CHECK_MANIFESTS" args "$R/deployment.yaml")
grep -q "^NAMESPACE=$MNS\$" < <(printf '%s\n' "${envv[@]}") || ko "the rendered Deployment's NAMESPACE is not $MNS"
env -i PATH="$PATH" HOME="$HOME" "${envv[@]}" \
  "$KSISS" run "${argv[@]}" --kubeconfig "$tmp/kubeconfig" \
  --prometheus "http://127.0.0.1:$pport" --listen "127.0.0.1:$mport" --dry-run >"$tmp/run.log" 2>&1 &
ksiss_pid=$!
ready=no
for _ in $(seq 60); do
  curl -fsS --max-time 2 "http://127.0.0.1:$mport/readyz" >/dev/null 2>&1 && { ready=yes; break; }
  kill -0 "$ksiss_pid" 2>/dev/null || break
  sleep 0.5
done
[ $ready = yes ] && ok "ksiss run with the ServiceAccount's token is ready" || ko "ksiss run never became ready: $(tail -5 "$tmp/run.log")"
holder=""
for _ in $(seq 40); do
  holder=$(k get lease -n "$KNS" -o jsonpath='{.items[*].spec.holderIdentity}' 2>/dev/null)
  [ -n "$holder" ] && break
  sleep 0.5
done
[ -n "$holder" ] && ok "it holds the leader Lease in $KNS ($holder)" || ko "no Lease taken in $KNS (role.yaml?)"
sleep "${KSISS_E2E_RUN_SECONDS:-12}"   # a tick or two (METRICS_SCRAPE_INTERVAL 10 s)
curl -fsS --max-time 2 "http://127.0.0.1:$mport/metrics" >"$tmp/metrics.txt" 2>/dev/null || true
if grep -E '^ksiss_kubernetes_requests_total\{.*code="(401|403)"' "$tmp/metrics.txt" >&2; then
  ko "API requests refused (401/403) with the deploy/ roles: see above; log: $(grep -i forbidden "$tmp/run.log" | head -3)"
elif grep -q '^ksiss_kubernetes_requests_total{' "$tmp/metrics.txt"; then
  ok "no API request refused in $(grep -c '^ksiss_kubernetes_requests_total{' "$tmp/metrics.txt") request series"
else ko "no ksiss_kubernetes_requests_total series in /metrics"; fi
grep -qi "forbidden" "$tmp/run.log" && ko "the log mentions a forbidden request: $(grep -i forbidden "$tmp/run.log" | head -3)"
# the dashboard's metrics, scraped from the real process
if METRICS_URL="http://127.0.0.1:$mport/metrics" tests/check_dashboard.sh >/dev/null 2>&1; then
  ok "the dashboard's metrics and labels are all in the running ksiss's /metrics"
else ko "tests/check_dashboard.sh against the running ksiss's /metrics failed"; fi
kill -TERM "$ksiss_pid" 2>/dev/null
for _ in $(seq 40); do kill -0 "$ksiss_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$ksiss_pid" 2>/dev/null; then ko "ksiss run did not stop within 20 s of SIGTERM"; kill -KILL "$ksiss_pid"; fi
wait "$ksiss_pid" 2>/dev/null; ksiss_pid=""

finish
