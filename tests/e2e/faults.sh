#!/usr/bin/env bash
# faults.sh: fault injection end to end (make e2e-faults). `ksiss run` (the
# non-admin user, as in actuation.sh) talks to the real kube-apiserver of
# the local control plane (make cluster-up) through tests/cluster/faultproxy.go,
# a TLS proxy whose certificate is signed by the cluster CA (verification
# stays on) and which injects faults at run time from a control file. A real
# Prometheus scrapes the stand-in inference server, whose latency drives a
# real tier change of the Knative Service `gpt2` (mig-1g.10gb <-> mig-3g.40gb,
# traffic steps 10,50,100) in every scenario:
#   1. kube-apiserver killed and restarted (really, in the cluster's netns)
#      while a tier change is under way;
#   2. 5xx storm: 50% 500 for 6 s, then 100% 503 for 15 s;
#   3. slow responses: every request held 35 s for 20 s (client timeout 30 s);
#   4. watches cut (stream reset) every second for 15 s;
#   5. watches answered 410 Gone, then with an ERROR event code 410;
#   6. writes (PATCH/PUT) answered 409 Conflict, the Lease's too, then the
#      Service's writes only until the autoscaler has met one; and a real
#      concurrent writer annotating the Service (its writes must survive:
#      no overwrite);
#   7. Prometheus killed (unreachable: no scaling action on missing data),
#      then restarted on the same port: the decision follows;
#   8. the autoscaler SIGKILLed in each phase of one tier change: wait-ready,
#      shift at 10%, shift at 50%, cleanup; restarted each time;
#   9. the autoscaler SIGKILLed during a rollback (new revision unschedulable).
# After each fault is lifted the test asserts recovery with bounded waits
# (it prints the figure it saw): within RECOVER_S (30 s = 15 ticks of 2 s;
# +30 s after slow responses) a write goes through again, or, when the
# change finished during the fault, a decision is logged again; after cut
# watches and 410s a ConfigMap change reaches the autoscaler's watch within
# RECOVER_S; the change completes within SETTLE_S (120 s) with exactly one
# Revision left serving 100%. Throughout, tests/e2e/e2e_watch.c polls
# the invariants on the real apiserver (traffic only on Ready revisions,
# never zero Ready revisions serving, no GPU slice claimed twice, no
# revision unreferenced for more than 60 s); any violation fails.
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on failure.
# Everything it starts is stopped on exit; every wait is bounded.
set -u
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
PROXY=$ROOT/$BUILD/tests/faultproxy
NS=ksiss-faults
SVC=gpt2
D=$KSISS_CLUSTER_DIR
RECOVER_S=${RECOVER_S:-30}
SETTLE_S=${SETTLE_S:-120}
. "$ROOT/tests/lib/suite.sh"
suite_init faults ksiss-e2e-faults
export -f kc    # for the `bash -c` conditions below
export KUBECTL KUBECONFIG_ADMIN
in_flight() { [ -n "$(transition)" ]; }
settled_on() { settled && [ "$(gpu_resource)" = "nvidia.com/$1" ]; }
faults_of() { grep -c "fault=$1 " "$TMP/proxy.log"; }

# ---- the cluster, RBAC, namespace ---------------------------------------
[ -x "$KSISS" ] && [ -x "$WATCH" ] && [ -x "$FAKE" ] && [ -x "$TOOL" ] && [ -x "$PROXY" ] && [ -x "$LOGFMT" ] || die setup "build first (make e2e-faults does)"
[ "$(id -u)" -eq 0 ] || die setup "needs root (restarts the kube-apiserver inside the cluster's network namespace)"
kc get --raw /readyz >/dev/null 2>&1 || die setup "no cluster answers: run make cluster-up first (docs/local-cluster.md)"
[ -x "$PROMETHEUS" ] || die setup "no Prometheus at $PROMETHEUS (apt-get install prometheus)"
[ -s "$D/pki/ca.key" ] && [ -s "$D/pids/kube-apiserver.pid" ] || die setup "no CA key or apiserver pid in $D (started by tests/cluster/up.sh?)"
kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
kc create namespace "$NS" >/dev/null || die setup "cannot create namespace $NS"
sed "s/ksiss-e2e/$NS/g" tests/e2e/rbac.yaml > "$TMP/rbac.yaml"
kc apply -f deploy/clusterrole.yaml -f "$TMP/rbac.yaml" >/dev/null || die setup "cannot apply RBAC"

# ---- the fault proxy: TLS with a certificate from the cluster CA -----------
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$TMP/proxy.ext"
openssl req -newkey rsa:2048 -nodes -subj /CN=ksiss-faultproxy -keyout "$TMP/proxy.key" -out "$TMP/proxy.csr" 2>/dev/null &&
    openssl x509 -req -in "$TMP/proxy.csr" -CA "$D/pki/ca.crt" -CAkey "$D/pki/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days 1 -extfile "$TMP/proxy.ext" -out "$TMP/proxy.crt" 2>/dev/null || die setup "cannot make the proxy's certificate"
: > "$TMP/faults.ctl"
"$PROXY" -listen 127.0.0.1:0 -port-file "$TMP/proxy.port" -upstream "https://127.0.0.1:$KSISS_APISERVER_PORT" \
    -ca "$D/pki/ca.crt" -cert "$TMP/proxy.crt" -key "$TMP/proxy.key" -control "$TMP/faults.ctl" >"$TMP/proxy.log" 2>&1 &
PIDS+=($!)
until_true 10 test -s "$TMP/proxy.port" || die setup "the fault proxy did not start: $(tail -3 "$TMP/proxy.log")"
XPORT=$(cat "$TMP/proxy.port")
sed "s#server: https://127.0.0.1:$KSISS_APISERVER_PORT#server: https://127.0.0.1:$XPORT#" "$KCA" > "$TMP/kubeconfig-proxy"
grep -q "127.0.0.1:$XPORT" "$TMP/kubeconfig-proxy" || die setup "cannot point the kubeconfig at the proxy"
who=$("$KUBECTL" --kubeconfig "$TMP/kubeconfig-proxy" auth whoami -o 'jsonpath={.status.userInfo.username}' 2>&1)
[ "$who" = ksiss-autoscaler ] && ok "through the fault proxy (TLS verified with the cluster CA) the autoscaler is ksiss-autoscaler" \
    || die setup "proxy path: $who"
# fault KEY=VALUE...: the proxy's settings from now on (none = pass-through)
fault() {
    printf '%s\n' "$@" > "$TMP/faults.ctl.tmp" && mv "$TMP/faults.ctl.tmp" "$TMP/faults.ctl"
    sleep 0.3     # the proxy re-reads the file every 100 ms
}

# ---- Prometheus scraping the stand-in, one target per pod ------------------
printf 'tgi_count_rate 10\ntgi_mean 0.05\n' > "$TMP/inference.state"
start_fake fake "$TMP/inference.state"
wait_file "$TMP/fake.port" 10 || die setup "the stand-in inference server did not start"
FPORT=$(cat "$TMP/fake.port")
PPORT=$("$TOOL" free-port)
echo '[]' > "$TMP/targets.json"
file_sd_config "$TMP/targets.json" > "$TMP/prometheus.yml"
start_prometheus "$TMP/prometheus.yml" "$PPORT" || die setup "Prometheus not ready within 30 s"
(
    while :; do
        pods=$(j pods -n "$NS" -l "serving.knative.dev/service=$SVC" --field-selector=status.phase=Running \
               -o 'jsonpath={.items[*].metadata.name}')
        [ -n "$pods" ] && pod_targets "$FPORT" $pods > "$TMP/targets.tmp" && mv "$TMP/targets.tmp" "$TMP/targets.json"
        sleep 1
    done
) &
PIDS+=($!)
latency() { printf 'tgi_count_rate 10\ntgi_mean %s\n' "$1" > "$TMP/inference.state"; }

# ---- the service and the ConfigMap -----------------------------------------
ksvc_manifest "$SVC" > "$TMP/gpt2.yaml"
# A 4 s window: the decision follows the stand-in's latency within a tick or two.
cat > "$TMP/cm.yaml" <<Y
apiVersion: v1
kind: ConfigMap
metadata: {name: autoscaler-config, namespace: $NS}
data:
  gpt2: |
    tiers: [mig-1g.10gb, mig-3g.40gb]
    minReplicas: 1
    maxReplicas: 1
    metrics:
      - name: tgi_request_metric
        query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[4s])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[4s])
        slo: 0.5
        scaleDownFactor: 0.5
        scaleUpFactor: 1.5
    cooldown: {up: 2s, down: 2s}
    stabilization: {up: 0s, down: 2s}
Y
kc apply -f "$TMP/gpt2.yaml" -f "$TMP/cm.yaml" >/dev/null || die setup "cannot create the service"
until_true 90 settled || die setup "service $SVC not Ready within 90 s"
ok "service $SVC Ready on nvidia.com/mig-1g.10gb"

# Its reads fail while scenario 1 has the apiserver down (up to 90 s, about
# two failed reads a second against two good ones every ~300 ms for the
# whole suite): a bound of 15% of reads, not the default 5%.
"$WATCH" --kubeconfig "$KCA" --namespace "$NS" --leak-after 60 --max-read-errors 15 > "$TMP/watch.out" 2>"$TMP/watch.err" &
WATCH_PID=$!
PIDS+=($WATCH_PID)

# start_ksiss NAME [ARGS...]: `ksiss run` through the proxy, log in $TMP/NAME.log
N_KSISS=0
start_ksiss() {
    local name=$1; shift
    local port; port=$("$TOOL" free-port)
    echo "$port" > "$TMP/$name.port"
    # KSISS_DECISION_LOG=all: the checks read every tick's decision from the log.
    KUBECONFIG="$TMP/kubeconfig-proxy" NAMESPACE=$NS PROMETHEUS_URL=$PROM METRICS_SCRAPE_INTERVAL=2 KSISS_DECISION_LOG=all \
        "$KSISS" run --listen "127.0.0.1:$port" --lease-name ksiss-faults --ready-timeout 90s \
        --traffic-steps 10,50,100 "$@" >>"$TMP/$name.log" 2>&1 &
    CUR=$name; CUR_PID=$!; CUR_PORT=$port
    PIDS+=($!)
    N_KSISS=$((N_KSISS + 1))
}
lines() { wc -l < "$TMP/$CUR.log"; }
# recovered SINCE_LINE WHAT: within RECOVER_S of the fault being lifted, a
# write goes through again (log msg=acted after line SINCE_LINE), or the
# change already completed during the fault and a decision is logged again.
recovered() {
    local from=$1 what=$2 t; t=$(date +%s)
    local cond="tail -n +$((from + 1)) '$TMP/$CUR.log' | grep -q 'msg=acted' || { tail -n +$((from + 1)) '$TMP/$CUR.log' | grep -q 'msg=decision' && [ -z \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\\.dev/transition}')\" ]; }"
    if until_true "$RECOVER_S" bash -c "$cond"; then
        local how="decides again, no change left in flight"
        tail -n +$((from + 1)) "$TMP/$CUR.log" | grep -q 'msg=acted' && how="acts again ($(tail -n +$((from + 1)) "$TMP/$CUR.log" | grep -m1 'msg=acted' | grep -o 'step="[^"]*"'))"
        ok "$what: $how $(( $(date +%s) - t ))s after the fault was lifted (bound ${RECOVER_S}s)"
    else
        ko "$what: neither a write nor a decision within ${RECOVER_S}s after the fault was lifted" "$(tail -3 "$TMP/$CUR.log")"
    fi
}
# completes TIER WHAT: the transition ends on TIER within SETTLE_S, one revision left
completes() {
    local t; t=$(date +%s)
    if until_true "$SETTLE_S" settled_on "$1"; then
        ok "$2: tier change to $1 completed $(( $(date +%s) - t ))s later, one revision ($(revisions)) serves 100%"
    else
        ko "$2: not settled on $1 within ${SETTLE_S}s" "phase '$(phase)', revisions $(revisions), resource $(gpu_resource)"
    fi
}
# starts WHAT: a tier change begins within 60 s (seen in wait-ready, polled every 50 ms)
starts() {
    if "$WATCH" --kubeconfig "$KCA" --namespace "$NS" --service "$SVC" --wait-at wait-ready --timeout 60 >/dev/null; then
        return 0
    fi
    ko "$1: no tier change started within 60 s" "$(grep 'msg=decision' "$TMP/$CUR.log" | tail -1)"
    return 1
}
# cm_poke: a harmless ConfigMap change the autoscaler's ConfigMap watch must see: an
# annotation (what its cache keeps; a label or the resourceVersion alone is no change
# to it, docs/kubernetes.md)
POKE=0
cm_seen() {
    local what=$1 n t; POKE=$((POKE + 1)); n=$(grep -c 'msg="configuration loaded"' "$TMP/$CUR.log"); t=$(date +%s)
    kc annotate configmap autoscaler-config -n "$NS" "faults.ksiss.dev/poke=p$POKE" --overwrite >/dev/null
    if until_true "$RECOVER_S" bash -c "[ \$(grep -c 'msg=\"configuration loaded\"' '$TMP/$CUR.log') -gt $n ]"; then
        ok "$what: a ConfigMap change reaches the autoscaler's watch $(( $(date +%s) - t ))s after it is made (bound ${RECOVER_S}s)"
    else
        ko "$what: the ConfigMap watch did not see a change within ${RECOVER_S}s"
    fi
}

start_ksiss k1
until_true 60 bash -c "grep -q 'msg=decision' '$TMP/k1.log'" || die setup "ksiss run does not decide: $(tail -5 "$TMP/k1.log")"
ok "ksiss run decides through the proxy"

# ---- 1. kube-apiserver killed and restarted ---------------------------------
log "scenario 1: kube-apiserver killed and restarted during a tier change"
latency 2.0
if starts "apiserver restart"; then
    P=$(cat "$D/pids/kube-apiserver.pid")
    mapfile -d '' APICMD < "/proc/$P/cmdline"
    [ "${#APICMD[@]}" -gt 3 ] && [[ "${APICMD[0]}" == *kube-apiserver* ]] || die "apiserver restart" "pid $P is not the kube-apiserver: ${APICMD[*]:0:2}"
    ph=$(phase)
    kill -9 "$P"
    until_true 15 bash -c "! kill -0 $P" || die "apiserver restart" "kube-apiserver $P still alive"
    sleep 4     # the API is gone for a few ticks
    kc get --raw /readyz >/dev/null 2>&1 && ko "apiserver restart" "something still answers after the kill"
    setsid ip netns exec "$KSISS_NETNS" "${APICMD[@]}" >>"$D/logs/kube-apiserver.log" 2>&1 </dev/null &
    echo $! > "$D/pids/kube-apiserver.pid"
    if until_true 90 kc get --raw /readyz; then
        ok "kube-apiserver SIGKILLed during '$ph' and restarted (ready again)"
    else
        die "apiserver restart" "not ready within 90 s: $(tail -5 "$D/logs/kube-apiserver.log")"
    fi
    n=$(lines)
    recovered "$n" "apiserver restart"
    completes mig-3g.40gb "apiserver restart"
fi

# ---- 2. 5xx storm -------------------------------------------------------------
log "scenario 2: 5xx storm"
latency 0.05
if starts "5xx storm"; then
    ph=$(phase)
    fault error=500 error_share=50
    sleep 6
    fault error=503 error_share=100
    sleep 15
    n=$(lines)
    fault
    c500=$(faults_of 500); c503=$(faults_of 503)
    [ "$c500" -gt 0 ] && [ "$c503" -gt 0 ] && ok "5xx storm during '$ph': $c500 requests answered 500, $c503 answered 503" \
        || ko "5xx storm" "injected 500: $c500, 503: $c503"
    seen=$(metric_sum "$CUR_PORT" ksiss_kubernetes_requests_total 'code="503"')
    [ "${seen:-0}" -gt 0 ] 2>/dev/null && ok "the exporter counted $seen requests answered 503 (ksiss_kubernetes_requests_total)" \
        || ko "exporter: no 503 counted" "$seen"
    recovered "$n" "5xx storm"
    completes mig-1g.10gb "5xx storm"
fi

# ---- 3. slow responses, longer than the client timeout ------------------------
log "scenario 3: slow responses (35 s, client timeout 30 s)"
latency 2.0
if starts "slow responses"; then
    ph=$(phase)
    fault delay_ms=35000
    sleep 20
    n=$(lines)
    fault
    cd_=$(faults_of delay)
    [ "$cd_" -gt 0 ] && ok "slow responses during '$ph': $cd_ requests held 35 s" || ko "slow responses" "none held"
    # Requests held when the fault is lifted still take up to 35 s: the bound
    # for a new decision is the client's 30 s timeout plus RECOVER_S.
    RECOVER_S=$((RECOVER_S + 30)) recovered "$n" "slow responses"
    completes mig-3g.40gb "slow responses"
fi

# ---- 4. watches cut --------------------------------------------------------------
log "scenario 4: watches cut again and again"
latency 0.05
if starts "watches cut"; then
    ph=$(phase)
    fault watch=cut watch_cut_ms=1000
    sleep 15
    n=$(lines)
    fault
    cc=$(faults_of cut)
    [ "$cc" -gt 0 ] && ok "watches cut during '$ph': $cc watch streams reset" || ko "watches cut" "no stream was cut"
    recovered "$n" "watches cut"
    cm_seen "watches cut"
    completes mig-1g.10gb "watches cut"
fi

# ---- 5. 410 Gone -------------------------------------------------------------------
log "scenario 5: watches answered 410 Gone"
latency 2.0
if starts "410 Gone"; then
    ph=$(phase)
    fault watch=gone
    sleep 5
    fault watch=gone-event
    sleep 5
    n=$(lines)
    fault
    g1=$(faults_of 410); g2=$(faults_of 410-event)
    [ "$g1" -gt 0 ] && [ "$g2" -gt 0 ] && ok "410 during '$ph': $g1 watches answered 410 Gone, $g2 an ERROR event code 410" \
        || ko "410 Gone" "410: $g1, ERROR events: $g2"
    recovered "$n" "410 Gone"
    cm_seen "410 Gone"
    completes mig-3g.40gb "410 Gone"
fi

# ---- 6. write conflicts, injected and real ------------------------------------------
log "scenario 6: write conflicts (injected 409, and a real concurrent writer)"
latency 0.05
if starts "write conflicts"; then
    ph=$(phase); n6=$(lines)
    fault conflict=1
    for i in $(seq 1 12); do
        kc annotate ksvc "$SVC" -n "$NS" "faults.ksiss.dev/writer=w$i" --overwrite >/dev/null 2>&1 && LASTW=w$i
        sleep 0.5
    done
    c409=$(faults_of 409)
    [ "$c409" -gt 0 ] && ok "write conflicts during '$ph': $c409 writes answered 409" || ko "write conflicts" "no 409 injected"
    # So far every write was refused, the Lease's renewals too: a leader keeps
    # leading through them only up to its renew deadline (10 s), so the
    # autoscaler may have had no Service write to try yet. Now refuse only the
    # Service's writes, until the autoscaler has tried one (it must, to move
    # traffic once the new revision is Ready).
    SVCW="/apis/serving.knative.dev/v1/namespaces/$NS/services/$SVC"
    svc409() { grep -c "fault=409 [A-Z]* $SVCW" "$TMP/proxy.log"; }    # fails while none
    fault conflict=1 "conflict_path=$SVCW"
    if until_true 60 svc409; then
        ok "a write of the Service answered 409 ($(svc409) so far)"
        # this scenario's lines only: an earlier one may have logged a conflict too
        conflict6() { tail -n +$((n6 + 1)) "$TMP/$CUR.log" | grep -m1 -o 'msg=conflict .*step="[^"]*"'; }
        until_true 10 conflict6 \
            && ok "the autoscaler reports the conflict and re-reads (log: $(conflict6))" \
            || ko "no conflict in the autoscaler's log" "$(tail -3 "$TMP/$CUR.log")"
    else
        ko "write conflicts" "the autoscaler wrote no Service within 60 s: $(tail -3 "$TMP/$CUR.log")"
    fi
    n=$(lines)
    fault
    recovered "$n" "write conflicts"
    completes mig-1g.10gb "write conflicts"
    [ "$(svc_json '{.metadata.annotations.faults\.ksiss\.dev/writer}')" = "${LASTW:-none}" ] \
        && ok "the concurrent writer's last annotation ($LASTW) survived: never overwritten" \
        || ko "the concurrent writer's annotation was overwritten" "$(svc_json '{.metadata.annotations.faults\.ksiss\.dev/writer}') != ${LASTW:-none}"
fi

# ---- 7. Prometheus killed and restarted ---------------------------------------------
log "scenario 7: Prometheus killed (no data: no action), then restarted"
until_true 60 settled
GEN0=$(svc_json '{.metadata.generation}')
kill -9 "$PROM_PID"; wait "$PROM_PID" 2>/dev/null
latency 2.0
n=$(lines)
sleep 12
holds=$(tail -n +$((n + 1)) "$TMP/$CUR.log" | grep 'msg=decision' | grep -c 'decision=hold')
acts=$(tail -n +$((n + 1)) "$TMP/$CUR.log" | grep 'msg=decision' | grep -vc 'decision=hold')
if [ "$holds" -ge 3 ] && [ "$acts" -eq 0 ] && [ "$(svc_json '{.metadata.generation}')" = "$GEN0" ] && ! in_flight; then
    ok "Prometheus unreachable for 12 s: $holds decisions, all hold; the service is unchanged (generation $GEN0)"
else
    ko "Prometheus unreachable" "holds $holds, other decisions $acts, generation $GEN0 -> $(svc_json '{.metadata.generation}'), transition '$(transition)'"
fi
n=$(lines)
start_prometheus "$TMP/prometheus.yml" "$PPORT" && ok "Prometheus restarted on the same port" || ko "Prometheus did not restart"
t=$(date +%s)
if until_true "$RECOVER_S" bash -c "tail -n +$((n + 1)) '$TMP/$CUR.log' | grep 'msg=decision' | grep -q 'decision=up'"; then
    ok "Prometheus back: the decision follows the data again $(( $(date +%s) - t ))s after the restart (bound ${RECOVER_S}s)"
else
    ko "no decision up within ${RECOVER_S}s of Prometheus' restart" "$(grep 'msg=decision' "$TMP/$CUR.log" | tail -1)"
fi
completes mig-3g.40gb "Prometheus restart"

# ---- 8. the autoscaler SIGKILLed in every phase of a tier change ----------------------
log "scenario 8: SIGKILL in each phase (wait-ready, shift 10%, shift 50%, cleanup)"
# One instance at a time without leader election: each restart resumes at
# once instead of waiting out the 15 s lease of the killed one (leader
# takeover after SIGKILL is covered by actuation.sh).
stop_pid "$CUR_PID"
start_ksiss k8a --no-leader-election
changed0=$(events_with TierChanged)
latency 0.05
i=0
for at in wait-ready shift:0 shift:1 cleanup; do
    if out=$("$WATCH" --kubeconfig "$KCA" --namespace "$NS" --service "$SVC" --kill-at "$at" --pid "$CUR_PID" --timeout 90); then
        wait "$CUR_PID" 2>/dev/null
        ok "autoscaler SIGKILLed in $at: $out"
    else
        ko "phase $at not reached" "$out"
    fi
    i=$((i + 1))
    start_ksiss "k8$i" --no-leader-election
done
completes mig-1g.10gb "SIGKILL in every phase"
[ "$(events_with TierChanged)" -gt "$changed0" ] && ok "the killed-and-resumed change ends with a TierChanged Event" \
    || ko "no TierChanged Event after the killed change"

# ---- 9. SIGKILL during a rollback -----------------------------------------------------
log "scenario 9: SIGKILL during a rollback"
stop_pid "$CUR_PID"
# The user pins the service to the node with only 1g.10gb slices: a move to
# mig-3g.40gb starts (free slices elsewhere) and its pod stays Pending.
OLDREV=$(revisions)
kc patch ksvc "$SVC" -n "$NS" --type merge \
    -p '{"spec":{"template":{"metadata":{"name":null},"spec":{"nodeSelector":{"kubernetes.io/hostname":"gpu-node-mig-small"}}}}}' >/dev/null
until_true 120 bash -c "r=\$(kc get ksvc $SVC -n $NS -o jsonpath='{.status.latestReadyRevisionName}'); [ -n \"\$r\" ] && [ \"\$r\" != '$OLDREV' ]" \
    || ko "the user's change did not become Ready" "$(revisions)"
kc delete rev "$OLDREV" -n "$NS" >/dev/null 2>&1     # the user's own cleanup
until_true 120 settled || ko "service did not settle after the user's change" "$(revisions)"
REVB=$(revisions)
start_ksiss k9a --no-leader-election --ready-timeout 15s
latency 2.0
if out=$("$WATCH" --kubeconfig "$KCA" --namespace "$NS" --service "$SVC" --kill-at rollback --pid "$CUR_PID" --timeout 120); then
    wait "$CUR_PID" 2>/dev/null
    ok "autoscaler SIGKILLed in rollback: $out"
else
    ko "rollback not reached" "$out"
fi
start_ksiss k9b --no-leader-election --ready-timeout 15s
t=$(date +%s)
if until_true "$SETTLE_S" bash -c "[ -n \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/backoff}')\" ]" \
   && until_true "$SETTLE_S" settled_on mig-1g.10gb && [ "$(revisions)" = "$REVB" ]; then
    ok "the rollback resumed and completed in $(( $(date +%s) - t ))s: traffic on $REVB, failed revision deleted, backoff $(svc_json '{.metadata.annotations.ksiss\.dev/backoff}')"
else
    ko "rollback after SIGKILL" "phase '$(phase)', revisions $(revisions) (want $REVB), resource $(gpu_resource)"
fi
# Killed right after the rollback's patch, the first instance may not have
# said TierChangeFailed; the one that completes the rollback says
# TierChangeRolledBack.
[ "$(events_with TierChangeRolledBack)" -ge 1 ] && ok "Warning Event TierChangeRolledBack from the instance that completed the rollback" || ko "no rollback Event"

# ---- invariants over the whole run ------------------------------------------------------
invariants_held "$WATCH_PID" "$TMP/watch.out"
stop_pid "$CUR_PID"
grep -q 'msg=stopping' "$TMP/$CUR.log" && ok "SIGTERM: clean stop" || ko "no clean stop on SIGTERM" "$(tail -2 "$TMP/$CUR.log")"
check_log "every line the autoscalers logged is a valid log line" "$TMP"/k*.log
log "autoscaler instances started: $N_KSISS; faults injected: $(grep -c 'fault=' "$TMP/proxy.log")"
if [ "$fail" -ne 0 ]; then
    for f in "$TMP"/k*.log; do echo "--- $(basename "$f") (tail)"; tail -12 "$f"; done
    echo "--- proxy.log (tail)"; tail -5 "$TMP/proxy.log"
fi
kc delete namespace "$NS" --wait=false >/dev/null 2>&1
finish
