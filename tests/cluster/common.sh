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

# ksvc_yaml NAME NAMESPACE IMAGE_TAG RESOURCE COUNT [ENVNAME=VALUE]: a
# Knative Service (on stdout) as a user writes it, with every field
# Knative's webhook would default set explicitly (the local control plane
# has none: without the class annotation the KPA ignores the PodAutoscaler
# and no revision ever becomes Ready): one instance of the stand-in image
# dev.local/ksiss/fake-llm:IMAGE_TAG asking for COUNT of RESOURCE, all
# traffic on the latest revision; with ENVNAME=VALUE the container has that
# one environment variable.
ksvc_yaml() {
  local env=""
  [ -n "${6:-}" ] && env="
        env: [{name: ${6%%=*}, value: ${6#*=}}]"
  cat <<Y
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: $1, namespace: $2}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
        autoscaling.knative.dev/min-scale: "1"
        autoscaling.knative.dev/max-scale: "1"
    spec:
      containerConcurrency: 0
      timeoutSeconds: 300
      enableServiceLinks: false
      containers:
      - name: user-container
        image: dev.local/ksiss/fake-llm:$3
        ports: [{name: http1, containerPort: 8080}]
        readinessProbe: {successThreshold: 1, tcpSocket: {port: 0}}$env
        resources:
          requests: {cpu: 100m, memory: 128Mi, $4: "$5"}
          limits: {$4: "$5"}
  traffic:
  - {latestRevision: true, percent: 100}
Y
}
