# Versions of the upstream pieces of the local control plane (sourced by the
# other scripts). Every Go module below must be served by the Go module proxy
# reachable here; see docs/local-cluster.md for why these exact versions.
K8S_VERSION=${K8S_VERSION:-1.36.3}        # k8s.io/kubernetes (apiserver, KCM, scheduler, kubectl)
K8S_STAGING_VERSION=${K8S_STAGING_VERSION:-0.${K8S_VERSION#1.}}
ETCD_VERSION=${ETCD_VERSION:-3.6.16}      # go.etcd.io/etcd/server/v3
KWOK_VERSION=${KWOK_VERSION:-0.8.0}       # sigs.k8s.io/kwok
# knative.dev/serving v0.42.2 = Knative Serving 1.15.2. Newer tags (v0.51.0)
# depend on knative.dev/pkg, networking and caching pseudo-versions that the
# proxy here answers with 403 "This module version is not available".
KNATIVE_VERSION=${KNATIVE_VERSION:-0.42.2}
KSISS_CACHE=${KSISS_CACHE:-$HOME/.cache/ksiss-cluster}
BIN_DIR="$KSISS_CACHE/bin"
