#!/usr/bin/env bash
# original.sh: the original's users on the original's hardware (issue 18).
# `ksiss run` against the local control plane (make cluster-up) with the
# original's ConfigMap UNCHANGED (one key per service, a YAML list of
# metrics, the TGI query with %s, no gpu:), a real Prometheus and the
# stand-in inference server, on the inventory's A100-40GB node
# (gpu-node-a100-40gb: nvidia.com/mig-1g.5gb ...) and A100-80GB node
# (gpu-node-a100-80gb: profile names H100-80GB has too). The GPU model of
# each service is found from its revision's resource and its nodes'
# nvidia.com/gpu.product label (src/core/gpu_resolve.c). Services in
# namespace ksiss-e2e-orig, all at once:
#   gpt2   mig-1g.5gb (A100-40GB only), latency above the SLO: walks up the
#          original's ladder 2g.10gb -> 4g.20gb -> 7g.40gb and on to whole
#          GPUs, every tier an A100-40GB one (the original held "current
#          GPU tier unknown" forever). A 4g slice decodes no faster than a
#          3g one (the same memory bandwidth), so the policy takes the
#          cheaper 3g.20gb and from there 7g.40gb (docs/configuration.md);
#          to use the 4g rung too, placeholder pods (hold-*) take the
#          node's three 3g.20gb slices until gpt2 has settled on 4g.20gb,
#          as on a node whose 3g slices are taken;
#   opt    one whole GPU pinned to the A100-40GB node, idle: walks back
#          down 3g.20gb -> 2g.10gb -> mig-1g.5gb (a 7g or 4g slice is
#          skipped likewise: it costs more for no decode speed). Between
#          them every rung of the original's ladder is used;
#   bloom  mig-1g.20gb, a name A100-80GB and H100-80GB share, on the
#          A100-80GB node, latency above the SLO: up to A100-80GB's
#          mig-4g.40gb (the label decides; on H100 it would be 3g.40gb);
#   t5     mig-1g.20gb, scaled to zero: no node tells the model: holds
#          with gpu_model_unknown, a Warning Event, an explain line;
#   xlnet  a whole GPU, two instances spread over the A100-80GB node and
#          the H100 node: holds with gpu_model_mixed, Event, explain line.
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on failure.
# Every wait is bounded; everything started is stopped on exit. Takes
# about 17 minutes: the original's format keeps the default stabilization
# (a tier change down waits two 5-minute windows) and each step up waits
# for the capacity it added to settle (3 minutes).
set -u
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
NS=ksiss-e2e-orig
A100_40=NVIDIA-A100-SXM4-40GB
A100_80=NVIDIA-A100-SXM4-80GB
H100=NVIDIA-H100-80GB-HBM3
. "$ROOT/tests/lib/suite.sh"
suite_init original ksiss-e2e-orig
export -f kc
export KUBECTL KUBECONFIG_ADMIN NS

j() { kc get "$@" 2>/dev/null; }
ksvc_field() { j ksvc "$1" -n "$NS" -o "jsonpath=$2"; }
# limits SVC: the GPU limit of the template as "resource=count"
limits() {
    ksvc_field "$1" '{.spec.template.spec.containers[0].resources.limits}' |
        grep -o '"nvidia.com/[^"]*":"[0-9]*"' | head -1 | tr -d '"' | sed 's/:/=/'
}
transition_of() { ksvc_field "$1" '{.metadata.annotations.ksiss\.dev/transition}'; }
ready_rev() { ksvc_field "$1" '{.status.latestReadyRevisionName}'; }
settled_on() {  # settled_on SVC RESOURCE=COUNT: no transition, that tier, one Ready revision serving all traffic
    [ -z "$(transition_of "$1")" ] && [ "$(limits "$1")" = "$2" ] || return 1
    local revs
    revs=$(j rev -n "$NS" -l "serving.knative.dev/service=$1" -o 'jsonpath={.items[*].metadata.name}')
    [ "$(echo $revs | wc -w)" -eq 1 ] && [ "$(ksvc_field "$1" '{.status.traffic[0].revisionName}')" = "$revs" ] &&
        [ "$(ksvc_field "$1" '{.status.conditions[?(@.type=="Ready")].status}')" = True ]
}
export -f j ksvc_field limits transition_of settled_on
# nodes_of SVC: the nodes its Running pods are on
nodes_of() {
    j pods -n "$NS" -l "serving.knative.dev/service=$1" --field-selector=status.phase=Running \
        -o 'jsonpath={range .items[*]}{.spec.nodeName}{"\n"}{end}' | sort -u | tr '\n' ' '
}
events_for() {  # events_for OBJECT REASON: how many Events with that reason on that object
    j events -n "$NS" -o 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}{"\n"}{end}' | grep -c "^$1 $2\$"
}
# the A100-40GB ladder of a service in the original's format, by rank
rank40() {
    case $1 in
        nvidia.com/mig-1g.5gb=1) echo 1 ;; nvidia.com/mig-2g.10gb=1) echo 2 ;; nvidia.com/mig-3g.20gb=1) echo 3 ;;
        nvidia.com/mig-4g.20gb=1) echo 4 ;; nvidia.com/mig-7g.40gb=1) echo 5 ;; nvidia.com/gpu=1) echo 6 ;;
        nvidia.com/gpu=2) echo 7 ;; nvidia.com/gpu=4) echo 8 ;; nvidia.com/gpu=8) echo 9 ;; *) echo 0 ;;
    esac
}

# ---- setup ------------------------------------------------------------------
[ -x "$KSISS" ] && [ -x "$FAKE" ] && [ -x "$TOOL" ] || die setup "build first (the e2e-original target does)"
kc get --raw /readyz >/dev/null 2>&1 || die setup "no cluster answers: run make cluster-up first (docs/local-cluster.md)"
[ -x "$PROMETHEUS" ] || die setup "no Prometheus at $PROMETHEUS (apt-get install prometheus)"
for n in gpu-node-a100-40gb:$A100_40 gpu-node-a100-80gb:$A100_80; do
    node=${n%%:*}
    if [ "$(j node "$node" -o 'jsonpath={.metadata.labels.nvidia\.com/gpu\.product}')" = "${n#*:}" ] &&
        [ "$(j node "$node" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; then
        ok "node $node Ready, nvidia.com/gpu.product=${n#*:}"
    else
        die setup "node $node missing or not Ready (tests/cluster/inventory.yaml; make cluster-nodes)"
    fi
done
kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
kc create namespace "$NS" >/dev/null || die setup "cannot create namespace $NS"
sed "s/ksiss-e2e/$NS/g" tests/e2e/rbac.yaml > "$TMP/rbac.yaml"
kc apply -f deploy/clusterrole.yaml -f "$TMP/rbac.yaml" >/dev/null || die setup "cannot apply RBAC"

# ---- the original's ConfigMap, unchanged (shared/seed/COMPATIBILITY.md) ----
metric_list() {
    cat <<'Y'
    - name: tgi_request_metric
      query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])
      slo: 0.5
      scaleDownFactor: 0.5
      scaleUpFactor: 1.5
Y
}
{
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: autoscaler-config, namespace: %s}\ndata:\n' "$NS"
    for s in gpt2 opt bloom t5 xlnet; do
        echo "  $s: |"
        metric_list
    done
} > "$TMP/cm.yaml"
out=$("$KSISS" check-config "$TMP/cm.yaml" 2>&1)
n=$(echo "$out" | grep -c '^service [a-z0-9]*: format legacy, gpu from the running revision at run time')
[ "$n" -eq 5 ] && ! echo "$out" | grep -q H100 \
    && ok "check-config: each of the 5 services' GPU model comes from the running revision at run time" \
    || ko "check-config on the original's format" "$out"
kc apply -f "$TMP/cm.yaml" >/dev/null || die setup "cannot apply the ConfigMap"

# ---- the services, as their users wrote them --------------------------------
# ksvc NAME RESOURCE COUNT MIN MAX [EXTRA]: a Knative Service (every field
# the missing webhook would default set); EXTRA is more pod spec YAML.
ksvc() {
    cat <<Y
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: $1, namespace: $NS}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/class: kpa.autoscaling.knative.dev
        autoscaling.knative.dev/min-scale: "$4"
        autoscaling.knative.dev/max-scale: "$5"
    spec:
      containerConcurrency: 0
      timeoutSeconds: 300
      enableServiceLinks: false${6:-}
      containers:
      - name: user-container
        image: dev.local/ksiss/fake-llm:v1
        ports: [{name: http1, containerPort: 8080}]
        readinessProbe: {successThreshold: 1, tcpSocket: {port: 0}}
        resources:
          requests: {cpu: 100m, memory: 128Mi, $2: "$3"}
          limits: {$2: "$3"}
  traffic:
  - {latestRevision: true, percent: 100}
---
Y
}
pin40="
      nodeSelector: {nvidia.com/gpu.product: $A100_40}"
spread="
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
            - matchExpressions:
              - {key: nvidia.com/gpu.product, operator: In, values: [$A100_80, $H100]}
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
         labelSelector: {matchLabels: {serving.knative.dev/service: xlnet}}}"
{
    ksvc gpt2 nvidia.com/mig-1g.5gb 1 1 1 "$pin40"
    ksvc opt nvidia.com/gpu 1 1 1 "$pin40"
    ksvc bloom nvidia.com/mig-1g.20gb 1 1 1
    ksvc t5 nvidia.com/mig-1g.20gb 1 0 1
    ksvc xlnet nvidia.com/gpu 1 2 2 "$spread"
} > "$TMP/services.yaml"
kc apply -f "$TMP/services.yaml" >/dev/null || die setup "cannot create the services"
for s in gpt2 opt bloom t5 xlnet; do
    until_true 120 bash -c "[ \"\$(ksvc_field $s '{.status.conditions[?(@.type==\"Ready\")].status}')\" = True ]" \
        || die setup "service $s not Ready within 120 s: $(j pods -n "$NS" -o wide --no-headers | tr '\n' ';')"
done
ok "5 services Ready: gpt2, opt on $(nodes_of gpt2)/$(nodes_of opt); bloom on $(nodes_of bloom); xlnet on $(nodes_of xlnet)"
export -f nodes_of
until_true 60 bash -c '[ $(nodes_of xlnet | wc -w) -eq 2 ]' || die setup "xlnet's two pods are not on two nodes: '$(nodes_of xlnet)'"

# ---- placeholders: the A100-40GB node's 3g.20gb slices taken --------------
# hold-3g-0..2 take its three mig-3g.20gb slices; deleted once gpt2 has
# settled on mig-4g.20gb (about 3 minutes in, before opt's first step down,
# which needs a 3g slice).
hold_pod() {    # hold_pod NAME RESOURCE
    cat <<Y
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $NS, labels: {ksiss-e2e/hold: "true"}}
spec:
  nodeSelector: {nvidia.com/gpu.product: $A100_40}
  containers:
  - name: hold
    image: dev.local/ksiss/hold:v1
    resources: {requests: {$2: "1"}, limits: {$2: "1"}}
---
Y
}
for i in 0 1 2; do hold_pod hold-3g-$i nvidia.com/mig-3g.20gb; done > "$TMP/hold.yaml"
kc apply -f "$TMP/hold.yaml" >/dev/null || die setup "cannot create the placeholder pods"
until_true 60 bash -c "[ \$(j pods -n $NS -l ksiss-e2e/hold --field-selector=status.phase=Running -o name | wc -l) -eq 3 ]" \
    || die setup "placeholders: not 3 Running: $(j pods -n "$NS" -l ksiss-e2e/hold -o wide --no-headers | tr '\n' ';')"
ok "placeholders hold gpu-node-a100-40gb's three nvidia.com/mig-3g.20gb slices"

# ---- Prometheus: a target per pod, the stand-in plays every pod --------------
# hot: latency 0.8 s per token (1.6x the SLO of 0.5, above scaleUpFactor
# 1.5): one tier a step once the capacity added has settled; cold: 0.05
# (below scaleDownFactor 0.5).
printf 'tgi_count_rate 10\ntgi_mean 0.8\n' > "$TMP/hot.state"
printf 'tgi_count_rate 10\ntgi_mean 0.05\n' > "$TMP/cold.state"
start_fake hot "$TMP/hot.state"
start_fake cold "$TMP/cold.state"
wait_file "$TMP/hot.port" 10 && wait_file "$TMP/cold.port" 10 || die setup "the stand-in inference servers did not start"
HOT=$(cat "$TMP/hot.port")
COLD=$(cat "$TMP/cold.port")
PPORT=$("$TOOL" free-port)
echo '[]' > "$TMP/targets.json"
file_sd_config "$TMP/targets.json" > "$TMP/prometheus.yml"
start_prometheus "$TMP/prometheus.yml" "$PPORT" || die setup "Prometheus not ready within 30 s"
(
    while :; do
        targets=()
        for s in gpt2 opt bloom t5 xlnet; do
            case $s in gpt2|bloom) port=$HOT ;; *) port=$COLD ;; esac
            for p in $(running_pods "$NS" "$s"); do
                targets+=("$p@$port")
            done
        done
        pod_targets "$HOT" "${targets[@]}" > "$TMP/targets.tmp" && mv "$TMP/targets.tmp" "$TMP/targets.json"
        sleep 1
    done
) &
PIDS+=($!)
# The tiers each service's template asks for, in order (the walk).
(
    declare -A last
    while :; do
        for s in gpt2 opt bloom; do
            l=$(limits "$s")
            if [ -n "$l" ] && [ "$l" != "${last[$s]:-}" ]; then
                echo "$l" >> "$TMP/walk.$s"
                last[$s]=$l
            fi
        done
        sleep 1
    done
) &
PIDS+=($!)

# ---- ksiss run, as the non-admin user -------------------------------------
KPORT=$("$TOOL" free-port)
KUBECONFIG="$KCA" NAMESPACE=$NS PROMETHEUS_URL=$PROM METRICS_SCRAPE_INTERVAL=5 \
    "$KSISS" run --listen "127.0.0.1:$KPORT" --no-leader-election --ready-timeout 90s --traffic-steps 50,100 \
    >>"$TMP/ksiss.log" 2>&1 &
KSISS_PID=$!
PIDS+=($KSISS_PID)
T_START=$(date +%s)
export TMP
walk() { tr '\n' ' ' < "$TMP/walk.$1" 2>/dev/null; }
last_decision() { grep 'msg=decision' "$TMP/ksiss.log" | grep "service=$1 " | tail -1; }

# ---- gpt2: scale up on a breach, on A100-40GB ------------------------------
log "gpt2: latency 1.6x the SLO on mig-1g.5gb"
if until_true 180 bash -c "grep -q nvidia.com/mig-2g.10gb=1 '$TMP/walk.gpt2' 2>/dev/null"; then
    ok "breach on nvidia.com/mig-1g.5gb: up to the original's next tier, nvidia.com/mig-2g.10gb (A100-40GB) after $(($(date +%s) - T_START)) s"
else
    # Without the model found from the revision, this is where it held.
    ko "no move up within 180 s" "$(last_decision gpt2)"
    grep -q 'current GPU tier unknown' "$TMP/ksiss.log" && log "the log says: current GPU tier unknown (the model was assumed, not found)"
    tail -5 "$TMP/ksiss.log"
    finish
fi
grep -q 'service=gpt2 .*reason_code=unknown_tier' "$TMP/ksiss.log" \
    && ko "gpt2 held on an unknown tier at some tick" "$(grep 'service=gpt2 .*unknown_tier' "$TMP/ksiss.log" | head -1)" \
    || ok "gpt2 never held on 'current GPU tier unknown'"
e=$(KUBECONFIG="$KCA" NAMESPACE=$NS "$KSISS" explain --service gpt2 --prometheus "$PROM" 2>&1)
echo "$e" | grep -Eq '^GPU model:        A100-40GB \(from (resource|nodes): revision gpt2-[a-z0-9]+ requests nvidia.com/mig-' \
    && ok "explain gpt2: $(echo "$e" | grep '^GPU model:' | cut -c1-110)..." || ko "explain gpt2" "$e"

# ---- bloom: the label tells A100-80GB from H100-80GB -----------------------
log "bloom: latency 1.6x the SLO on mig-1g.20gb (A100-80GB and H100-80GB both have it)"
if until_true 240 settled_on bloom nvidia.com/mig-4g.40gb=1; then
    ok "bloom up to A100-80GB's nvidia.com/mig-4g.40gb on $(nodes_of bloom)(walk: $(walk bloom))"
else
    ko "bloom did not settle on nvidia.com/mig-4g.40gb within 240 s" "walk: $(walk bloom); $(last_decision bloom)"
fi
e=$(KUBECONFIG="$KCA" NAMESPACE=$NS "$KSISS" explain --service bloom --prometheus "$PROM" 2>&1)
echo "$e" | grep -q "^GPU model:        A100-80GB (from nodes: .*gpu-node-a100-80gb (nvidia.com/gpu.product=$A100_80: A100-80GB)" \
    && ok "explain bloom: the model from the node's label" || ko "explain bloom" "$e"

# ---- xlnet: pods on nodes of two models --------------------------------------
log "xlnet: two instances on $(nodes_of xlnet)"
GENX=$(ksvc_field xlnet '{.metadata.generation}')
if until_true 60 bash -c "[ \$(j events -n $NS -o 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}{\"\\n\"}{end}' | grep -c '^xlnet GPUModelMixed\$') -ge 1 ]"; then
    ok "Warning Event GPUModelMixed on xlnet: $(j events -n "$NS" --field-selector reason=GPUModelMixed -o 'jsonpath={.items[0].message}' | cut -c1-160)..."
else
    ko "no GPUModelMixed Event on xlnet" "$(last_decision xlnet)"
fi
last_decision xlnet | grep -q 'decision=hold .*reason_code=gpu_model_mixed' \
    && ok "xlnet holds with reason code gpu_model_mixed (log)" || ko "xlnet's decision" "$(last_decision xlnet)"
e=$(KUBECONFIG="$KCA" NAMESPACE=$NS "$KSISS" explain --service xlnet --prometheus "$PROM" 2>&1)
echo "$e" | grep '^GPU model:        mixed: ' | grep -q "gpu-node-a100-80gb" && echo "$e" | grep '^GPU model:' | grep -q "gpu-node-full" \
    && echo "$e" | grep -q '(gpu_model_mixed)' \
    && ok "explain xlnet names both nodes and their labels" || ko "explain xlnet" "$e"

# ---- t5: scaled to zero on a shared profile name ---------------------------
log "t5: scales to zero on mig-1g.20gb"
if until_true 180 bash -c "[ \$(j events -n $NS -o 'jsonpath={range .items[*]}{.involvedObject.name} {.reason}{\"\\n\"}{end}' | grep -c '^t5 GPUModelUnknown\$') -ge 1 ]"; then
    ok "Warning Event GPUModelUnknown on t5 once no pod runs: $(j events -n "$NS" --field-selector reason=GPUModelUnknown -o 'jsonpath={.items[0].message}' | cut -c1-160)..."
else
    ko "no GPUModelUnknown Event on t5 within 180 s" "pods: $(nodes_of t5); $(last_decision t5)"
fi
last_decision t5 | grep -q 'decision=hold .*reason_code=gpu_model_unknown' \
    && ok "t5 holds with reason code gpu_model_unknown (log)" || ko "t5's decision" "$(last_decision t5)"
e=$(KUBECONFIG="$KCA" NAMESPACE=$NS "$KSISS" explain --service t5 --prometheus "$PROM" 2>&1)
echo "$e" | grep -q '^GPU model:        unknown: revision t5-[0-9]* requests nvidia.com/mig-1g.20gb x1; none of its pods is on a node: A100-80GB and H100-80GB all have' \
    && ok "explain t5: $(echo "$e" | grep '^GPU model:' | cut -c19-200)" || ko "explain t5" "$e"
[ "$(ksvc_field xlnet '{.metadata.generation}')" = "$GENX" ] && [ "$(limits t5)" = nvidia.com/mig-1g.20gb=1 ] \
    && [ -z "$(transition_of xlnet)$(transition_of t5)" ] \
    && ok "nothing was changed on xlnet and t5" || ko "a hold changed something" "xlnet generation $GENX -> $(ksvc_field xlnet '{.metadata.generation}'), t5 $(limits t5)"

# ---- gpt2: the rest of the ladder up, to whole GPUs -------------------------
log "gpt2: on up the ladder (each step waits for the capacity it added to settle, ~3 min)"
if until_true $((T_START + 420 - $(date +%s))) settled_on gpt2 nvidia.com/mig-4g.20gb=1; then
    ok "gpt2 on nvidia.com/mig-4g.20gb after $(($(date +%s) - T_START)) s, the 3g slices being taken (walk: $(walk gpt2))"
else
    ko "gpt2 did not settle on nvidia.com/mig-4g.20gb within 420 s" "walk: $(walk gpt2); holds: $(j pods -n "$NS" -l ksiss-e2e/hold -o wide --no-headers | tr '\n' ';'); $(last_decision gpt2)"
fi
kc delete pod -n "$NS" -l ksiss-e2e/hold --wait=false >/dev/null 2>&1
log "placeholders deleted: the 3g.20gb slices free again"
if until_true $((T_START + 1200 - $(date +%s))) bash -c "tail -1 '$TMP/walk.gpt2' | grep -q '^nvidia.com/gpu=' && settled_on gpt2 \$(tail -1 '$TMP/walk.gpt2')"; then
    ok "gpt2 reached whole GPUs ($(limits gpt2)) after $(($(date +%s) - T_START)) s"
else
    ko "gpt2 did not reach a whole GPU within 1200 s" "walk: $(walk gpt2); $(last_decision gpt2)"
fi
prev=0 ascending=1
for l in $(walk gpt2); do
    r=$(rank40 "$l")
    [ "$r" -gt "$prev" ] || ascending=0
    prev=$r
done
w=$(walk gpt2)
[ "$ascending" = 1 ] && case "$w" in "nvidia.com/mig-1g.5gb=1 nvidia.com/mig-2g.10gb=1 nvidia.com/mig-4g.20gb=1 nvidia.com/mig-7g.40gb=1 nvidia.com/gpu="*) true ;; *) false ;; esac \
    && ok "gpt2 walked up the original's ladder and on to whole GPUs, A100-40GB tiers only: $w" || ko "gpt2's walk" "$w"
[ "$(nodes_of gpt2)" = "gpu-node-a100-40gb " ] && ok "gpt2 runs on gpu-node-a100-40gb" || ko "gpt2's node" "$(nodes_of gpt2)"

# ---- opt: down when idle, from a whole GPU to the first slice --------------
log "opt: idle on a whole A100-40GB (a tier change down waits two 5-minute windows, then 2 min apart)"
if until_true $((T_START + 1500 - $(date +%s))) settled_on opt nvidia.com/mig-1g.5gb=1; then
    ok "opt walked down to nvidia.com/mig-1g.5gb after $(($(date +%s) - T_START)) s"
else
    ko "opt did not reach nvidia.com/mig-1g.5gb within 1500 s" "walk: $(walk opt); $(last_decision opt)"
fi
prev=99 descending=1
for l in $(walk opt); do
    r=$(rank40 "$l")
    [ "$r" -gt 0 ] && [ "$r" -lt "$prev" ] || descending=0
    prev=$r
done
w=$(walk opt)
[ "$descending" = 1 ] && case "$w" in *mig-3g.20gb=1*mig-2g.10gb=1*mig-1g.5gb=1*) true ;; *) false ;; esac \
    && ok "opt walked down A100-40GB tiers only: $w" || ko "opt's walk" "$w"
[ "$(nodes_of opt)" = "gpu-node-a100-40gb " ] && ok "opt runs on gpu-node-a100-40gb" || ko "opt's node" "$(nodes_of opt)"

# ---- the whole run ------------------------------------------------------------
n=$(grep -c 'msg=acted' "$TMP/ksiss.log")
grep -q 'level=error' "$TMP/ksiss.log" && ko "errors in the autoscaler's log" "$(grep 'level=error' "$TMP/ksiss.log" | head -3)" \
    || ok "no error in the autoscaler's log ($n actions)"
stop_pid "$KSISS_PID"
grep -q 'msg=stopping' "$TMP/ksiss.log" && ok "SIGTERM: clean stop" || ko "no clean stop" "$(tail -2 "$TMP/ksiss.log")"
[ "$fail" -eq 0 ] || { echo "--- ksiss.log (decisions and actions, tail)"; grep -E 'msg=(decision|acted|transition)' "$TMP/ksiss.log" | tail -30; }
kc delete namespace "$NS" --wait=false >/dev/null 2>&1
kc delete clusterrolebinding "$NS-autoscaler" --ignore-not-found >/dev/null 2>&1
finish
