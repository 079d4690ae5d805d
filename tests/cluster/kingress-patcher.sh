#!/usr/bin/env bash
# Stands in for a Knative networking layer (Kourier/Istio), which cannot run
# here: every 2 s it marks each KIngress (ingresses.networking.internal.knative.dev)
# whose status is not Ready for its current generation as Ready, with a
# load balancer name. Nothing is ever proxied. Runs inside the cluster netns.
set -u
K=${KUBECTL:-kubectl}
LB='{"domainInternal":"ksiss-fake-gateway.knative-serving.svc.cluster.local"}'
while :; do
  "$K" get ingresses.networking.internal.knative.dev -A --no-headers \
    -o custom-columns='NS:.metadata.namespace,NAME:.metadata.name,GEN:.metadata.generation,OBS:.status.observedGeneration,READY:.status.conditions[?(@.type=="Ready")].status' 2>/dev/null |
  while read -r ns name gen obs ready; do
    [ "$gen" = "$obs" ] && [ "$ready" = True ] && continue
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    cond() { printf '{"type":"%s","status":"True","lastTransitionTime":"%s"}' "$1" "$now"; }
    st="{\"status\":{\"observedGeneration\":$gen,\"conditions\":[$(cond LoadBalancerReady),$(cond NetworkConfigured),$(cond Ready)],\"publicLoadBalancer\":{\"ingress\":[$LB]},\"privateLoadBalancer\":{\"ingress\":[$LB]}}}"
    "$K" patch ingresses.networking.internal.knative.dev -n "$ns" "$name" --subresource=status --type=merge -p "$st" >/dev/null 2>&1 &&
      echo "$(date -u +%T) marked KIngress $ns/$name generation $gen Ready"
  done
  sleep 2
done
