#!/usr/bin/env bash
# Smoke test of the local control plane (issue 4). Needs a running cluster
# (tests/cluster/up.sh). Prints PASS/FAIL lines and "N passed, M failed"
# (tests/lib/suite.sh: counters, log, until_true).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
. "$HERE/../lib/suite.sh"
suite_init smoke ksiss-smoke
NS=${KSISS_SMOKE_NS:-ksiss-smoke}
jp() { kc get "$@" 2>/dev/null; }   # jp KIND NAME -n NS -o jsonpath=...
cond() { # cond KIND NAME TYPE -> status of condition TYPE
  jp "$1" "$2" -n "$NS" -o "jsonpath={.status.conditions[?(@.type==\"$3\")].status}"
}
is_ready() { [ "$(cond "$1" "$2" Ready)" = True ]; }

# ksvc NAME IMAGE_TAG RESOURCE COUNT: a Knative Service in $NS (ksvc_yaml).
ksvc() { ksvc_yaml "$1" "$NS" "$2" "$3" "$4"; }

kc get --raw /readyz >/dev/null 2>&1 || die setup "no cluster answers (run make cluster-up)"
kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=60s >/dev/null 2>&1
kc create namespace "$NS" >/dev/null
until_true 30 kc get serviceaccount default -n "$NS" || true

# 0. nodes and credentials
n=$(kc get nodes -l ksiss.dev/inventory=true --no-headers 2>/dev/null | grep -cw Ready)
[ "$n" -ge 4 ] && ok "$n fake GPU nodes Ready" || ko "fake GPU nodes Ready: $n (want >= 4)"
alloc=$(jp node gpu-node-mig-small -o 'jsonpath={.status.allocatable.nvidia\.com/mig-1g\.10gb}')
[ "$alloc" = 14 ] && ok "gpu-node-mig-small allocatable nvidia.com/mig-1g.10gb=14" || ko "gpu-node-mig-small mig-1g.10gb allocatable '$alloc'"
who=$("$KUBECTL" --kubeconfig "$KUBECONFIG_AUTOSCALER" auth whoami -o 'jsonpath={.status.userInfo.username}' 2>&1)
[ "$who" = ksiss-autoscaler ] && ok "non-admin token authenticates as ksiss-autoscaler" || ko "non-admin token: $who"
can=$("$KUBECTL" --kubeconfig "$KUBECONFIG_AUTOSCALER" auth can-i delete nodes 2>/dev/null)
[ "${can%% *}" = no ] && ok "non-admin token cannot delete nodes" || ko "non-admin token can delete nodes: '$can'"

# 1. a Service asking for one MIG slice becomes Ready within a minute
log "creating Service smoke (nvidia.com/mig-1g.10gb: 1)"
t=$(date +%s)
ksvc smoke v1 nvidia.com/mig-1g.10gb 1 | kc apply -f - >/dev/null
if until_true 60 is_ready ksvc smoke; then
  ok "Service smoke Ready in $(( $(date +%s) - t ))s"
else
  ko "Service smoke not Ready within 60s: $(jp ksvc smoke -n "$NS" -o 'jsonpath={.status.conditions}')"
fi
rev1=$(jp ksvc smoke -n "$NS" -o 'jsonpath={.status.latestReadyRevisionName}')
[ -n "$rev1" ] && is_ready revision "$rev1" && ok "Revision $rev1 Ready" || ko "no Ready Revision (got '$rev1')"
pod=$(jp pods -n "$NS" -l "serving.knative.dev/revision=$rev1" -o 'jsonpath={.items[0].metadata.name}')
node=$(jp pod "$pod" -n "$NS" -o 'jsonpath={.spec.nodeName}')
phase=$(jp pod "$pod" -n "$NS" -o 'jsonpath={.status.phase}')
has=$(jp node "$node" -o 'jsonpath={.status.allocatable.nvidia\.com/mig-1g\.10gb}')
if [ -n "$pod" ] && [ "$phase" = Running ] && [ "${has:-0}" -ge 1 ]; then
  ok "pod $pod Running on $node (allocatable nvidia.com/mig-1g.10gb=$has)"
else
  ko "pod '$pod' phase '$phase' on node '$node' (mig-1g.10gb allocatable '$has')"
fi

# 2. a template change creates a second Revision
log "changing the template"
kc patch ksvc smoke -n "$NS" --type=json \
  -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"dev.local/ksiss/fake-llm:v2"}]' >/dev/null
rev2_ready() { local r; r=$(jp ksvc smoke -n "$NS" -o 'jsonpath={.status.latestReadyRevisionName}'); [ -n "$r" ] && [ "$r" != "$rev1" ]; }
if until_true 60 rev2_ready; then
  rev2=$(jp ksvc smoke -n "$NS" -o 'jsonpath={.status.latestReadyRevisionName}')
  ok "template change created Revision $rev2, Ready"
else
  rev2=""; ko "no second Ready Revision within 60s: $(jp revisions -n "$NS" --no-headers)"
fi

# 2b. the KPA honours min-scale/max-scale on the PodAutoscaler (how an
# external autoscaler sets a revision's instance count here)
scaled_to() { [ "$(jp deploy "$rev2-deployment" -n "$NS" -o 'jsonpath={.spec.replicas}/{.status.readyReplicas}')" = "$1/$1" ]; }
if [ -n "$rev2" ]; then
  kc annotate kpa "$rev2" -n "$NS" --overwrite autoscaling.knative.dev/min-scale=2 autoscaling.knative.dev/max-scale=2 >/dev/null
  t=$(date +%s)
  if until_true 30 scaled_to 2; then ok "PodAutoscaler min/max-scale=2: Deployment $rev2-deployment at 2 ready pods in $(( $(date +%s) - t ))s"
  else ko "PodAutoscaler min/max-scale=2 not applied: $(jp kpa "$rev2" -n "$NS" --no-headers)"; fi
  kc annotate kpa "$rev2" -n "$NS" --overwrite autoscaling.knative.dev/min-scale=1 autoscaling.knative.dev/max-scale=1 >/dev/null
  until_true 30 scaled_to 1 || ko "PodAutoscaler min/max-scale=1 not applied"
fi

# 3. a traffic split in spec.traffic shows in status.traffic
if [ -n "$rev2" ]; then
  kc patch ksvc smoke -n "$NS" --type=merge -p "{\"spec\":{\"traffic\":[{\"revisionName\":\"$rev1\",\"percent\":30},{\"revisionName\":\"$rev2\",\"percent\":70}]}}" >/dev/null
  split() { [ "$(jp ksvc smoke -n "$NS" -o 'jsonpath={range .status.traffic[*]}{.revisionName}={.percent} {end}')" = "$rev1=30 $rev2=70 " ] && is_ready ksvc smoke; }
  if until_true 30 split; then ok "status.traffic shows $rev1=30 $rev2=70"; else
    ko "status.traffic: '$(jp ksvc smoke -n "$NS" -o 'jsonpath={.status.traffic}')'"; fi

  # 4. deleting an old Revision sticks (after moving its traffic away)
  kc patch ksvc smoke -n "$NS" --type=merge -p '{"spec":{"traffic":[{"latestRevision":true,"percent":100}]}}' >/dev/null
  only_latest() { [ "$(jp ksvc smoke -n "$NS" -o 'jsonpath={range .status.traffic[*]}{.revisionName}={.percent} {end}')" = "$rev2=100 " ]; }
  until_true 30 only_latest || ko "traffic did not return to $rev2=100"
  kc delete revision "$rev1" -n "$NS" --wait=true --timeout=30s >/dev/null 2>&1
  sleep 10
  if ! kc get revision "$rev1" -n "$NS" >/dev/null 2>&1 && is_ready ksvc smoke; then
    ok "deleted Revision $rev1 stays deleted (10s later), Service still Ready"
  else
    ko "Revision $rev1 came back or Service not Ready: $(jp revisions -n "$NS" --no-headers)"
  fi
else
  ko "traffic split skipped (no second Revision)"; ko "revision deletion skipped"
fi

# 5. a Service asking for a resource no node has free stays Pending
log "creating Service smoke-pending (nvidia.com/gpu: 9, no node has 9)"
ksvc smoke-pending v1 nvidia.com/gpu 9 | kc apply -f - >/dev/null
pending() {
  local p; p=$(jp pods -n "$NS" -l serving.knative.dev/service=smoke-pending -o 'jsonpath={.items[0].metadata.name}')
  [ -n "$p" ] && [ "$(jp pod "$p" -n "$NS" -o 'jsonpath={.status.phase}')" = Pending ] &&
    [ "$(jp pod "$p" -n "$NS" -o 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].reason}')" = Unschedulable ]
}
if until_true 30 pending; then
  sleep 5
  p=$(jp pods -n "$NS" -l serving.knative.dev/service=smoke-pending -o 'jsonpath={.items[0].metadata.name}')
  if pending && ! is_ready ksvc smoke-pending; then
    ok "pod $p Pending (Unschedulable: $(jp pod "$p" -n "$NS" -o 'jsonpath={.status.conditions[?(@.type=="PodScheduled")].message}')); Service not Ready"
  else ko "smoke-pending pod left Pending or Service became Ready"; fi
else
  ko "smoke-pending pod not Pending/Unschedulable: $(jp pods -n "$NS" -l serving.knative.dev/service=smoke-pending -o wide --no-headers)"
fi

if [ $fail -eq 0 ] && [ -z "${KSISS_SMOKE_KEEP:-}" ]; then
  kc delete namespace "$NS" --wait=false >/dev/null 2>&1
fi
log "done"
finish
