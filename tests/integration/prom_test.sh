#!/usr/bin/env bash
# prom_test.sh: K-SISS against a REAL Prometheus. Starts Debian's prometheus
# (or $PROMETHEUS) on a free loopback port with a temporary config and data
# directory, scraping every second two stand-in inference servers (pods a
# and b, tests/integration/fake_inference.c) and the K-SISS exporter, then
# checks that `ksiss query` reads the right numbers for real PromQL, that
# queries batched across services give every service the readings of its
# own queries (hostile names included) and the prompt-length histogram
# per bucket the same 1 + c^2, that
# Prometheus ingests every K-SISS metric with the exported value, and that
# a rejected query, a server that never answers and a stopped Prometheus
# each give a clear error and missing data, never a hang or a zero.
# Prints PASS/FAIL per check and "N passed, M failed"; exits 1 on failure.
# Everything it starts is stopped on exit; every wait is bounded.
set -u

BUILD=${BUILD:-build}
KSISS=$BUILD/ksiss
FAKE=$BUILD/tests/fake_inference
TOOL=$BUILD/tests/prom_tool
# Bounds on waits for `ksiss` scale by this factor (valgrind_suite.sh runs
# every ksiss under valgrind and sets it to 10); 1 otherwise.
SLOW=${KSISS_TEST_SLOWDOWN:-1}
case $SLOW in ''|*[!0-9]*|0) echo "KSISS_TEST_SLOWDOWN must be a positive integer, not '$SLOW'"; exit 2;; esac
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

. "$(dirname "$0")/../lib/suite.sh"
suite_init prom ksiss-prom-test

# near VALUE WANT RELTOL: |VALUE-WANT| <= RELTOL*|WANT| (VALUE must be a number)
near() {
    awk -v v="$1" -v w="$2" -v t="$3" 'BEGIN {
        if (v !~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/) exit 1
        d = v - w; if (d < 0) d = -d; a = w < 0 ? -w : w
        exit !(d <= t * a + 1e-12) }'
}
jget() { "$TOOL" json "$1" "$2" 2>/dev/null; }
# expect_near NAME FILE PATH WANT RELTOL
expect_near() {
    local v
    v=$(jget "$2" "$3")
    if near "$v" "$4" "$5"; then ok "$1 ($v)"; else ko "$1" "got '$v', want $4"; fi
}
expect_eq() {   # expect_eq NAME FILE PATH WANT
    local v
    v=$(jget "$2" "$3")
    if [ "$v" = "$4" ]; then ok "$1"; else ko "$1" "got '$v', want '$4'"; fi
}
now_ms() { date +%s%3N; }

for f in "$KSISS" "$FAKE" "$TOOL"; do
    [ -x "$f" ] || die "setup" "$f is not built (make build)"
done
[ -x "$PROMETHEUS" ] || die "setup" "no Prometheus at $PROMETHEUS (apt-get install prometheus, or set PROMETHEUS=)"

# ---- the stand-in inference servers: pod a and pod b ----
POD_A=gpt2-00001-deployment-a
POD_B=gpt2-00001-deployment-b
cat >"$TMP/a.state" <<EOF
running 3
waiting 1
gen_tokens_rate 100
ttft_rate 10
ttft_cum 0.2 0.5 0.8 1
tgi_count_rate 20
tgi_mean 0.04
tgi_queue 2
req_rate 10
prompt_len 1000
tpot_rate 10
tpot_mean 0.04
tpot_name 2
prefill_mean 0.05
EOF
cat >"$TMP/b.state" <<EOF
running 5
waiting 0
gen_tokens_rate 50
ttft_rate 10
ttft_cum 0.1 0.2 0.5 1
tgi_count_rate 20
tgi_mean 0.06
tgi_queue 0
req_rate 10
prompt_len 100 0.5 2000
tpot_rate 30
tpot_mean 0.08
tpot_name 0
prefill_mean 0.1
EOF
# pod c, of another service and namespace: a vLLM without the prefill's series
cat >"$TMP/c.state" <<EOF
ttft_rate 5
ttft_mean 0.2
req_rate 5
prompt_len 500
EOF
start_fake a "$TMP/a.state"
start_fake b "$TMP/b.state"
start_fake c "$TMP/c.state"
wait_file "$TMP/a.port" 10 && wait_file "$TMP/b.port" 10 && wait_file "$TMP/c.port" 10 ||
    die "setup" "the stand-in inference servers did not start"
APORT=$(cat "$TMP/a.port")
BPORT=$(cat "$TMP/b.port")
CPORT=$(cat "$TMP/c.port")
check "stand-in inference server exposes vLLM and TGI metrics" \
    bash -c "'$TOOL' get http://127.0.0.1:$APORT/metrics | grep -q '^tgi_request_mean_time_per_token_duration_count ' &&
             '$TOOL' get http://127.0.0.1:$APORT/metrics | grep -q '^vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"0.5\"}'"

# ---- Prometheus ----
PPORT=$("$TOOL" free-port)
KPORT=$("$TOOL" free-port)
SPORT=$("$TOOL" free-port)
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: inference
    static_configs:
      - targets: ["127.0.0.1:$APORT"]
        labels: {pod: $POD_A, namespace: ml}
      - targets: ["127.0.0.1:$BPORT"]
        labels: {pod: $POD_B, namespace: ml}
      - targets: ["127.0.0.1:$CPORT"]
        labels: {pod: old-00001-deployment-c, namespace: old}
  - job_name: cross
    static_configs:
      - targets: ["127.0.0.1:$APORT"]
        labels: {pod: svc1-a, service: svc1, revision: svc1-00001, namespace: cross}
      - targets: ["127.0.0.1:$BPORT"]
        labels: {pod: svc1-b, service: svc1, revision: svc1-00001, namespace: cross}
      - targets: ["127.0.0.1:$APORT"]
        labels: {pod: odd-a, service: odd.name, revision: odd.name-00001, namespace: cross}
      - targets: ["127.0.0.1:$BPORT"]
        labels: {pod: oddx-b, service: oddxname, revision: oddxname-00001, namespace: cross}
  - job_name: ksiss
    static_configs:
      - targets: ["127.0.0.1:$KPORT"]
  - job_name: ksiss-sample
    static_configs:
      - targets: ["127.0.0.1:$SPORT"]
EOF
start_prometheus "$TMP/prometheus.yml" "$PPORT" ||
    { cat "$TMP/prometheus.log"; die "setup" "Prometheus did not become ready within 30 s"; }
ok "Prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $3}') ready on 127.0.0.1:$PPORT"

# ---- the user's configuration ----
CFG=$TMP/autoscaler-config.yaml
cat >"$CFG" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: autoscaler-config
data:
  gpt2: |
    - name: ttft_p90
      query: histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{pod="%s"}[15s])))
      slo: 0.5
    - name: running
      query: sum by (pod) (vllm:num_requests_running{pod="%s"})
      slo: 4
      aggregate: avg
    - name: tgi_request_metric
      query: increase(tgi_request_mean_time_per_token_duration_sum{pod="%s"}[15s])/increase(tgi_request_mean_time_per_token_duration_count{pod="%s"}[15s])
      slo: 0.5
      scaleDownFactor: 0.5
      scaleUpFactor: 1.5
    - name: tokens_per_second
      query: sum(rate(vllm:generation_tokens_total{namespace="{namespace}"}[15s]))
      slo: 100
      direction: higher
    - name: tpot_mean
      query: sum(rate(vllm:inter_token_latency_seconds_sum{namespace="{namespace}"}[15s]) or rate(vllm:time_per_output_token_seconds_sum{namespace="{namespace}"}[15s])) / sum(rate(vllm:inter_token_latency_seconds_count{namespace="{namespace}"}[15s]) or rate(vllm:time_per_output_token_seconds_count{namespace="{namespace}"}[15s]))
      slo: 0.1
  broken: |
    - name: bad_rate
      query: rate(vllm:num_requests_running{pod="%s"})
      slo: 1
EOF
QUERY=(timeout 60 "$KSISS" query --config "$CFG" --service gpt2 --pods "$POD_A,$POD_B" --namespace ml)

# Wait until the 15 s windows are full: the throughput reads 150 tokens/s
# (bounded: 60 s).
J=$TMP/q.json
got=""
for i in $(seq 1 60); do
    if "${QUERY[@]}" --prometheus "$PROM" --json >"$J" 2>"$TMP/q.err"; then
        got=$(jget "$J" metrics.3.value)
        near "$got" 150 0.03 && break
    fi
    sleep 1
done

"${QUERY[@]}" --prometheus "$PROM/api/v1/query" --json >"$J" 2>"$TMP/q.err"
rc=$?
if [ $rc = 0 ]; then ok "ksiss query exits 0 when every metric was read (full query URL accepted)"; else ko "ksiss query exits 0 when every metric was read" "rc $rc: $(cat "$TMP/q.err")"; fi
expect_eq "JSON names the service" "$J" service gpt2

# histogram_quantile over rate: a = 0.5 + 0.5*(0.9-0.8)/0.2 = 0.75, b = 0.5 + 0.5*(0.9-0.5)/0.5 = 0.9
expect_near "histogram_quantile over rate, pod a" "$J" "metrics.0.pods.$POD_A" 0.75 1e-6
expect_near "histogram_quantile over rate, pod b" "$J" "metrics.0.pods.$POD_B" 0.9 1e-6
expect_near "histogram_quantile over rate, max over pods" "$J" metrics.0.value 0.9 1e-6
expect_near "histogram_quantile over rate, pressure 0.9/0.5" "$J" metrics.0.pressure 1.8 1e-6
expect_eq "sum by (le) per pod is batched into one request" "$J" metrics.0.requests 1
expect_eq "sum by (le) query is batched" "$J" metrics.0.batched true
# sum by (pod)
expect_near "sum by (pod), pod a" "$J" "metrics.1.pods.$POD_A" 3 1e-9
expect_near "sum by (pod), pod b" "$J" "metrics.1.pods.$POD_B" 5 1e-9
expect_near "sum by (pod), aggregate avg" "$J" metrics.1.value 4 1e-9
expect_eq "sum by (pod) is one request" "$J" metrics.1.requests 1
# the original's ratio of increases with %s twice
expect_near "original ratio of increases (%s twice), pod a" "$J" "metrics.2.pods.$POD_A" 0.04 1e-6
expect_near "original ratio of increases (%s twice), pod b" "$J" "metrics.2.pods.$POD_B" 0.06 1e-6
expect_near "original ratio of increases, max over pods" "$J" metrics.2.value 0.06 1e-6
expect_near "original ratio of increases, pressure 0.06/0.5" "$J" metrics.2.pressure 0.12 1e-6
expect_eq "original ratio of increases is batched into one request" "$J" metrics.2.requests 1
# throughput, direction: higher (pressure = slo/value)
expect_near "throughput sum(rate()) over both pods" "$J" metrics.3.value 150 0.03
expect_near "throughput direction higher: pressure slo/value" "$J" metrics.3.pressure 0.6667 0.03
expect_eq "throughput direction is higher" "$J" metrics.3.direction higher
# TPOT under vLLM's two names (examples/sim/config.yaml, the learning's
# default): pod a serves both with the same values (vLLM 0.11-0.12), pod b
# the old name only: per pod the new series or else the old, each pod once:
# (10 x 0.04 + 30 x 0.08) / 40 = 0.07 (a counted twice: 0.064; only the new
# name read: 0.04); 2%: two pods' 15 s rates scraped apart, on a busy
# machine (the sanitizer build) 0.6% off
expect_near "TPOT, new name or else old per pod: each pod once" "$J" metrics.4.value 0.07 0.02
# pod b moves to vLLM 0.13 (the old name gone): the same mean once the 15 s
# windows hold only the new series
sed -i 's/^tpot_name 0$/tpot_name 1/' "$TMP/b.state"
got=""
for i in $(seq 1 40); do
    sleep 1
    "${QUERY[@]}" --prometheus "$PROM" --json >"$TMP/q2.json" 2>/dev/null || continue
    got=$(jget "$TMP/q2.json" metrics.4.value)
    [ $i -ge 18 ] && near "$got" 0.07 0.02 && break
done
if near "$got" 0.07 0.02; then ok "TPOT, the old name gone from pod b: the new one is read ($got)"
else ko "TPOT, the old name gone from pod b: the new one is read" "got '$got', want 0.07"; fi
"${QUERY[@]}" --prometheus "$PROM" >"$TMP/q.txt" 2>&1
check "text output lists pods and batching" contains "$TMP/q.txt" "pod $POD_B: 0.9"

# ---- batching across services: one query per template, same readings ----
if "$TOOL" cross-batch "$PROM" >"$TMP/cross.txt" 2>&1; then ok "batched across services: $(tail -1 "$TMP/cross.txt")"
else ko "batched across services gives each service its own queries' readings" "$(grep FAIL "$TMP/cross.txt" | head -5)"; fi
# the prompt-length histogram per bucket (learnQueries.promptHistogram): by (le) and by the service when batched
if "$TOOL" cross-hist "$PROM" >"$TMP/hist.txt" 2>&1; then ok "prompt-length histogram: $(paste -sd";" "$TMP/hist.txt")"
else ko "the prompt-length histogram per bucket, per service and batched" "$(grep FAIL "$TMP/hist.txt" | head -5)"; fi

# ---- the learned capacity's default queries (core/config.c), as the controller runs them ----
# They read the latest ready revision's pods (Knative's <revision>-deployment-...).
# pods a and b (revision gpt2-00001): 10 requests/s each, prompts of 1000 and (100 + 2000) / 2
# tokens, prefills of 0.05 and 0.1 s: the prefill per prompt token over the
# service is (0.5 + 1.0) / (10000 + 10500) = 7.317e-5 s, for vLLM
# (request_prefill_time_seconds over request_prompt_tokens) and TGI (the
# prefill forward passes over the input lengths) alike
learn_value() { awk -v k="$2" '$1 == k {print $2}' "$1"; }
expect_learn() {  # expect_learn FILE KEY WANT TOL WHAT
    local v
    v=$(learn_value "$1" "$2")
    if near "$v" "$3" "$4"; then ok "$5 ($v)"; else ko "$5" "got '$v', want $3: $(paste -sd';' "$1")"; fi
}
got=""
for i in $(seq 1 40); do
    "$TOOL" learn-defaults "$PROM" vllm gpt2 ml gpt2-00001 >"$TMP/learn-vllm.txt" 2>&1 &&
        near "$(learn_value "$TMP/learn-vllm.txt" prefillPerToken)" 7.317e-5 0.02 && break
    sleep 1
done
"$TOOL" learn-defaults "$PROM" tgi gpt2 ml gpt2-00001 >"$TMP/learn-tgi.txt" 2>&1
expect_learn "$TMP/learn-vllm.txt" prefillPerToken 7.317e-5 0.02 "learnQueries' vLLM default prefillPerToken: the service's prefill seconds over its prompt tokens"
expect_learn "$TMP/learn-vllm.txt" ttft 0.3 0.02 "learnQueries' vLLM default ttft: the mean TTFT of both pods"
expect_learn "$TMP/learn-vllm.txt" running 4 1e-9 "learnQueries' vLLM default running: the mean batch per pod"
expect_learn "$TMP/learn-tgi.txt" prefillPerToken 7.317e-5 0.02 "learnQueries' TGI default prefillPerToken: prefill forward seconds over the input lengths"
expect_learn "$TMP/learn-tgi.txt" promptTokens 1025 0.02 "learnQueries' TGI default promptTokens: the mean input length"
# another revision's pods are not read: gpt2-00002 has none serving yet
"$TOOL" learn-defaults "$PROM" vllm gpt2 ml gpt2-00002 >"$TMP/learn-rev2.txt" 2>&1
if [ "$(learn_value "$TMP/learn-rev2.txt" prefillPerToken)" = nan ] && [ "$(learn_value "$TMP/learn-rev2.txt" ttft)" = nan ]; then
    ok "learnQueries' defaults read only the revision's own pods: gpt2-00002 has none (nan), gpt2-00001's are not its"
else ko "learnQueries' defaults read only the revision's own pods" "$(paste -sd';' "$TMP/learn-rev2.txt")"; fi
# pod c does not serve the prefill's series (a vLLM before it): no value,
# so the learner splits TTFT with its queueing model; its TTFT still reads
"$TOOL" learn-defaults "$PROM" vllm old old old-00001 >"$TMP/learn-none.txt" 2>&1
if [ "$(learn_value "$TMP/learn-none.txt" prefillPerToken)" = nan ] && near "$(learn_value "$TMP/learn-none.txt" ttft)" 0.2 0.02; then
    ok "prefillPerToken without the series: no value (nan), not 0; the TTFT of the same pod reads"
else ko "prefillPerToken without the series" "$(paste -sd';' "$TMP/learn-none.txt")"; fi

# ---- the exporter, scraped by the same Prometheus ----
timeout 300 "$KSISS" query --config "$CFG" --service gpt2 --pods "$POD_A,$POD_B" --namespace ml \
    --prometheus "$PROM" --serve "127.0.0.1:$KPORT" --interval 1h >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE_PID=$!
PIDS+=($SERVE_PID)
"$TOOL" export-sample "127.0.0.1:$SPORT" >"$TMP/sample.log" 2>&1 &
PIDS+=($!)
up_both=0
for i in $(seq 1 $((300 * SLOW))); do
    n=0
    for job in ksiss ksiss-sample; do
        "$TOOL" get "$PROM/api/v1/query?query=up%7Bjob%3D%22$job%22%7D" >"$TMP/up.json" 2>/dev/null &&
            [ "$(jget "$TMP/up.json" data.result.0.value.1)" = 1 ] && n=$((n + 1))
    done
    [ $n = 2 ] && { up_both=1; break; }
    sleep 0.1
done
if [ $up_both = 1 ]; then ok "Prometheus scrapes the K-SISS exporter (up == 1)"; else ko "Prometheus scrapes the K-SISS exporter" "$(cat "$TMP/serve.err")"; fi
sleep 2.5   # two more scrapes, so the values are the settled ones
check "/readyz of ksiss query --serve is 200" bash -c "'$TOOL' get http://127.0.0.1:$KPORT/readyz >/dev/null"
check "/healthz of ksiss query --serve is 200" bash -c "'$TOOL' get http://127.0.0.1:$KPORT/healthz >/dev/null"
"$TOOL" compare-export "http://127.0.0.1:$KPORT" "$PROM" ksiss >"$TMP/cmp1.txt" 2>&1
rc=$?
if [ $rc = 0 ]; then ok "every series of ksiss query --serve is in Prometheus with the exported value ($(tail -1 "$TMP/cmp1.txt"))"
else ko "every series of ksiss query --serve is in Prometheus with the exported value" "$(grep FAIL "$TMP/cmp1.txt" | head -5)"; fi
"$TOOL" compare-export "http://127.0.0.1:$SPORT" "$PROM" ksiss-sample >"$TMP/cmp2.txt" 2>&1
rc=$?
if [ $rc = 0 ]; then ok "every K-SISS metric (all of the table, hostile label values) is ingested with its value ($(tail -1 "$TMP/cmp2.txt"))"
else ko "every K-SISS metric is ingested with its value" "$(grep FAIL "$TMP/cmp2.txt" | head -5)"; fi
"$TOOL" get "http://127.0.0.1:$SPORT/metrics" >"$TMP/sample.txt"
types=$(grep -c '^# TYPE ' "$TMP/sample.txt")
withdata=$(grep -v '^#' "$TMP/sample.txt" | sed 's/[{ ].*//; s/_bucket$//; s/_sum$//; s/_count$//' | sort -u | wc -l)
if [ "$types" -gt 0 ] && [ "$types" = "$withdata" ]; then ok "the sample exporter sets all $types metric families"
else ko "the sample exporter sets all metric families" "$withdata of $types"; fi
"$TOOL" get "$PROM/api/v1/query?query=ksiss_metric_value%7Bjob%3D%22ksiss%22%2Cmetric%3D%22tgi_request_metric%22%7D" >"$TMP/mv.json" 2>/dev/null
expect_near "ksiss_metric_value queried back from Prometheus is the value read" "$TMP/mv.json" data.result.0.value.1 0.06 1e-6
"$TOOL" get "$PROM/api/v1/query?query=KubeComp_gpu_resource%7Bjob%3D%22ksiss-sample%22%7D" >"$TMP/kc.json" 2>/dev/null
expect_eq "the original's KubeComp_gpu_resource{revision} series is ingested" "$TMP/kc.json" data.result.0.metric.revision revision-17

# ---- failures: each a clear error and missing data, never a hang or a zero ----
timeout 30 "$KSISS" query --config "$CFG" --service broken --pods "$POD_A" --prometheus "$PROM" --json >"$TMP/bad.json" 2>"$TMP/bad.err"
rc=$?
if [ $rc = 1 ] && contains "$TMP/bad.err" "metric bad_rate" && contains "$TMP/bad.err" "HTTP 400, bad_data"; then
    ok "a query Prometheus rejects (HTTP 400): exit 1, message names the metric and passes Prometheus' error on"
else ko "a query Prometheus rejects (HTTP 400)" "rc $rc: $(cat "$TMP/bad.err")"; fi
expect_eq "rejected query: value is null (missing), not zero" "$TMP/bad.json" metrics.0.value null
check "rejected query: the missing reason quotes Prometheus" bash -c "'$TOOL' json '$TMP/bad.json' metrics.0.missing | grep -q 'expected type range vector'"

"$TOOL" hang "$TMP/hang.port" &
PIDS+=($!)
wait_file "$TMP/hang.port" 10 || die "setup" "hang listener did not start"
t0=$(now_ms)
"${QUERY[@]}" --prometheus "http://127.0.0.1:$(cat "$TMP/hang.port")" --timeout 1s --json >"$TMP/hang.json" 2>"$TMP/hang.err"
rc=$?
took=$(($(now_ms) - t0))
if [ $rc = 1 ] && contains "$TMP/hang.err" "no answer from http://127.0.0.1:" && contains "$TMP/hang.err" "within 1000 ms"; then
    ok "a server that never answers: exit 1 after the timeout (${took} ms for 4 metrics), message names the cause"
else ko "a server that never answers" "rc $rc after ${took} ms: $(cat "$TMP/hang.err")"; fi
if [ $took -lt $((15000 * SLOW)) ]; then ok "a server that never answers never hangs the command"; else ko "a server that never answers never hangs the command" "${took} ms"; fi
for k in 0 1 2 3; do expect_eq "no answer: metric $k is missing (null), not zero" "$TMP/hang.json" "metrics.$k.value" null; done

stop_pid $PROM_PID
t0=$(now_ms)
"${QUERY[@]}" --prometheus "$PROM" --json >"$TMP/down.json" 2>"$TMP/down.err"
rc=$?
took=$(($(now_ms) - t0))
if [ $rc = 1 ] && contains "$TMP/down.err" "metric ttft_p90: cannot reach Prometheus at $PROM/api/v1/query"; then
    ok "Prometheus stopped: exit 1 in ${took} ms, message names metric and cause"
else ko "Prometheus stopped" "rc $rc: $(cat "$TMP/down.err")"; fi
for k in 0 1 2 3; do expect_eq "Prometheus stopped: metric $k is missing (null), not zero" "$TMP/down.json" "metrics.$k.value" null; done

# The exporter while Prometheus is down: missing flagged, no stale value.
DPORT=$("$TOOL" free-port)
timeout 60 "$KSISS" query --config "$CFG" --service gpt2 --pods "$POD_A,$POD_B" --namespace ml \
    --prometheus "$PROM" --serve "127.0.0.1:$DPORT" --interval 1s >/dev/null 2>"$TMP/serve2.err" &
S2=$!
PIDS+=($S2)
# The exporter listens before the first read; the "serving" line comes
# after it. Wait for that line (a loaded CI machine once took over 5 s),
# then for the counted errors; a failure shows what the command said.
got_metrics=0
for i in $(seq 1 $((300 * SLOW))); do
    grep -q 'serving /metrics' "$TMP/serve2.err" 2>/dev/null && break
    kill -0 $S2 2>/dev/null || break
    sleep 0.1
done
for i in $(seq 1 $((100 * SLOW))); do
    if "$TOOL" get "http://127.0.0.1:$DPORT/metrics" >"$TMP/down.metrics" 2>/dev/null &&
        grep -q 'ksiss_prometheus_query_errors_total{reason="connect"} [1-9]' "$TMP/down.metrics"; then got_metrics=1; break; fi
    sleep 0.1
done
if [ $got_metrics = 1 ] && grep -q 'ksiss_metric_missing{namespace="ml",service="gpt2",metric="tgi_request_metric"} 1$' "$TMP/down.metrics" &&
    ! grep -q '^ksiss_metric_value{' "$TMP/down.metrics"; then
    ok "exporter with Prometheus down: ksiss_metric_missing 1, connect errors counted, no value exported"
else ko "exporter with Prometheus down" "$(grep -E '^ksiss_(metric_missing|metric_value|prometheus_query_errors_total)' "$TMP/down.metrics" | head -8)
--- ksiss query said: $(tail -5 "$TMP/serve2.err" 2>/dev/null); $(kill -0 $S2 2>/dev/null && echo still running || echo exited)"; fi
stop_pid $S2
kill -TERM $SERVE_PID 2>/dev/null
for i in $(seq 1 $((50 * SLOW))); do kill -0 $SERVE_PID 2>/dev/null || break; sleep 0.1; done
if kill -0 $SERVE_PID 2>/dev/null; then ko "ksiss query --serve stops on SIGTERM" "still running after $((5 * SLOW)) s"
else wait $SERVE_PID; rc=$?; if [ $rc = 0 ]; then ok "ksiss query --serve stops on SIGTERM with exit 0"; else ko "ksiss query --serve stops on SIGTERM" "rc $rc"; fi; fi

finish
