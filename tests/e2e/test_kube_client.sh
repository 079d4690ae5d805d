#!/usr/bin/env bash
# End-to-end test of the Kubernetes client, informer, leader election,
# Events and live inventory against the local control plane's REAL
# kube-apiserver (make cluster-up; docs/local-cluster.md). Uses $KUBECONFIG
# when set, else the local cluster's admin kubeconfig. Usage:
#   tests/e2e/test_kube_client.sh build/e2e/test_kube_client
set -euo pipefail
BIN=${1:?usage: $0 path/to/test_kube_client}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER_DIR=${KSISS_CLUSTER_DIR:-${KSISS_CACHE:-$HOME/.cache/ksiss-cluster}/run}
# The local control plane writes its settings for tests there (a KUBECONFIG
# already set wins).
GIVEN_KUBECONFIG=${KUBECONFIG:-}
if [ -r "$CLUSTER_DIR/cluster.env" ]; then
  set -a
  # shellcheck disable=SC1091
  . "$CLUSTER_DIR/cluster.env"
  set +a
fi
KUBECONFIG=${GIVEN_KUBECONFIG:-${KUBECONFIG:-$CLUSTER_DIR/kubeconfig}}
if [ ! -r "${KUBECONFIG%%:*}" ]; then
  echo "e2e-kube: no kubeconfig at ${KUBECONFIG%%:*}: start the local control plane first (make cluster-up)" >&2
  exit 1
fi
export KUBECONFIG
cd "$ROOT"

# Client-certificate authentication with embedded *-data, when the local
# cluster's CA key is at hand: a kubeconfig for user CN=ksiss-e2e-cert in
# group system:masters, signed by the cluster CA.
PKI=$CLUSTER_DIR/pki
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if [ -r "$PKI/ca.key" ] && command -v openssl >/dev/null; then
  openssl req -new -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -subj "/O=system:masters/CN=ksiss-e2e-cert"     -out "$TMP/req.csr" 2>/dev/null
  openssl x509 -req -in "$TMP/req.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial     -CAserial "$TMP/ca.srl" -days 1 -out "$TMP/cert.pem" 2>/dev/null
  server=$(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')
  cat >"$TMP/kubeconfig" <<Y
apiVersion: v1
kind: Config
current-context: cert
clusters:
- name: local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 <"$PKI/ca.crt")
users:
- name: cert
  user:
    client-certificate-data: $(base64 -w0 <"$TMP/cert.pem")
    client-key-data: $(base64 -w0 <"$TMP/key.pem")
contexts:
- name: cert
  context: {cluster: local, user: cert, namespace: default}
Y
  export KSISS_E2E_CERT_KUBECONFIG="$TMP/kubeconfig"
fi
echo "e2e-kube: against $(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')"
# a test skipped for want of the CA key or the non-admin user is reported
# as skipped (cmocka's skip() alone passes), in the last line of make e2e too
timeout 300 tests/lib/cmocka_run.sh "$BIN"
