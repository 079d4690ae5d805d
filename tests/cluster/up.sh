#!/usr/bin/env bash
# Starts the local Kubernetes + Knative control plane (see docs/local-cluster.md).
# Every cluster process runs inside the network namespace $KSISS_NETNS, which
# has only `lo`: no fake pod IP (10.x) can ever be reached. nsfwd exposes the
# kube-apiserver on 127.0.0.1:$KSISS_APISERVER_PORT of the root namespace.
# The last line printed is KUBECONFIG=<absolute path>.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
T0=$(date +%s)
log() { echo "[up +$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "[up] ERROR: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (ip netns); run as root"
for t in ip openssl; do command -v $t >/dev/null || die "$t missing: apt-get install -y iproute2 openssl"; done
"$HERE/build.sh"
if ip netns list 2>/dev/null | grep -qw "$KSISS_NETNS" || [ -f "$KSISS_CLUSTER_DIR/pids/nsfwd.pid" ]; then
  log "a cluster seems to be running already; stopping it first"
  "$HERE/down.sh"
fi

D=$KSISS_CLUSTER_DIR
# on any failure: stop what was started (logs stay in $D/logs), unless asked not to
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ] && [ -z "${KSISS_KEEP_ON_FAIL:-}" ]; then
    echo "[up] failed (exit $rc); stopping what was started; logs: $D/logs (KSISS_KEEP_ON_FAIL=1 keeps it running)" >&2
    "$HERE/down.sh" >&2 || true
  fi
}
trap cleanup EXIT
# The CA, certificates and tokens of a previous run are kept (clients that
# read them once keep working across a restart); everything else is new.
# KSISS_NEW_CREDENTIALS=1 makes new ones.
if [ -n "${KSISS_NEW_CREDENTIALS:-}" ] || [ ! -s "$D/pki/apiserver.crt" ] || [ ! -s "$D/admin.token" ] || [ ! -s "$D/autoscaler.token" ]; then
  rm -rf "$D"
fi
rm -rf "$D/logs" "$D/pids" "$D/etcd"
mkdir -p "$D/pki" "$D/logs" "$D/pids" "$D/etcd"
log "state directory: $D"

# ---- network namespace with only lo ------------------------------------
ip netns add "$KSISS_NETNS"
nsexec ip link set lo up
# DNS inside the namespace stays on loopback too (ip netns exec bind-mounts this)
mkdir -p "/etc/netns/$KSISS_NETNS"
echo "nameserver 127.0.0.1" > "/etc/netns/$KSISS_NETNS/resolv.conf"
log "network namespace $KSISS_NETNS: $(nsexec ip -o link show | awk -F': ' '{print $2}' | tr '\n' ' ')"

# ---- certificates and tokens ------------------------------------------
P=$D/pki
if [ ! -s "$P/apiserver.crt" ]; then
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ksiss-local-ca" \
  -keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
cat > "$P/apiserver.ext" <<X
subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
extendedKeyUsage=serverAuth
X
openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout "$P/apiserver.key" -out "$P/apiserver.csr" 2>/dev/null
openssl x509 -req -in "$P/apiserver.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 3650 \
  -extfile "$P/apiserver.ext" -out "$P/apiserver.crt" 2>/dev/null
openssl genrsa -out "$P/sa.key" 2048 2>/dev/null
openssl rsa -in "$P/sa.key" -pubout -out "$P/sa.pub" 2>/dev/null
fi
ADMIN_TOKEN=$(cat "$D/admin.token" 2>/dev/null || openssl rand -hex 24)
AUTOSCALER_TOKEN=$(cat "$D/autoscaler.token" 2>/dev/null || openssl rand -hex 24)
printf '%s\n' "$ADMIN_TOKEN" > "$D/admin.token"
printf '%s\n' "$AUTOSCALER_TOKEN" > "$D/autoscaler.token"
chmod 600 "$D/admin.token" "$D/autoscaler.token"
cat > "$D/tokens.csv" <<X
$ADMIN_TOKEN,admin,admin-uid,"system:masters"
$AUTOSCALER_TOKEN,ksiss-autoscaler,ksiss-autoscaler-uid,
X
kubeconfig() { # kubeconfig FILE USER TOKEN
  cat > "$1" <<X
apiVersion: v1
kind: Config
clusters:
- name: ksiss-local
  cluster:
    server: https://127.0.0.1:$KSISS_APISERVER_PORT
    certificate-authority: $P/ca.crt
users:
- name: $2
  user:
    token: $3
contexts:
- name: ksiss-local
  context: {cluster: ksiss-local, user: $2}
current-context: ksiss-local
X
  chmod 600 "$1"
}
kubeconfig "$KUBECONFIG_ADMIN" admin "$ADMIN_TOKEN"
kubeconfig "$KUBECONFIG_AUTOSCALER" ksiss-autoscaler "$AUTOSCALER_TOKEN"
log "certificates, tokens and kubeconfigs in $D"

# ---- processes ----------------------------------------------------------
# start NAME CMD...: runs CMD inside the namespace, log in logs/NAME.log
start() {
  local n=$1; shift
  setsid ip netns exec "$KSISS_NETNS" "$@" >"$D/logs/$n.log" 2>&1 < /dev/null &
  echo $! > "$D/pids/$n.pid"
}
# start_restarting NAME CMD...: like start, but CMD is started again 1 s
# after it exits, as the kubelet restarts a crashed pod of a Deployment or
# a static pod: Knative v0.42.2's autoscaler panics on a Lease tombstone
# (cache.DeletedFinalStateUnknown) when its watch relists after a
# kube-apiserver restart, which the fault suite does on purpose. Each
# restart is a line in the component's log. The pid file holds the loop's
# shell (its process group is what down.sh stops).
start_restarting() {
  local n=$1; shift
  setsid ip netns exec "$KSISS_NETNS" bash -c 'n=$1; shift
    while :; do "$@"; rc=$?; echo "[up.sh] $n exited ($rc) at $(date -u +%FT%TZ); restarting in 1 s"; sleep 1; done' \
    restarting "$n" "$@" >"$D/logs/$n.log" 2>&1 < /dev/null &
  echo $! > "$D/pids/$n.pid"
}
# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds
wait_for() {
  local what=$1 max=$2 i=0; shift 2
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -le $((max * 2)) ] || { tail -30 "$D"/logs/*.log >&2; die "timed out waiting for $what"; }
    sleep 0.5
  done
  log "$what ready"
}
B=$BIN_DIR
start etcd "$B/etcd" --name ksiss --data-dir "$D/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "ksiss=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --listen-metrics-urls "http://127.0.0.1:$((ETCD_PORT + 2))" \
  --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
start kube-apiserver "$B/kube-apiserver" \
  --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
  --bind-address 127.0.0.1 --secure-port "$KSISS_APISERVER_PORT" \
  --advertise-address 10.255.255.1 --endpoint-reconciler-type none \
  --tls-cert-file "$P/apiserver.crt" --tls-private-key-file "$P/apiserver.key" \
  --client-ca-file "$P/ca.crt" --token-auth-file "$D/tokens.csv" \
  --authorization-mode Node,RBAC \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$P/sa.pub" --service-account-signing-key-file "$P/sa.key" \
  --service-cluster-ip-range 10.96.0.0/16 --allow-privileged=true --profiling=false \
  --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultStorageClass,ResourceQuota,NodeRestriction
# nsfwd runs in the ROOT namespace: it exposes the apiserver there
setsid "$B/nsfwd" "127.0.0.1:$KSISS_APISERVER_PORT" "/var/run/netns/$KSISS_NETNS" "127.0.0.1:$KSISS_APISERVER_PORT" \
  >"$D/logs/nsfwd.log" 2>&1 < /dev/null &
echo $! > "$D/pids/nsfwd.pid"
wait_for "kube-apiserver (via nsfwd 127.0.0.1:$KSISS_APISERVER_PORT)" 90 kc get --raw /readyz
log "server version: $(kc version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -1)"

start_restarting kube-controller-manager "$B/kube-controller-manager" --kubeconfig "$KUBECONFIG_ADMIN" \
  --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port 10257 \
  --service-account-private-key-file "$P/sa.key" --root-ca-file "$P/ca.crt" \
  --use-service-account-credentials=false --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-node-route-controller' \
  --concurrent-deployment-syncs 10 --concurrent-replicaset-syncs 10 --concurrent-gc-syncs 10
start_restarting kube-scheduler "$B/kube-scheduler" --kubeconfig "$KUBECONFIG_ADMIN" \
  --authentication-kubeconfig "$KUBECONFIG_ADMIN" --authorization-kubeconfig "$KUBECONFIG_ADMIN" \
  --leader-elect=false --bind-address 127.0.0.1 --secure-port 10259
start_restarting kwok "$B/kwok" --kubeconfig "$KUBECONFIG_ADMIN" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
  --config "$KSISS_CACHE/kwok-stages-v$KWOK_VERSION.yaml" --node-lease-duration-seconds 40 \
  --cidr 10.244.0.0/16 --node-ip 10.255.255.1 --server-address 127.0.0.1:10247

# RBAC for the non-admin credential: user ksiss-autoscaler gets the
# autoscaler's own ClusterRole (created later by `make deploy`).
kc apply -f - >/dev/null <<X
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ksiss-autoscaler-e2e-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${KSISS_AUTOSCALER_CLUSTERROLE:-ksiss-autoscaler}}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: ksiss-autoscaler}
X

# ---- fake GPU nodes -----------------------------------------------------
"$HERE/nodes.sh" apply "${KSISS_INVENTORY:-$HERE/inventory.yaml}"

# ---- Knative Serving ----------------------------------------------------
kc apply -f "$HERE/knative-config.yaml" >/dev/null
for f in "$KSISS_CACHE/knative-crds-v$KNATIVE_VERSION"/*.yaml; do
  kc apply --server-side -f "$f" >/dev/null
done
wait_for "Knative CRDs established" 60 kc wait --for condition=established --timeout=1s \
  crd/services.serving.knative.dev crd/revisions.serving.knative.dev crd/podautoscalers.autoscaling.internal.knative.dev \
  crd/ingresses.networking.internal.knative.dev crd/serverlessservices.networking.internal.knative.dev
KNENV=(env SYSTEM_NAMESPACE=knative-serving METRICS_DOMAIN=knative.dev/serving)
start_restarting knative-controller "${KNENV[@]}" POD_NAME=controller-0 PROFILING_PORT=18008 \
  "$B/knative-controller" --kubeconfig "$KUBECONFIG_ADMIN"
start_restarting knative-autoscaler "${KNENV[@]}" POD_NAME=autoscaler-0 POD_IP=10.255.255.3 PROFILING_PORT=18009 \
  "$B/knative-autoscaler" --kubeconfig "$KUBECONFIG_ADMIN"
start_restarting ksiss-statpusher "$B/ksiss-statpusher" --kubeconfig "$KUBECONFIG_ADMIN" --autoscaler ws://127.0.0.1:8080
start kingress-patcher env KUBECONFIG="$KUBECONFIG_ADMIN" KUBECTL="$KUBECTL" "$HERE/kingress-patcher.sh"

# The autoscaler publishes POD_IP in the Endpoints of its bucket Service and
# the API rejects loopback addresses there; 10.255.255.3 is never contacted
# (single autoscaler: it owns every bucket, nothing is forwarded).
wait_for "Knative autoscaler bucket lease" 60 kc get endpoints -n knative-serving autoscaler-bucket-00-of-01
wait_for "fake GPU nodes Ready" 60 kc wait --for condition=Ready --timeout=1s node -l ksiss.dev/inventory=true
wait_for "default service account" 60 kc get serviceaccount default -n default
for n in etcd kube-apiserver kube-controller-manager kube-scheduler kwok knative-controller knative-autoscaler ksiss-statpusher kingress-patcher nsfwd; do
  kill -0 "$(cat "$D/pids/$n.pid")" 2>/dev/null || { tail -30 "$D/logs/$n.log" >&2; die "$n exited; log: $D/logs/$n.log"; }
done
# everything an e2e test needs, as shell variables (source it)
cat > "$D/cluster.env" <<X
KUBECONFIG=$KUBECONFIG_ADMIN
KSISS_KUBECONFIG_AUTOSCALER=$KUBECONFIG_AUTOSCALER
KSISS_APISERVER=https://127.0.0.1:$KSISS_APISERVER_PORT
KSISS_CA_FILE=$P/ca.crt
KSISS_ADMIN_TOKEN_FILE=$D/admin.token
KSISS_AUTOSCALER_TOKEN_FILE=$D/autoscaler.token
KSISS_AUTOSCALER_USER=ksiss-autoscaler
KSISS_KUBECTL=$KUBECTL
KSISS_NETNS=$KSISS_NETNS
X
log "control plane up in $(( $(date +%s) - T0 ))s; apiserver https://127.0.0.1:$KSISS_APISERVER_PORT (CA $P/ca.crt)"
log "admin token: $D/admin.token; non-admin token (user ksiss-autoscaler): $D/autoscaler.token (kubeconfig $KUBECONFIG_AUTOSCALER)"
log "variables for tests: $D/cluster.env; logs: $D/logs; kubectl: $KUBECTL"
echo "KUBECONFIG=$KUBECONFIG_ADMIN"
