#!/usr/bin/env bash
# longrun.sh: `ksiss run` for thousands of ticks on the local control plane
# (make cluster-up: real kube-apiserver, Knative Serving, KWOK GPU nodes),
# with a real Prometheus scraping the stand-in inference server, at a short
# interval (LONGRUN_INTERVAL, default 120ms) until LONGRUN_TICKS ticks
# (default 2000) have run (counted on one service: a decision, or a skip
# while its previous tick is still running), with churn all along:
#   - the metric values change every 4 s (within the hold band: no tier
#     change, so the state K-SISS holds stays the same size);
#   - the ConfigMap is edited every 15 s, in turn: another SLO, the extended
#     format, an invalid document (kept: last good configuration);
#   - a third Knative Service is created and deleted every 25 s;
#   - one service's metric never has data (the missing-data path).
# The RSS of the process (VmRSS, /proc/PID/status) is sampled every 2 s and
# printed with the tick count. Criterion (docs/operations.md, "Memory"):
# samples of the first quarter of the ticks are warm-up (informer caches,
# connection reuse, malloc arenas of the worker threads); of the rest, the
# largest RSS of the last third must not exceed the largest of the first
# third by more than LONGRUN_SLACK_KIB (default 1024) KiB. A leak of about
# 1 KiB per tick or more fails it; smaller leaks are the unit and
# integration suites' job (valgrind, ASan).
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on failure.
# Everything it starts is stopped on exit; every wait is bounded.
set -u
. "$(cd "$(dirname "$0")" && pwd)/env.sh"
TICKS=${LONGRUN_TICKS:-2000}
INTERVAL=${LONGRUN_INTERVAL:-120ms}
SLACK_KIB=${LONGRUN_SLACK_KIB:-1024}
MAX_SECONDS=${LONGRUN_MAX_SECONDS:-600}
NS=ksiss-longrun
. "$ROOT/tests/lib/suite.sh"
suite_init longrun ksiss-e2e-longrun
suite_on_exit() {
    kc delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1
    kc delete clusterrolebinding ksiss-longrun-autoscaler --ignore-not-found >/dev/null 2>&1
}
# Ticks of the control loop, counted on lr-a: each tick either starts its
# worker (a decision line) or skips it because the previous one is still
# running (on a loaded machine a worker can take longer than the interval).
ticks() { grep -cE 'msg=(decision|"previous tick still running[^"]*") service=lr-a( |$)' "$TMP/ksiss.log" 2>/dev/null; }
decided() { grep -cE 'msg=decision service=lr-a ' "$TMP/ksiss.log" 2>/dev/null; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# ---- cluster, RBAC (non-admin user), namespace --------------------------
[ -x "$KSISS" ] && [ -x "$FAKE" ] && [ -x "$TOOL" ] && [ -x "$LOGFMT" ] || die setup "build first (the e2e-longrun target does)"
kc get --raw /readyz >/dev/null 2>&1 || die setup "no cluster answers: run make cluster-up first (docs/local-cluster.md)"
[ -x "$PROMETHEUS" ] || die setup "no Prometheus at $PROMETHEUS (apt-get install prometheus)"
kc delete namespace "$NS" --ignore-not-found --wait=true --timeout=90s >/dev/null 2>&1
kc create namespace "$NS" >/dev/null || die setup "cannot create namespace $NS"
kc apply -f deploy/clusterrole.yaml >/dev/null || die setup "cannot apply the ClusterRole"
kc apply -f - >/dev/null <<Y || die setup "cannot apply RBAC"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ksiss-longrun-autoscaler}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ksiss}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: ksiss-autoscaler}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ksiss-longrun-leases, namespace: $NS}
rules:
- {apiGroups: [coordination.k8s.io], resources: [leases], verbs: [get, create, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ksiss-longrun-leases, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ksiss-longrun-leases}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: ksiss-autoscaler}
Y

# ---- Prometheus scraping the stand-in, one target per Running pod ----------
printf 'tgi_count_rate 10\ntgi_mean 0.3\ntgi_queue 1\n' >"$TMP/inference.state"
start_fake fake "$TMP/inference.state"
wait_file "$TMP/fake.port" 10 || die setup "the stand-in inference server did not start"
FPORT=$(cat "$TMP/fake.port")
PPORT=$("$TOOL" free-port)
echo '[]' >"$TMP/targets.json"
file_sd_config "$TMP/targets.json" >"$TMP/prometheus.yml"
start_prometheus "$TMP/prometheus.yml" "$PPORT" || die setup "Prometheus not ready within 30 s"
(
    while :; do
        pods=$(j pods -n "$NS" --field-selector=status.phase=Running -o 'jsonpath={.items[*].metadata.name}')
        pod_targets "$FPORT" $pods >"$TMP/targets.tmp" && mv "$TMP/targets.tmp" "$TMP/targets.json"
        sleep 2
    done
) &
PIDS+=($!)

# ---- services and the ConfigMap -------------------------------------------
ksvc() { ksvc_manifest "$1"; }    # ksvc NAME: a Knative Service on one 1g MIG slice
RATIO='increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[1m])'
# cm VARIANT: 0 = the original's format, 1 = another SLO in the extended
# format, 2 = invalid (must be refused, the last good one kept)
cm() {
    local slo=0.5 a
    case $1 in
    0) a="    - {name: tpot, query: '$RATIO', slo: 0.5, scaleDownFactor: 0.4, scaleUpFactor: 1.6}" ;;
    1) a="    metrics:
      - {name: tpot, query: '$RATIO', slo: 0.55, scaleDownFactor: 0.4, scaleUpFactor: 1.6}
      - {name: queue, query: 'sum(tgi_queue_size{pod=~\"{service}-.*\"})', slo: 10, aggregate: sum}
    maxReplicas: 1" ;;
    2) a="    - {name: tpot, query: '$RATIO', slo: -1}" ;;
    esac
    cat <<Y
apiVersion: v1
kind: ConfigMap
metadata: {name: autoscaler-config, namespace: $NS}
data:
  lr-a: |
$a
  lr-b: |
    - {name: nodata, query: 'no_such_metric{pod="%s"}', slo: 1}
  lr-c: |
    - {name: tpot, query: '$RATIO', slo: $slo, scaleDownFactor: 0.4, scaleUpFactor: 1.6}
Y
}
{ ksvc lr-a; echo ---; ksvc lr-b; echo ---; cm 0; } | kc apply -f - >/dev/null || die setup "cannot create the services"
ready() { [ "$(j ksvc "$1" -n "$NS" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
until_true 120 ready lr-a && until_true 60 ready lr-b || die setup "services not Ready within 180 s"
ok "services lr-a and lr-b Ready"

# ---- the run --------------------------------------------------------------
KPORT=$("$TOOL" free-port)
log "ksiss run: $TICKS ticks at $INTERVAL (at most ${MAX_SECONDS}s)"
VG=()
# LONGRUN_VALGRIND=1: under valgrind memcheck instead (far fewer ticks: use a
# small LONGRUN_TICKS); its leak report at exit is checked below.
[ -n "${LONGRUN_VALGRIND:-}" ] && VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --log-file="$TMP/valgrind.log")
# KSISS_DECISION_LOG=all: the ticks are counted on the log's decision lines.
KUBECONFIG="$KCA" NAMESPACE=$NS PROMETHEUS_URL=$PROM METRICS_SCRAPE_INTERVAL=$INTERVAL KSISS_DECISION_LOG=all \
    "${VG[@]}" "$KSISS" run --listen "127.0.0.1:$KPORT" --lease-namespace "$NS" --lease-name ksiss-longrun \
    >"$TMP/ksiss.log" 2>&1 &
KPID=$!
PIDS+=($KPID)
# The sampler: ticks and RSS every second, apart from the churn below
# (whose kubectl calls take seconds on a loaded machine).
(
    while kill -0 $KPID 2>/dev/null; do
        r=$(rss_kib $KPID)
        [ -n "$r" ] && echo "$(ticks) $r" >>"$TMP/samples"
        sleep 1
    done
) &
PIDS+=($!)
start=$(date +%s)
last_values=$start
last_cm=$start
last_svc=$start
variant=0
mean=0.3
have_c=0
edits=0
svc_churn=0
: >"$TMP/samples"
while :; do
    sleep 2
    kill -0 $KPID 2>/dev/null || { tail -20 "$TMP/ksiss.log"; die "ksiss run keeps running" "it exited"; }
    now=$(date +%s)
    t=$(ticks)
    echo "tick $t, decided $(decided), rss $(rss_kib $KPID) KiB"
    [ "$t" -ge "$TICKS" ] && break
    [ $((now - start)) -lt "$MAX_SECONDS" ] || { ko "$TICKS ticks within ${MAX_SECONDS}s" "only $t"; break; }
    if [ $((now - last_values)) -ge 4 ]; then
        mean=$([ "$mean" = 0.3 ] && echo 0.4 || echo 0.3)
        printf 'tgi_count_rate 10\ntgi_mean %s\ntgi_queue %d\n' "$mean" $((RANDOM % 5)) >"$TMP/inference.tmp"
        mv "$TMP/inference.tmp" "$TMP/inference.state"
        last_values=$now
    fi
    if [ $((now - last_cm)) -ge 15 ]; then
        variant=$(((variant + 1) % 3))
        cm $variant | kc apply -f - >/dev/null && edits=$((edits + 1))
        last_cm=$now
    fi
    if [ $((now - last_svc)) -ge 25 ]; then
        if [ $have_c = 0 ]; then ksvc lr-c | kc apply -f - >/dev/null && have_c=1
        else kc delete ksvc lr-c -n "$NS" --wait=false >/dev/null && have_c=0; fi
        svc_churn=$((svc_churn + 1))
        last_svc=$now
    fi
done
t=$(ticks)
took=$(($(date +%s) - start))
sleep 1.2   # the sampler's last line
"$TOOL" get "http://127.0.0.1:$KPORT/metrics" >"$TMP/final.metrics" 2>/dev/null
if [ -n "${LONGRUN_VALGRIND:-}" ]; then
    # valgrind's leak check at exit takes a while: wait for it (bounded),
    # never SIGKILL it (that would leave an empty, passing log)
    kill $KPID 2>/dev/null
    for i in $(seq 1 1200); do kill -0 $KPID 2>/dev/null || break; sleep 0.1; done
    kill -0 $KPID 2>/dev/null && ko "ksiss run under valgrind exits on SIGTERM" "still running after 120 s"
    wait $KPID 2>/dev/null
else
    stop_pid $KPID
fi
log "$t ticks in ${took}s; $edits ConfigMap edits, $svc_churn service creations/deletions"

# ---- checks ---------------------------------------------------------------
d=$(decided)
db=$(grep -cE 'msg=decision service=lr-b ' "$TMP/ksiss.log")
[ "$t" -ge "$TICKS" ] && ok "ksiss run ran $t ticks in ${took}s (interval $INTERVAL): $d decisions for lr-a, $db for lr-b"
holds=$(grep -E 'msg=decision service=lr-a ' "$TMP/ksiss.log" | grep -c 'decision=hold')
hb=$(grep -E 'msg=decision service=lr-b ' "$TMP/ksiss.log" | grep -c 'decision=hold')
if [ "$d" -gt 0 ] && [ "$holds" = "$d" ] && [ "$db" -gt 0 ] && [ "$hb" = "$db" ]; then
    ok "values in the hold band and missing data: hold ($holds of lr-a, $hb of lr-b)"
else ko "hold throughout" "lr-a $holds of $d, lr-b $hb of $db: $(grep -E 'msg=decision service=lr-[ab] ' "$TMP/ksiss.log" | grep -v decision=hold | tail -2)"; fi
if grep -q 'keeping the last good configuration' "$TMP/ksiss.log" && grep -q 'msg=decision.*service=lr-c' "$TMP/ksiss.log"; then
    ok "the churn reached it: invalid ConfigMap refused, lr-c managed while it existed"
else ko "the churn reached it" "$(grep -c 'last good' "$TMP/ksiss.log") refusals, $(grep -c 'service=lr-c' "$TMP/ksiss.log") lr-c lines"; fi
check_log "every line the autoscaler logged is a valid log line" "$TMP/ksiss.log"
skipped=$(grep -c 'previous tick still running' "$TMP/ksiss.log")
echo "service ticks skipped because the previous one was still running (all services): $skipped"

echo "RSS samples (tick KiB), one a second:"
awk '{printf "%s%s:%s", (NR % 8 == 1 ? "" : "  "), $1, $2} NR % 8 == 0 {print ""} END {print ""}' "$TMP/samples"
if [ -n "${LONGRUN_VALGRIND:-}" ]; then
    if [ -s "$TMP/valgrind.log" ]; then ko "valgrind: no error, no definite or indirect leak" "$(head -80 "$TMP/valgrind.log")"
    else ok "valgrind: no error, no definite or indirect leak after $t ticks"; fi
fi
[ -n "${LONGRUN_VALGRIND:-}" ] && finish     # RSS under valgrind is valgrind's
# RSS criterion
awk -v ticks="$t" -v slack="$SLACK_KIB" '
    { tk[NR] = $1; rs[NR] = $2 }
    END {
        warm = ticks / 4; n = 0
        for (i = 1; i <= NR; i++) if (tk[i] >= warm && rs[i] > 0) { n++; r[n] = rs[i]; k[n] = tk[i] }
        if (n < 9) { printf "only %d samples after warm-up\n", n; exit 2 }
        third = int(n / 3); m1 = 0; m3 = 0
        for (i = 1; i <= third; i++) if (r[i] > m1) m1 = r[i]
        for (i = n - third + 1; i <= n; i++) if (r[i] > m3) m3 = r[i]
        printf "after warm-up (tick >= %d): %d samples; max RSS first third %d KiB (ticks %d-%d), last third %d KiB (ticks %d-%d), growth %+d KiB, slack %d KiB\n",
            warm, n, m1, k[1], k[third], m3, k[n - third + 1], k[n], m3 - m1, slack
        exit !(m3 <= m1 + slack)
    }' "$TMP/samples" >"$TMP/verdict"
rc=$?
cat "$TMP/verdict"
if [ $rc = 0 ]; then ok "no RSS growth after warm-up ($(cat "$TMP/verdict" | sed 's/.*: //'))"
else ko "no RSS growth after warm-up" "$(cat "$TMP/verdict")"; fi
finish
