#!/usr/bin/env bash
# End-to-end test of the Kubernetes client, informer, leader election,
# Events and live inventory against the local control plane's REAL
# kube-apiserver (make cluster-up; docs/local-cluster.md). Uses $KUBECONFIG
# when set, else the local cluster's admin kubeconfig. Usage:
#   tests/e2e/test_kube_client.sh build/e2e/test_kube_client
set -euo pipefail
BIN=${1:?usage: $0 path/to/test_kube_client}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
if [ -z "${KUBECONFIG:-}" ]; then
  CACHE=${KSISS_CACHE:-$HOME/.cache/ksiss-cluster}
  KUBECONFIG=${KSISS_CLUSTER_DIR:-$CACHE/run}/kubeconfig
fi
if [ ! -r "${KUBECONFIG%%:*}" ]; then
  echo "e2e-kube: no kubeconfig at ${KUBECONFIG%%:*}: start the local control plane first (make cluster-up)" >&2
  exit 1
fi
export KUBECONFIG
cd "$ROOT"
echo "e2e-kube: against $(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')"
exec timeout 300 "$BIN"
