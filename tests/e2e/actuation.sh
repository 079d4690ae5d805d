#!/usr/bin/env bash
# actuation.sh: end-to-end tests of `ksiss run` on the local control plane
# (real kube-apiserver, real Knative Serving controller and autoscaler, KWOK
# fake GPU nodes: make cluster-up), a real Prometheus and the stand-in
# inference server (tests/integration/fake_inference.c) whose latency the
# test sets. The autoscaler runs with the non-admin token bound to the
# ClusterRole of deploy/clusterrole.yaml (tests/e2e/rbac.yaml), never as
# admin. Throughout, tests/e2e/e2e_watch.c polls the invariants (traffic only
# on Ready revisions, never zero Ready revisions serving).
# Scenarios, in order, on one Knative Service `gpt2` in namespace ksiss-e2e:
#   1. no metric data: nothing changes; high latency but no free slice of
#      the only larger tier allowed: nothing changes either;
#   2. high latency (ConfigMap in the original's format): up one or more
#      tiers, with the autoscaler SIGKILLed and restarted while waiting for
#      the new revision and again while traffic moves; the transition
#      completes, the old revision is deleted, free slices change;
#   3. an invalid ConfigMap change: reported (log + Event), the last good
#      configuration stays in force;
#   4. low latency with the extended format (short stabilization): down;
#   5. demand beyond the largest allowed tier: out without re-creating the
#      running instance, then in;
#   6. two instances: only the leader acts; SIGKILL it, the other takes over;
#   7. the new revision's pod cannot be scheduled: rollback after the
#      deadline, Warning Event, log line, backoff respected.
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on failure.
# Everything it starts is stopped on exit; every wait is bounded.
set -u
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
NS=ksiss-e2e
SVC=gpt2
. "$ROOT/tests/lib/suite.sh"
suite_init actuation ksiss-e2e-act
export -f kc    # for the `bash -c` conditions below
export KUBECTL KUBECONFIG_ADMIN
rank_of() { "$KSISS" tiers --gpu H100-80GB 2>/dev/null | awk -v r="$1" '$2 == r {print $1; exit}'; }
metric() {      # metric PORT NAME LABELMATCH -> value of the first matching series
    "$TOOL" get "http://127.0.0.1:$1/metrics" 2>/dev/null | grep "^$2{" | grep -- "$3" | head -1 | awk '{print $2}'
}

# ---- the cluster, RBAC, namespace ---------------------------------------
[ -x "$KSISS" ] && [ -x "$WATCH" ] && [ -x "$FAKE" ] && [ -x "$TOOL" ] && [ -x "$LOGFMT" ] || die setup "build first: make $BUILD/ksiss (the e2e-actuation target does)"
kc get --raw /readyz >/dev/null 2>&1 || die setup "no cluster answers: run make cluster-up first (docs/local-cluster.md)"
[ -x "$PROMETHEUS" ] || die setup "no Prometheus at $PROMETHEUS (apt-get install prometheus)"
kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
kc create namespace "$NS" >/dev/null || die setup "cannot create namespace $NS"
kc apply -f deploy/clusterrole.yaml -f tests/e2e/rbac.yaml >/dev/null || die setup "cannot apply RBAC"
who=$("$KUBECTL" --kubeconfig "$KCA" auth whoami -o 'jsonpath={.status.userInfo.username}' 2>&1)
[ "$who" = ksiss-autoscaler ] && ok "the autoscaler runs as the non-admin user ksiss-autoscaler" || ko "non-admin identity" "$who"
can=$("$KUBECTL" --kubeconfig "$KCA" auth can-i create deployments -n "$NS" 2>/dev/null)
case $can in no*) can=no;; esac
[ "$can" = no ] && ok "its ClusterRole cannot create Deployments (not admin)" || ko "RBAC too wide" "can create deployments: $can"

# ---- Prometheus scraping the stand-in, one target per pod ------------------
echo "tgi_count_rate 10" > "$TMP/inference.state"
echo "tgi_mean 0.3" >> "$TMP/inference.state"
start_fake fake "$TMP/inference.state"
wait_file "$TMP/fake.port" 10 || die setup "the stand-in inference server did not start"
FPORT=$(cat "$TMP/fake.port")
PPORT=$("$TOOL" free-port)
echo '[]' > "$TMP/targets.json"
file_sd_config "$TMP/targets.json" > "$TMP/prometheus.yml"
start_prometheus "$TMP/prometheus.yml" "$PPORT" || die setup "Prometheus not ready within 30 s"
# The pods of the service as scrape targets (label pod = the pod's name):
# the stand-in plays every pod. Off until scenario 2 (no data first).
(
    while :; do
        if [ -e "$TMP/targets.on" ]; then
            pods=$(j pods -n "$NS" -l "serving.knative.dev/service=$SVC" --field-selector=status.phase=Running \
                   -o 'jsonpath={.items[*].metadata.name}')
            pod_targets "$FPORT" $pods > "$TMP/targets.tmp" && mv "$TMP/targets.tmp" "$TMP/targets.json"
        fi
        sleep 1
    done
) &
PIDS+=($!)

# ---- the service and the ConfigMap, as a user writes them ------------------
ksvc_manifest "$SVC" MODEL=gpt2 > "$TMP/gpt2.yaml"
# The original's format, unchanged (COMPATIBILITY.md).
cat > "$TMP/cm-legacy.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: autoscaler-config, namespace: ksiss-e2e}
data:
  gpt2: |
    - name: tgi_request_metric
      query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])
      slo: 0.5
      scaleDownFactor: 0.5
      scaleUpFactor: 1.5
Y
kc apply -f "$TMP/gpt2.yaml" -f "$TMP/cm-legacy.yaml" >/dev/null || die setup "cannot create the service"
if until_true 90 svc_ready; then ok "service $SVC Ready on nvidia.com/mig-1g.10gb"; else die setup "service $SVC not Ready within 90 s"; fi
REV1=$(revisions)

"$WATCH" --kubeconfig "$KCA" --namespace "$NS" --service "$SVC" > "$TMP/watch.out" 2>&1 &
WATCH_PID=$!
PIDS+=($WATCH_PID)

# start_ksiss NAME [ARGS...]: `ksiss run` as the non-admin user, log in $TMP/NAME.log
start_ksiss() {
    local name=$1; shift
    local port; port=$("$TOOL" free-port)
    echo "$port" > "$TMP/$name.port"
    KUBECONFIG="$KCA" NAMESPACE=$NS PROMETHEUS_URL=$PROM METRICS_SCRAPE_INTERVAL=2 \
        "$KSISS" run --listen "127.0.0.1:$port" --lease-name ksiss-e2e --ready-timeout 90s \
        --traffic-steps 50,100 "$@" >>"$TMP/$name.log" 2>&1 &
    eval "PID_$name=$!"
    PIDS+=($!)
}
# decisions NAME: decisions instance NAME made (its ksiss_decisions_total;
# the log has a line for actions and changed holds only, the default).
decisions() { metric_sum "$(cat "$TMP/$1.port")" ksiss_decisions_total ""; }
pid_of() { eval "echo \${PID_$1}"; }
kill9() { local p; p=$(pid_of "$1"); kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; }

# ---- 1. no metric data: nothing changes ------------------------------------
log "scenario 1: no metric data"
start_ksiss a
GEN0=$(svc_json '{.metadata.generation}')
export -f metric_sum decisions; export TOOL TMP
until_true 60 bash -c "[ \$(decisions a) -ge 4 ]" || ko "ksiss run decides every tick" "$(tail -5 "$TMP/a.log")"
nd=$(decisions a); nl=$(grep -c 'msg=decision' "$TMP/a.log")
[ "$nl" -ge 1 ] && [ "$nl" -lt "$nd" ] && ok "a hold that does not change is logged once, not every tick ($nl decision lines for $nd decisions)" \
    || ko "decision lines" "$nl lines for $nd decisions (KSISS_DECISION_LOG defaults to changes)"
GEN1=$(svc_json '{.metadata.generation}')
if [ "$GEN0" = "$GEN1" ] && [ -z "$(phase)" ] && grep -q 'decision=hold' "$TMP/a.log"; then
    ok "missing metrics: hold, the service is unchanged (generation $GEN1)"
else
    ko "missing metrics changed something" "generation $GEN0 -> $GEN1, phase '$(phase)'"
fi

# ---- 1b. no free slice of the wanted tier: no action -----------------------
log "scenario 1b: high latency, but the only larger tier allowed has no free slice"
cat > "$TMP/cm-nofree.yaml" <<'Y'
apiVersion: v1
kind: ConfigMap
metadata: {name: autoscaler-config, namespace: ksiss-e2e}
data:
  gpt2: |
    tiers: [mig-1g.10gb, mig-2g.20gb]
    maxReplicas: 1
    metrics:
      - name: tgi_request_metric
        query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])
        slo: 0.5
        scaleDownFactor: 0.5
        scaleUpFactor: 1.5
Y
kc apply -f "$TMP/cm-nofree.yaml" >/dev/null
touch "$TMP/targets.on"
printf 'tgi_count_rate 10\ntgi_mean 2.0\n' > "$TMP/inference.state"
GEN0=$(svc_json '{.metadata.generation}')
if until_true 60 bash -c "grep 'msg=decision' '$TMP/a.log' | tail -1 | grep -q 'pressure=[0-9]'"; then
    sleep 6
    [ "$(svc_json '{.metadata.generation}')" = "$GEN0" ] && [ -z "$(phase)" ] \
        && ok "no free nvidia.com/mig-2g.20gb: no action ($(grep 'msg=decision' "$TMP/a.log" | tail -1 | grep -o 'reason_code=[a-z_]*'))" \
        || ko "acted without a free slice" "generation $GEN0 -> $(svc_json '{.metadata.generation}')"
else
    ko "no metric data reached the autoscaler within 60 s" "$(grep 'msg=decision' "$TMP/a.log" | tail -1)"
fi
# The tier and its free slices before the ConfigMap that allows the move
# is applied: the next tick may start the move before a read after it.
OLD_RES=$(gpu_resource)
APORT=$(cat "$TMP/a.port")
FREE_OLD0=$(metric "$APORT" ksiss_gpu_free "resource=\"$OLD_RES\"")
kc apply -f "$TMP/cm-legacy.yaml" >/dev/null

# ---- 2. high latency: up, with SIGKILL during the transition --------------
log "scenario 2: high latency, original's ConfigMap format"
if until_true 120 bash -c "[ -n \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/transition}' 2>/dev/null)\" ]"; then
    ok "high latency starts a tier change ($(phase))"
else
    ko "no tier change within 120 s" "$(grep 'msg=decision' "$TMP/a.log" | tail -2)"
fi
CUR=a
if [ "$(phase)" = wait-ready ]; then
    kill9 $CUR
    ok "autoscaler SIGKILLed while waiting for the new revision"
    CUR=b; start_ksiss b
fi
if until_true 120 bash -c "p=\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/transition}' 2>/dev/null); case \$p in *'\"phase\":\"shift\"'*) exit 0;; esac; exit 1"; then
    kill9 $CUR
    ok "autoscaler SIGKILLed while traffic moves (50% on the new revision)"
    CUR=c; start_ksiss c
else
    log "the shift phase was not observed (it may have passed between polls)"
fi
if until_true 180 settled; then
    NEW_RES=$(gpu_resource)
    REV2=$(revisions)
    ro=$(rank_of "${OLD_RES#nvidia.com/}"); rn=$(rank_of "${NEW_RES#nvidia.com/}")
    [ "$NEW_RES" != "$OLD_RES" ] && [ "${rn:-0}" -gt "${ro:-99}" ] && ok "tier up: $OLD_RES -> $NEW_RES" || ko "tier did not go up" "$OLD_RES -> $NEW_RES"
    [ "$REV2" != "$REV1" ] && ok "new revision $REV2 Ready with 100% of the traffic, old revision $REV1 deleted" || ko "revisions" "$REV2"
    [ "$(svc_json '{.spec.template.spec.containers[0].env[0].value}')" = gpt2 ] && ok "the rest of the template is kept (env)" || ko "template lost its env"
else
    ko "the transition did not complete within 180 s" "phase '$(phase)', revisions $(revisions)"
fi
[ "$(events_with TierChangeStarted)" -ge 1 ] && [ "$(events_with TierChanged)" -ge 1 ] \
    && ok "Events TierChangeStarted and TierChanged on the service" || ko "events" "$(j events -n "$NS" -o name | head -5)"
CPORT=$(cat "$TMP/$CUR.port")
until_true 20 bash -c "[ -n \"\$('$TOOL' get http://127.0.0.1:$CPORT/metrics 2>/dev/null | grep '^ksiss_gpu_free{')\" ]"
FREE_OLD1=$(metric "$CPORT" ksiss_gpu_free "resource=\"$OLD_RES\"")
if [ -n "$FREE_OLD0" ] && [ -n "$FREE_OLD1" ] && awk -v a="$FREE_OLD0" -v b="$FREE_OLD1" 'BEGIN{exit !(b > a)}'; then
    ok "free $OLD_RES went up ($FREE_OLD0 -> $FREE_OLD1)"
else
    ko "free slices of $OLD_RES" "'$FREE_OLD0' -> '$FREE_OLD1'"
fi

# ---- 3. invalid ConfigMap change: last good one stays --------------------
log "scenario 3: invalid ConfigMap change"
n0=$(decisions $CUR)
kc patch configmap autoscaler-config -n "$NS" --type merge -p '{"data":{"gpt2":"- name: x\n  slo: -1\n"}}' >/dev/null
if until_true 30 grep -q 'msg="invalid configuration"' "$TMP/$CUR.log"; then ok "invalid ConfigMap change reported in the log"; else ko "invalid ConfigMap not reported"; fi
until_true 20 bash -c "[ \$(kc get events -n $NS -o jsonpath='{range .items[*]}{.reason}{\"\\n\"}{end}' | grep -c InvalidConfiguration) -ge 1 ]" \
    && ok "Warning Event InvalidConfiguration on the ConfigMap" || ko "no InvalidConfiguration Event"
sleep 5
[ "$(decisions $CUR)" -gt "$n0" ] && ok "the last good configuration stays in force (decisions go on)" || ko "decisions stopped after an invalid change"

# ---- 4. low latency, extended format: down --------------------------------
log "scenario 4: low latency, extended format with a short stabilization"
UP_RES=$(gpu_resource)
cat > "$TMP/cm-ext.yaml" <<Y
apiVersion: v1
kind: ConfigMap
metadata: {name: autoscaler-config, namespace: $NS}
data:
  gpt2: |
    tiers: [mig-1g.10gb, ${UP_RES#nvidia.com/}]
    minReplicas: 1
    maxReplicas: 1
    metrics:
      - name: tgi_request_metric
        query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])
        slo: 0.5
        scaleDownFactor: 0.5
        scaleUpFactor: 1.5
    cooldown: {up: 2s, down: 2s}
    stabilization: {up: 0s, down: 6s}
Y
printf 'tgi_count_rate 10\ntgi_mean 0.05\n' > "$TMP/inference.state"
kc apply -f "$TMP/cm-ext.yaml" >/dev/null
if until_true 240 bash -c "[ \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.spec.template.spec.containers[0].resources.limits}' | grep -o 'nvidia.com/mig-1g.10gb')\" ] && [ -z \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/transition}')\" ]"; then
    ok "low latency: down from $UP_RES to nvidia.com/mig-1g.10gb (ConfigMap change followed without restart)"
else
    ko "no down within 240 s" "$(grep 'msg=decision' "$TMP/$CUR.log" | tail -1)"
fi

# ---- 5. demand beyond the largest allowed tier: out, then in --------------
log "scenario 5: out and in"
until_true 120 settled
REV=$(revisions)
running_of() { j pods -n "$NS" -l "serving.knative.dev/revision=$1" --field-selector=status.phase=Running -o name; }
until_true 60 bash -c "[ \$(kc get pods -n $NS -l serving.knative.dev/revision=$REV --field-selector=status.phase=Running -o name | wc -l) -eq 1 ]"
POD1=$(running_of "$REV" | head -1); POD1=${POD1#pod/}
sed -e 's/tiers: \[.*\]/tiers: [mig-1g.10gb]/' -e 's/maxReplicas: 1/maxReplicas: 3/' "$TMP/cm-ext.yaml" > "$TMP/cm-out.yaml"
kc apply -f "$TMP/cm-out.yaml" >/dev/null
printf 'tgi_count_rate 10\ntgi_mean 2.0\n' > "$TMP/inference.state"
if until_true 120 bash -c "n=\$(kc get pa $REV -n $NS -o jsonpath='{.metadata.annotations.autoscaling\.knative\.dev/min-scale}'); [ \"\${n:-1}\" -ge 2 ]"; then
    ok "out: scale bounds raised on revision $REV's PodAutoscaler ($(j pa "$REV" -n "$NS" -o 'jsonpath={.metadata.annotations.autoscaling\.knative\.dev/min-scale}'))"
else
    ko "no out within 120 s" "$(grep 'msg=decision' "$TMP/$CUR.log" | tail -1)"
fi
until_true 60 bash -c "[ \$(kc get pods -n $NS -l serving.knative.dev/service=$SVC --field-selector=status.phase=Running -o name | wc -l) -ge 2 ]" \
    && ok "more instances running" || ko "instances did not increase" "$(j pods -n "$NS" -o name)"
[ "$(revisions)" = "$REV" ] && ok "out kept the same revision (no re-creation)" || ko "out created a revision" "$(revisions)"
[ -n "$POD1" ] && running_of "$REV" | grep -q "^pod/$POD1\$" && ok "the first instance ($POD1) kept running" \
    || ko "the first instance was re-created" "'$POD1' not among $(running_of "$REV" | tr '\n' ' ')"
printf 'tgi_count_rate 10\ntgi_mean 0.05\n' > "$TMP/inference.state"
if until_true 180 bash -c "n=\$(kc get pa $REV -n $NS -o jsonpath='{.metadata.annotations.autoscaling\.knative\.dev/min-scale}'); [ \"\${n:-9}\" -eq 1 ]"; then
    ok "in: back to one instance"
else
    ko "no in within 180 s" "$(grep 'msg=decision' "$TMP/$CUR.log" | tail -1)"
fi

# ---- 6. leader election: only the leader acts; it dies, the other takes over
log "scenario 6: two instances"
start_ksiss d
sleep 8
dn=$(decisions d)
[ "${dn:-0}" -eq 0 ] && ok "the second instance follows (no decisions while $CUR leads)" || ko "two instances act" "d made $dn decisions"
kill9 $CUR
CUR=d
t=$(date +%s)
if until_true 40 bash -c "[ \$(grep -c 'msg=decision' '$TMP/d.log') -ge 1 ]"; then
    ok "after SIGKILL of the leader the other instance acts within $(( $(date +%s) - t ))s (lease 15 s)"
else
    ko "no takeover within 40 s" "$(tail -3 "$TMP/d.log")"
fi

# ---- 7. the new revision cannot get its slice: rollback, Event, backoff ----
log "scenario 7: the new revision's pod cannot be scheduled: rollback"
stop_pid "$(pid_of $CUR)"
CUR=e; start_ksiss e --ready-timeout 20s --backoff 10m
# The user pins the service to the node that has only 1g.10gb slices: the
# inventory still shows free mig-3g.40gb slices elsewhere, so the move
# starts, and the new revision's pod stays Pending (as when the slice is
# taken meanwhile).
OLDREV=$(revisions)
kc patch ksvc "$SVC" -n "$NS" --type merge \
    -p '{"spec":{"template":{"metadata":{"name":null},"spec":{"nodeSelector":{"kubernetes.io/hostname":"gpu-node-mig-small"}}}}}' >/dev/null
until_true 120 bash -c "r=\$(kc get ksvc $SVC -n $NS -o jsonpath='{.status.latestReadyRevisionName}'); [ -n \"\$r\" ] && [ \"\$r\" != '$OLDREV' ]" \
    || ko "the user's change did not become Ready" "$(revisions)"
kc delete rev "$OLDREV" -n "$NS" >/dev/null 2>&1     # the user's own cleanup
until_true 120 settled || ko "service did not settle after the user's change" "$(revisions)"
REVB=$(revisions)
sed -e 's/tiers: \[.*\]/tiers: [mig-1g.10gb, mig-3g.40gb]/' "$TMP/cm-ext.yaml" > "$TMP/cm-rb.yaml"
kc apply -f "$TMP/cm-rb.yaml" >/dev/null
printf 'tgi_count_rate 10\ntgi_mean 2.0\n' > "$TMP/inference.state"
if until_true 120 bash -c "[ -n \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/transition}' 2>/dev/null)\" ]"; then
    ok "move to mig-3g.40gb started ($(phase))"
else
    ko "no move started within 120 s" "$(grep 'msg=decision' "$TMP/e.log" | tail -1)"
fi
if until_true 120 bash -c "[ -n \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/backoff}')\" ] && [ -z \"\$(kc get ksvc $SVC -n $NS -o jsonpath='{.metadata.annotations.ksiss\.dev/transition}')\" ]"; then
    ok "rolled back (new revision failed, or not Ready within 20 s): $(svc_json '{.metadata.annotations.ksiss\.dev/backoff}')"
else
    ko "no rollback within 120 s" "phase '$(phase)'"
fi
until_true 60 settled
[ "$(revisions)" = "$REVB" ] && [ "$(gpu_resource)" = nvidia.com/mig-1g.10gb ] \
    && ok "traffic stayed on $REVB, the failed revision is deleted, the template is back on mig-1g.10gb" \
    || ko "state after rollback" "revisions $(revisions), resource $(gpu_resource)"
[ "$(events_with TierChangeFailed)" -ge 1 ] && ok "Warning Event TierChangeFailed on the service (the rollback starts)" || ko "no TierChangeFailed Event"
[ "$(events_with TierChangeRolledBack)" -ge 1 ] && ok "Warning Event TierChangeRolledBack on the service (the rollback is complete)" || ko "no rollback Event"
grep -q 'roll back to' "$TMP/e.log" && ok "a log line says why ($(grep -o 'step="roll back to[^"]*"' "$TMP/e.log" | head -1))" || ko "no rollback log line"
GENB=$(svc_json '{.metadata.generation}')
sleep 10
[ "$(svc_json '{.metadata.generation}')" = "$GENB" ] && [ -z "$(phase)" ] \
    && ok "the refused tier is not tried again during the backoff" || ko "retried during the backoff" "phase '$(phase)'"

# ---- invariants over the whole run ----------------------------------------
invariants_held "$WATCH_PID" "$TMP/watch.out"
stop_pid "$(pid_of $CUR)"
grep -q 'msg=stopping' "$TMP/$CUR.log" && ok "SIGTERM: clean stop" || ko "no clean stop on SIGTERM" "$(tail -2 "$TMP/$CUR.log")"
check_log "every line the autoscalers logged is a valid log line" "$TMP"/[a-e].log
[ "$fail" -eq 0 ] || { for f in a b c d e; do [ -f "$TMP/$f.log" ] && { echo "--- $f.log (tail)"; tail -15 "$TMP/$f.log"; }; done; }
kc delete namespace "$NS" --wait=false >/dev/null 2>&1
finish
