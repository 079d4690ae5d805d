#!/usr/bin/env bash
# bench-scale.sh: the scale benchmark (make bench-scale; docs/bench.md).
# For each size N (arguments, or BENCH_SERVICES, default "1000 10000"):
#   1. starts its own local control plane (tests/cluster/up.sh with the
#      KSISS_NETNS / KSISS_APISERVER_PORT / KSISS_CLUSTER_DIR of the
#      environment; defaults: ksissbench, 16460, /tmp/ksiss-bench-cluster)
#      and stops the Knative controller, autoscaler and their helpers there
#      (they would reconcile the cloned objects);
#   2. `ksiss-bench populate`: N Knative Services, each with a Ready Revision,
#      its PodAutoscaler and BENCH_PODS pods on fake GPU nodes (KWOK Running),
#      cloned from real reconciled objects (tests/bench/templates/);
#   3. `ksiss-bench source` + a real Prometheus scraping it (loopback);
#   4. `ksiss run` as the non-admin user, 10 s ticks; measures startup (to
#      the first decision for every service), then BENCH_TICKS steady ticks:
#      CPU seconds per tick (/proc/PID/stat utime+stime), RSS (VmRSS, VmHWM),
#      API requests and Prometheus queries per tick (the exporter's
#      ksiss_kubernetes_requests_total and
#      ksiss_prometheus_query_duration_seconds_count; Prometheus' own
#      prometheus_http_requests_total as a cross-check);
#   5. `ksiss-bench latency`: BENCH_LATENCY_SAMPLES services switched into an
#      SLO breach; metric available in Prometheus -> patch seen on a watch;
#   6. stops everything it started and the cluster (BENCH_KEEP_CLUSTER=1
#      keeps the last one). BENCH_HOLD=1 keeps the cluster, the objects,
#      the source and Prometheus after step 5 and measures $BUILD/ksiss
#      again (4-5, a new row) each time $BUILD/bench/scale-N/again is
#      created, until scale-N/stop is (populating 10,000 takes ~25 min).
# Prints a table with PASS/MISS against the target (10,000 services per
# 10 s tick, < 10% of one core, < 64 MB RSS). Exit 0 unless the harness
# itself failed (it is a benchmark, not a test). Results: $BENCH_OUT
# (default build/bench): scale-N/ (logs, samples) and scale.txt.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export KSISS_NETNS=${KSISS_NETNS:-ksissbench}
export KSISS_APISERVER_PORT=${KSISS_APISERVER_PORT:-16460}
export KSISS_CLUSTER_DIR=${KSISS_CLUSTER_DIR:-/tmp/ksiss-bench-cluster}
. "$ROOT/tests/cluster/common.sh"
BUILD=${BUILD:-build}
KSISS=$ROOT/$BUILD/ksiss
TOOL=$ROOT/$BUILD/tests/ksiss-bench
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
SIZES=${*:-${BENCH_SERVICES:-1000 10000}}
PODS=${BENCH_PODS:-2}
TICKS=${BENCH_TICKS:-6}
INTERVAL=${BENCH_INTERVAL:-10}
SAMPLES=${BENCH_LATENCY_SAMPLES:-12}
SCRAPE=${BENCH_SCRAPE_INTERVAL:-10s}
OUT=${BENCH_OUT:-$ROOT/$BUILD/bench}
NS=ksiss-bench
PREFIX=bench
TARGET_CPU_PCT=10
TARGET_RSS_MB=64
HZ=$(getconf CLK_TCK)
T0=$(date +%s)
log() { echo "[bench-scale +$(( $(date +%s) - T0 ))s] $*"; }
die() { echo "[bench-scale] HARNESS FAILURE: $*" >&2; exit 1; }

PIDS=()
CLUSTER_UP=
stop_pid() {    # SIGTERM, up to 10 s, then SIGKILL (only our own children)
    local p=$1 i
    kill "$p" 2>/dev/null || return 0
    for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    return 0
}
stop_all() {
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    PIDS=()
    if [ -n "$CLUSTER_UP" ] && [ -z "${BENCH_KEEP_CLUSTER:-}" ]; then
        "$ROOT/tests/cluster/down.sh" >/dev/null 2>&1
        CLUSTER_UP=
    fi
}
trap stop_all EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || die "needs root (the local control plane uses a network namespace)"
[ -x "$KSISS" ] && [ -x "$TOOL" ] || die "build first: make $BUILD/ksiss $BUILD/tests/ksiss-bench (make bench-scale does)"
[ -x "$PROMETHEUS" ] || die "no Prometheus at $PROMETHEUS (apt-get install prometheus)"
for f in service revision podautoscaler pod node; do
    [ -s "tests/bench/templates/$f.json" ] || die "tests/bench/templates/$f.json missing (tests/bench/capture.sh makes them)"
done
mkdir -p "$OUT"
RESULTS=$OUT/scale.txt
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT+dirty"

# until_true SECONDS CMD...: polls CMD every second; returns its last status
until_true() {
    local max=$1 end; shift; end=$(( $(date +%s) + max ))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 1
    done
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
now_ms() { date +%s%3N; }
# sum of a metric's samples in an exposition file: msum FILE NAME [LABEL-REGEX]
msum() { awk -v n="$2" -v re="${3:-}" '
    $1 ~ "^"n"({|$)" && (re == "" || $1 ~ re) { s += $NF } END { printf "%.0f\n", s }' "$1"; }

run_size() {
    local N=$1 R=$OUT/scale-$1
    rm -rf "$R"; mkdir -p "$R"
    log "== $N services x $PODS pods (run directory $R)"

    # ---- 1. the cluster, without the Knative controller ---------------
    "$ROOT/tests/cluster/up.sh" > "$R/cluster-up.log" 2>&1 || { tail -20 "$R/cluster-up.log" >&2; die "cluster-up failed ($R/cluster-up.log)"; }
    CLUSTER_UP=1
    . "$KSISS_CLUSTER_DIR/cluster.env"
    local n p
    for n in kingress-patcher ksiss-statpusher knative-autoscaler knative-controller; do
        p=$(cat "$KSISS_CLUSTER_DIR/pids/$n.pid" 2>/dev/null) || continue
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
        for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -KILL -- "-$p" 2>/dev/null
    done
    log "cluster up (apiserver $KSISS_APISERVER); Knative controller, autoscaler, statpusher, kingress-patcher stopped"
    # Without the Knative controller nothing writes these CRDs' status but
    # us: dropping their status subresource lets populate POST each object
    # with its status (3 requests per service fewer; BENCH_INLINE_STATUS=0
    # keeps the subresource and PATCHes /status). K-SISS never writes status.
    local inline=
    if [ "${BENCH_INLINE_STATUS:-1}" = 1 ]; then
        for n in services.serving.knative.dev revisions.serving.knative.dev podautoscalers.autoscaling.internal.knative.dev; do
            kc get crd "$n" -o json | jq 'del(.spec.versions[].subresources.status) | del(.metadata.managedFields)' \
                | kc replace -f - >/dev/null || die "cannot drop the status subresource of $n"
        done
        inline=--inline-status
    fi
    kc create namespace "$NS" >/dev/null || die "cannot create namespace $NS"
    kc apply -f deploy/clusterrole.yaml -f tests/bench/rbac.yaml >/dev/null || die "cannot apply RBAC"

    # ---- 2. the objects ---------------------------------------------
    local t=$(date +%s)
    "$TOOL" populate --server "$KSISS_APISERVER" --ca "$KSISS_CA_FILE" --token-file "$KSISS_ADMIN_TOKEN_FILE" \
        --templates tests/bench/templates --namespace "$NS" --prefix "$PREFIX" --services "$N" --pods "$PODS" \
        --pods-out "$R/pods.txt" --threads "${BENCH_POPULATE_THREADS:-16}" $inline > "$R/populate.log" 2>&1 \
        || { tail -20 "$R/populate.log" >&2; die "populate failed ($R/populate.log)"; }
    local populate_s=$(( $(date +%s) - t ))
    log "$(tail -1 "$R/populate.log")"
    local want=$((N * PODS)) running=0 end=$(( $(date +%s) + 900 ))
    while :; do
        running=$("$TOOL" count --server "$KSISS_APISERVER" --ca "$KSISS_CA_FILE" --token-file "$KSISS_ADMIN_TOKEN_FILE" \
                  --path "/api/v1/namespaces/$NS/pods" --phase Running 2>>"$R/populate.log" || echo 0)
        [ "$running" -ge "$want" ] && break
        [ "$(date +%s)" -lt $end ] || die "only $running of $want pods Running after 900 s (KWOK: $KSISS_CLUSTER_DIR/logs/kwok.log)"
        sleep 5
    done
    local running_s=$(( $(date +%s) - t ))
    log "$running pods Running ${running_s}s after populate started"
    kc apply -f tests/bench/configmap.yaml >/dev/null || die "cannot create the ConfigMap"

    # ---- 3. metrics source and Prometheus ------------------------------
    "$TOOL" source --namespace "$NS" --pods-file "$R/pods.txt" --port-file "$R/source.port" > "$R/source.log" 2>&1 &
    PIDS+=($!)
    until_true 20 test -s "$R/source.port" || die "the metrics source did not start ($R/source.log)"
    local sport; sport=$(cat "$R/source.port")
    local shards=$(( (N + 999) / 1000 )) k
    {
        echo "global: {scrape_interval: $SCRAPE, scrape_timeout: $SCRAPE, evaluation_interval: 1m}"
        echo "scrape_configs:"
        echo "  - job_name: vllm"
        echo "    static_configs:"
        for k in $(seq 0 $((shards - 1))); do
            echo "      - targets: ['127.0.0.1:$sport']"
            echo "        labels: {__param_shard: '$k', __param_of: '$shards', instance: 'bench-source-$k'}"
        done
    } > "$R/prometheus.yml"
    local pport; pport=$(free_port) || die "no free port"
    "$PROMETHEUS" --config.file="$R/prometheus.yml" --storage.tsdb.path="$R/prom-data" \
        --storage.tsdb.retention.time=2h --web.listen-address="127.0.0.1:$pport" --log.level=warn \
        > "$R/prometheus.log" 2>&1 &
    local prom_pid=$!
    PIDS+=($prom_pid)
    local PROM=http://127.0.0.1:$pport
    until_true 60 curl -sf "$PROM/-/ready" || die "Prometheus not ready within 60 s ($R/prometheus.log)"
    promq() { curl -s --get "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'; }
    have_series() { [ "$(promq "count(vllm:generation_tokens_total{namespace=\"$NS\"})")" = "$want" ]; }
    until_true 120 have_series || die "Prometheus does not have the $want pods' series after 120 s"
    have_rates() { [ "$(promq "count(sum by (service) (rate(vllm:generation_tokens_total{namespace=\"$NS\"}[1m])))")" = "$N" ]; }
    until_true 120 have_rates || die "Prometheus has no rates for all $N services after 120 s"
    log "Prometheus on $PROM has every series and rate (p95 TTFT of $PREFIX-00001: $(promq "histogram_quantile(0.95, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{service=\"$PREFIX-00001\"}[1m])))") s)"

    # ---- 4-6: measured once, or (BENCH_HOLD=1) again on request -------
    local round=1
    while :; do
        measure_round || return 0
        [ -n "${BENCH_HOLD:-}" ] || break
        rm -f "$R/again" "$R/stop"
        log "holding $N services, Prometheus $PROM: rebuild, then 'touch $R/again' to measure $BUILD/ksiss again, 'touch $R/stop' to stop"
        while [ ! -e "$R/again" ] && [ ! -e "$R/stop" ]; do sleep 2; done
        [ -e "$R/stop" ] && break
        round=$((round + 1))
    done
    stop_all
}

# measure_round: steps 4-6 for run_size (its locals are in scope); 1 when
# the controller failed (a row that says so has been written, all stopped)
measure_round() {
    COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
    git diff --quiet HEAD -- src 2>/dev/null || COMMIT="$COMMIT+dirty"
    # ---- 4. ksiss run --------------------------------------------------
    local kport; kport=$(free_port) || die "no free port"
    local EXP=http://127.0.0.1:$kport/metrics
    local start_ms; start_ms=$(now_ms)
    KUBECONFIG="$KSISS_KUBECONFIG_AUTOSCALER" NAMESPACE=$NS PROMETHEUS_URL=$PROM METRICS_SCRAPE_INTERVAL=$INTERVAL \
        "$KSISS" run --listen "127.0.0.1:$kport" --lease-name ksiss-bench > "$R/ksiss.log" 2>&1 &
    local kpid=$!
    PIDS+=($kpid)
    # samples every second: epoch_ms cpu_ticks VmRSS_kB VmHWM_kB
    ( while kill -0 "$kpid" 2>/dev/null; do
          echo "$(now_ms) $(cpu_ticks "$kpid") $(status_kb "$kpid" VmRSS) $(status_kb "$kpid" VmHWM)"; sleep 1
      done ) > "$R/samples.txt" &
    PIDS+=($!)
    # decisions so far (every service decided = N more), from the exporter:
    # independent of what the controller logs
    decisions() { curl -s --max-time 20 "$EXP" | msum /dev/stdin ksiss_decisions_total; }
    decided_at_least() { sleep 2; [ "$(decisions)" -ge "$1" ]; }
    local limit=$(( 300 + N / 20 ))
    if ! until_true $limit decided_at_least "$N"; then
        product_failed "$N" "$R" "$kpid" "not every service decided within ${limit}s of the start ($(decisions) decisions)"
        return 1
    fi
    local first_ms; first_ms=$(now_ms)
    local startup_cpu; startup_cpu=$(cpu_ticks "$kpid")
    local startup_hwm; startup_hwm=$(status_kb "$kpid" VmHWM)
    log "first decision for every service $(( (first_ms - start_ms) / 1000 ))s after start, $(awk -v c="$startup_cpu" -v h="$HZ" 'BEGIN{printf "%.2f", c/h}') CPU s"
    # one more whole tick before the steady window (lists synced, history warm)
    until_true $limit decided_at_least $((2 * N)) || log "WARNING: the second tick did not decide every service within ${limit}s"

    # ---- steady window -------------------------------------------------
    curl -s "$EXP" > "$R/exporter-0.txt"
    curl -s "$PROM/metrics" > "$R/prom-self-0.txt"
    local api_pid; api_pid=$(cat "$KSISS_CLUSTER_DIR/pids/kube-apiserver.pid")
    local w0 c0 a0 p0 d0 s0
    d0=$(msum "$R/exporter-0.txt" ksiss_decisions_total)
    w0=$(now_ms); c0=$(cpu_ticks "$kpid"); a0=$(cpu_ticks "$api_pid"); p0=$(cpu_ticks "$prom_pid")
    s0=$(grep -c 'previous tick still running' "$R/ksiss.log")
    sleep $((TICKS * INTERVAL))
    local w1 c1 a1 p1 d1 s1 rss hwm
    w1=$(now_ms); c1=$(cpu_ticks "$kpid"); a1=$(cpu_ticks "$api_pid"); p1=$(cpu_ticks "$prom_pid")
    s1=$(grep -c 'previous tick still running' "$R/ksiss.log")
    rss=$(status_kb "$kpid" VmRSS); hwm=$(status_kb "$kpid" VmHWM)
    local load; load=$(cut -d' ' -f1 /proc/loadavg)   # the machine is shared: say how busy it was
    curl -s "$EXP" > "$R/exporter-1.txt"
    curl -s "$PROM/metrics" > "$R/prom-self-1.txt"
    d1=$(msum "$R/exporter-1.txt" ksiss_decisions_total)
    if ! kill -0 "$kpid" 2>/dev/null; then
        product_failed "$N" "$R" "$kpid" "ksiss exited during the steady window"
        return 1
    fi
    local ticks; ticks=$(awk -v a="$w0" -v b="$w1" -v i="$INTERVAL" 'BEGIN{printf "%.3f", (b-a)/1000/i}')
    local api0 api1 q0 q1 pq0 pq1 qe0 qe1
    api0=$(msum "$R/exporter-0.txt" ksiss_kubernetes_requests_total); api1=$(msum "$R/exporter-1.txt" ksiss_kubernetes_requests_total)
    q0=$(msum "$R/exporter-0.txt" ksiss_prometheus_query_duration_seconds_count); q1=$(msum "$R/exporter-1.txt" ksiss_prometheus_query_duration_seconds_count)
    qe0=$(msum "$R/exporter-0.txt" ksiss_prometheus_query_errors_total); qe1=$(msum "$R/exporter-1.txt" ksiss_prometheus_query_errors_total)
    pq0=$(msum "$R/prom-self-0.txt" prometheus_http_requests_total 'handler="/api/v1/query"'); pq1=$(msum "$R/prom-self-1.txt" prometheus_http_requests_total 'handler="/api/v1/query"')
    # mean tick duration, where the controller exports it (ksiss_tick_duration_seconds)
    local tick_mean=n/a ts0 ts1 tc0 tc1
    if grep -q '^ksiss_tick_duration_seconds_count' "$R/exporter-1.txt"; then
        ts0=$(awk '$1 ~ /^ksiss_tick_duration_seconds_sum/ {print $NF}' "$R/exporter-0.txt"); ts1=$(awk '$1 ~ /^ksiss_tick_duration_seconds_sum/ {print $NF}' "$R/exporter-1.txt")
        tc0=$(msum "$R/exporter-0.txt" ksiss_tick_duration_seconds_count); tc1=$(msum "$R/exporter-1.txt" ksiss_tick_duration_seconds_count)
        [ "$tc1" -gt "$tc0" ] && tick_mean=$(awk -v a="${ts0:-0}" -v b="$ts1" -v n=$((tc1 - tc0)) 'BEGIN{printf "%.2f", (b-a)/n}')
    fi
    local verbs
    verbs=$(for v in $(grep -oh '^ksiss_kubernetes_requests_total{verb="[A-Za-z]*"' "$R/exporter-0.txt" "$R/exporter-1.txt" | cut -d'"' -f2 | sort -u); do
                x0=$(msum "$R/exporter-0.txt" ksiss_kubernetes_requests_total "verb=\"$v\""); x1=$(msum "$R/exporter-1.txt" ksiss_kubernetes_requests_total "verb=\"$v\"")
                [ "$x1" != "$x0" ] && awk -v v="$v" -v d=$((x1 - x0)) -v t="$ticks" 'BEGIN{printf "%s %.1f, ", v, d/t}'
            done)
    verbs=${verbs%, }

    # ---- 5. decision latency ---------------------------------------------
    local list="" i idx
    for i in $(seq 1 "$SAMPLES"); do
        # later rounds (BENCH_HOLD) take services the earlier ones did not move
        idx=$(( i * N / (SAMPLES + 1) + round - 1 )); [ "$idx" -ge 1 ] || idx=1
        list="$list${list:+,}$(printf '%s-%05d' "$PREFIX" "$idx")"
    done
    "$TOOL" latency --server "$KSISS_APISERVER" --ca "$KSISS_CA_FILE" --token-file "$KSISS_ADMIN_TOKEN_FILE" \
        --namespace "$NS" --source "http://127.0.0.1:$sport" --prometheus "$PROM" --services "$list" \
        --timeout-s $((INTERVAL * 6 + 60)) > "$R/latency.txt" 2> "$R/latency.log" || die "latency tool failed ($R/latency.log)"
    local lat; lat=$(grep '^latency ' "$R/latency.txt")
    lv() { echo "$lat" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
    local peak_hwm; peak_hwm=$(status_kb "$kpid" VmHWM)
    local acted; acted=$(grep -c 'msg=acted' "$R/ksiss.log")
    stop_pid "$kpid"

    # ---- 6. the row ------------------------------------------------------
    awk -v N="$N" -v P="$PODS" -v ticks="$ticks" -v c="$((c1 - c0))" -v hz="$HZ" -v iv="$INTERVAL" \
        -v sc="$startup_cpu" -v sw="$(( first_ms - start_ms ))" -v shwm="$startup_hwm" -v rss="$rss" -v hwm="$hwm" -v phwm="$peak_hwm" \
        -v api="$((api1 - api0))" -v q="$((q1 - q0))" -v qe="$((qe1 - qe0))" -v pq="$((pq1 - pq0))" -v dd="$((d1 - d0))" -v sk="$((s1 - s0))" \
        -v ac="$((a1 - a0))" -v pc="$((p1 - p0))" -v verbs="$verbs" -v tm_s="$tick_mean" -v load="$load" \
        -v lm="$(lv decision_median_ms)" -v lx="$(lv decision_max_ms)" -v tm="$(lv total_median_ms)" -v tx="$(lv total_max_ms)" \
        -v ln="$(lv measured)" -v ls="$(lv samples)" -v acted="$acted" -v pop="$populate_s" -v run="$running_s" \
        -v tcpu="$TARGET_CPU_PCT" -v trss="$TARGET_RSS_MB" -v commit="$COMMIT" 'BEGIN {
        cpt = c / hz / ticks; pct = cpt / iv * 100; mb = rss / 1024; hmb = hwm / 1024; pmb = phwm / 1024
        # the window is not aligned on ticks: decisions are counted per whole tick
        wt = int(ticks + 0.5); if (wt < 1) wt = 1
        printf "size=%d pods=%d commit=%s ticks=%.2f cpu_s_per_tick=%.3f cpu_pct=%.2f rss_mb=%.1f hwm_mb=%.1f peak_hwm_mb=%.1f startup_s=%.1f startup_cpu_s=%.2f startup_hwm_mb=%.1f api_per_tick=%.1f api_verbs=\"%s\" prom_queries_per_tick=%.1f prom_errors_per_tick=%.1f prom_server_queries_per_tick=%.1f decisions_per_tick=%.1f tick_mean_s=%s skipped_per_tick=%.1f apiserver_cpu_pct=%.1f prometheus_cpu_pct=%.1f latency_samples=%s latency_measured=%s decision_median_ms=%s decision_max_ms=%s total_median_ms=%s total_max_ms=%s acted=%d populate_s=%d pods_running_s=%d cpu_verdict=%s rss_verdict=%s tick_verdict=%s loadavg=%s\n",
            N, P, commit, ticks, cpt, pct, mb, hmb, pmb, sw / 1000, sc / hz, shwm / 1024, api / ticks, verbs, q / ticks, qe / ticks, pq / ticks,
            dd / wt, tm_s, sk / ticks, ac / hz / ticks / iv * 100, pc / hz / ticks / iv * 100, ls, ln, lm, lx, tm, tx, acted, pop, run,
            (pct < tcpu) ? "PASS" : "MISS", (pmb < trss) ? "PASS" : "MISS", (dd / wt >= 0.99 * N) ? "PASS" : "MISS", load
    }' | tee -a "$RESULTS.rows" > "$R/result.txt"
    log "result: $(cat "$R/result.txt")"
}

# product_failed N RUNDIR PID WHY: the controller (not the harness) failed:
# a row that says so (MISS), the end of its log, and on to the next size.
product_failed() {
    local alive=running
    kill -0 "$3" 2>/dev/null || { wait "$3" 2>/dev/null; alive="exited with status $?"; }
    echo "size=$1 pods=$PODS commit=$COMMIT tick_verdict=MISS cpu_verdict=MISS rss_verdict=MISS peak_hwm_mb=$(awk 'END{printf "%.1f", $4/1024}' "$2/samples.txt") failure=\"$4 (ksiss $alive; log $2/ksiss.log)\"" \
        | tee -a "$RESULTS.rows" > "$2/result.txt"
    log "FAILED (the controller, not the harness): $4; ksiss $alive; last log lines:"
    tail -5 "$2/ksiss.log" | cut -c1-300
    stop_all
}

free_port() { "$ROOT/$BUILD/tests/prom_tool" free-port 2>/dev/null || python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

# ---- the table ------------------------------------------------------------
field() { echo "$1" | grep -o "$2=[^ ]*" | head -1 | cut -d= -f2 | tr -d '"'; }
print_table() {
    echo "K-SISS scale benchmark, commit $COMMIT, $(date -u +%Y-%m-%dT%H:%MZ), ${INTERVAL}s ticks, $PODS pods per service, $TICKS steady ticks"
    echo "target: 10000 services per 10 s tick using < ${TARGET_CPU_PCT}% of one core and < ${TARGET_RSS_MB} MB RSS"
    printf '%-8s %-13s %-10s %-8s %-9s %-9s %-9s %-14s %-10s %-10s %-10s %-16s %-16s %s\n' \
        services commit "CPU s/tick" "% core" "RSS MB" "peak MB" "startup" "startup CPU s" "API/tick" "prom/tick" "decided" "latency med/max" "end-to-end" "verdict"
    while read -r row; do
        printf '%-8s %-13s %-10s %-8s %-9s %-9s %-9s %-14s %-10s %-10s %-10s %-16s %-16s %s\n' \
            "$(field "$row" size)" "$(field "$row" commit)" "$(field "$row" cpu_s_per_tick)" "$(field "$row" cpu_pct)" "$(field "$row" rss_mb)" \
            "$(field "$row" peak_hwm_mb)" "$(field "$row" startup_s)s" "$(field "$row" startup_cpu_s)" \
            "$(field "$row" api_per_tick)" "$(field "$row" prom_queries_per_tick)" "$(field "$row" decisions_per_tick)" \
            "$(field "$row" decision_median_ms)/$(field "$row" decision_max_ms) ms" \
            "$(field "$row" total_median_ms)/$(field "$row" total_max_ms) ms" \
            "all decided $(field "$row" tick_verdict), CPU $(field "$row" cpu_verdict), RSS $(field "$row" rss_verdict)"
    done < "$RESULTS.rows"
    echo
    echo "API requests per tick by verb, Prometheus, apiserver:"
    while read -r row; do
        echo "  $(field "$row" size): $(echo "$row" | grep -o 'api_verbs="[^"]*"' | cut -d'"' -f2); Prometheus saw $(field "$row" prom_server_queries_per_tick) queries/tick, errors $(field "$row" prom_errors_per_tick)/tick; skipped services $(field "$row" skipped_per_tick)/tick; mean tick $(field "$row" tick_mean_s) s; apiserver $(field "$row" apiserver_cpu_pct)% and Prometheus $(field "$row" prometheus_cpu_pct)% of a core; latency samples $(field "$row" latency_measured)/$(field "$row" latency_samples); populate $(field "$row" populate_s)s, pods Running after $(field "$row" pods_running_s)s; load average $(field "$row" loadavg) on $(nproc) cores"
    done < "$RESULTS.rows"
    grep -o 'size=[0-9]* .*failure="[^"]*"' "$RESULTS.rows" | sed 's/^size=\([0-9]*\) .*failure=/  \1 FAILED: /'
    echo "(raw rows: $RESULTS.rows; per size: $OUT/scale-N/)"
}

main() {
    local N
    if [ "${1:-}" = --table ]; then    # the table again, from $RESULTS.rows
        print_table
        return 0
    fi
    : > "$RESULTS.rows"
    for N in $SIZES; do
        case $N in ''|*[!0-9]*) die "size \"$N\": expected a number of services";; esac
        run_size "$N"
    done
    print_table | tee "$RESULTS"
    return 0
}
# The whole file is parsed before anything runs (editing it during a run is safe).
main "$@"; exit $?
