#!/usr/bin/env bash
# capture.sh: refreshes tests/bench/templates/ from REAL objects. On a
# running local cluster with its Knative controller (make cluster-up, same
# KSISS_* environment), creates the Knative Service `benchtpl` (2 instances
# on nvidia.com/mig-1g.10gb) in namespace ksiss-bench, waits until the
# Knative controller has reconciled it (Ready, 2 pods Running), and saves
# the Service, its Revision, PodAutoscaler, one pod and an inventory Node as
# JSON without the fields the API server sets (uid, resourceVersion,
# managedFields, ...). `ksiss-bench populate` clones them for the scale
# benchmark. Deletes the namespace afterwards. Every wait is bounded.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/cluster/common.sh"
OUT=${1:-$ROOT/tests/bench/templates}
NS=ksiss-bench
kc get --raw /readyz >/dev/null || { echo "capture: no cluster answers: make cluster-up first" >&2; exit 1; }
kc create namespace "$NS" >/dev/null 2>&1 || true
kc apply -n "$NS" -f - >/dev/null <<'Y'
apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: benchtpl
  labels: {app.kubernetes.io/part-of: llm-serving}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
        autoscaling.knative.dev/min-scale: "2"
        autoscaling.knative.dev/max-scale: "2"
    spec:
      containerConcurrency: 0
      timeoutSeconds: 300
      enableServiceLinks: false
      containers:
      - name: user-container
        image: dev.local/ksiss/vllm-openai:v0.6.3
        args: [--model, /models/benchtpl, --served-model-name, benchtpl, --max-model-len, "8192", --gpu-memory-utilization, "0.9"]
        ports: [{name: http1, containerPort: 8080}]
        readinessProbe: {successThreshold: 1, tcpSocket: {port: 0}}
        env:
        - {name: MODEL_NAME, value: benchtpl}
        - {name: VLLM_PORT, value: "8080"}
        - {name: HF_HOME, value: /models/cache}
        resources:
          requests: {cpu: 500m, memory: 1Gi, nvidia.com/mig-1g.10gb: "1"}
          limits: {nvidia.com/mig-1g.10gb: "1"}
  traffic:
  - {latestRevision: true, percent: 100}
Y
ok=
for i in $(seq 1 120); do
  ready=$(kc get ksvc benchtpl -n "$NS" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)
  running=$(kc get pods -n "$NS" -l serving.knative.dev/service=benchtpl --field-selector=status.phase=Running -o name 2>/dev/null | wc -l)
  if [ "$ready" = True ] && [ "$running" -ge 2 ]; then ok=1; break; fi
  sleep 1
done
[ -n "$ok" ] || { echo "capture: benchtpl not Ready with 2 pods Running within 120 s" >&2; exit 1; }
sleep 3   # let the revision's and autoscaler's status settle (actualReplicas)
clean='del(.metadata.uid, .metadata.resourceVersion, .metadata.creationTimestamp, .metadata.managedFields,
           .metadata.ownerReferences, .metadata.generation, .metadata.selfLink, .metadata.finalizers,
           .metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"])'
mkdir -p "$OUT"
kc get ksvc benchtpl -n "$NS" -o json | jq "$clean" > "$OUT/service.json"
rev=$(kc get ksvc benchtpl -n "$NS" -o 'jsonpath={.status.latestReadyRevisionName}')
kc get revision "$rev" -n "$NS" -o json | jq "$clean" > "$OUT/revision.json"
kc get podautoscaler "$rev" -n "$NS" -o json | jq "$clean" > "$OUT/podautoscaler.json"
pod=$(kc get pods -n "$NS" -l serving.knative.dev/service=benchtpl -o 'jsonpath={.items[0].metadata.name}')
kc get pod "$pod" -n "$NS" -o json | jq "$clean" > "$OUT/pod.json"
kc get node gpu-node-mig-small -o json | jq "$clean | del(.status)" > "$OUT/node.json"
kc delete namespace "$NS" --wait=false >/dev/null
echo "capture: Service, Revision $rev, PodAutoscaler, pod $pod, node gpu-node-mig-small -> $OUT"
