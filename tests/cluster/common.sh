# Shared settings of the local control plane scripts (sourced).
HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
. "$HERE/versions.sh"
KSISS_NETNS=${KSISS_NETNS:-ksiss}
KSISS_CLUSTER_DIR=${KSISS_CLUSTER_DIR:-$KSISS_CACHE/run}
KSISS_APISERVER_PORT=${KSISS_APISERVER_PORT:-16443}
ETCD_PORT=${KSISS_ETCD_PORT:-12379}
KUBECONFIG_ADMIN="$KSISS_CLUSTER_DIR/kubeconfig"
KUBECONFIG_AUTOSCALER="$KSISS_CLUSTER_DIR/kubeconfig-autoscaler"
KUBECTL="$BIN_DIR/kubectl"
# kubectl as admin, from the root network namespace (through nsfwd)
kc() { "$KUBECTL" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
nsexec() { ip netns exec "$KSISS_NETNS" "$@"; }
