#!/usr/bin/env bash
# security_test.sh: the security properties of issue 8, as behaviour, on
# loopback only (docs/operations.md, "Security"):
#   1. TLS verification is on by default: the Prometheus and Kubernetes
#      clients refuse a server whose certificate they do not trust (clear
#      error, no request sent), accept it with the CA configured, and skip
#      verification only with insecure-skip-tls-verify (logged as a warning);
#   2. tokens and passwords (kubeconfig token and tokenFile, Prometheus
#      bearer token, token file, basic auth, user:password in the URL) never
#      appear on stderr/stdout or on /metrics of `ksiss run`, `ksiss query`
#      and `ksiss explain`, against servers answering 401, 403, 500, with an
#      untrusted certificate, or not listening at all;
#   3. hostile names through a REAL Prometheus: series whose pod and
#      namespace label values hold quotes, backslashes, newlines,
#      `"} or vector(1) #`, regex metacharacters... are each read with
#      exactly their own value, batched, per pod and after =~, alone or all
#      together;
#   4. the exporter listens only on the configured address and serves
#      nothing but /metrics, /healthz and /readyz.
# Stand-in servers: tests/integration/sec_tool.c (plain or TLS, fixed
# answer, logs what it received without credentials), fake_inference.c.
# Certificates are made with openssl at start. Prints PASS/FAIL per check and
# "N passed, M failed"; exits 1 on failure. Everything started is stopped
# on exit; every wait is bounded.
set -u

BUILD=${BUILD:-build}
KSISS=$BUILD/ksiss
FAKE=$BUILD/tests/fake_inference
TOOL=$BUILD/tests/prom_tool
SEC=$BUILD/tests/sec_tool
LOGFMT=$BUILD/tests/logfmt_check
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}

# KEEP_TMP=1 keeps the temporary directory (tests/lib/suite.sh)
. "$(dirname "$0")/../lib/suite.sh"
suite_init security ksiss-sec-test
# status HOST PORT METHOD PATH: the HTTP status code, or "none"
status() {
    timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
        printf "%s %s HTTP/1.0\r\nHost: ksiss\r\n\r\n" "$3" "$4" >&3
        IFS=" " read -r _ code _ <&3 && echo "$code"' _ "$@" 2>/dev/null || echo none
}
# serve NAME ARGS...: starts a stand-in server; its port is in $TMP/NAME.port,
# what it received in $TMP/NAME.log
serve() {
    local name=$1
    shift
    : >"$TMP/$name.log"
    "$SEC" serve --port-file "$TMP/$name.port" --log "$TMP/$name.log" "$@" >"$TMP/$name.out" 2>&1 &
    PIDS+=($!)
    wait_file "$TMP/$name.port" 10 || die "setup" "stand-in server $name did not start: $(cat "$TMP/$name.out")"
}
port() { cat "$TMP/$1.port"; }
requests() { grep -c . "$TMP/$1.log"; }

for f in "$KSISS" "$FAKE" "$TOOL" "$SEC" "$LOGFMT"; do
    [ -x "$f" ] || die "setup" "$f is not built (make build)"
done
command -v openssl >/dev/null || die "setup" "openssl is needed to make the test certificates"
[ -x "$PROMETHEUS" ] || die "setup" "no Prometheus at $PROMETHEUS (apt-get install prometheus, or set PROMETHEUS=)"

# ---- certificates: a CA and a server certificate it signed for 127.0.0.1,
# a certificate of the same CA for another name, and a self-signed one ----
(
    cd "$TMP" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj "/CN=ksiss-test-ca" &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.crt -days 2 -subj "/CN=other-ca" &&
        for n in srv wrongname; do
            openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n" || exit 1
        done &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
        printf 'subjectAltName=DNS:other.example\n' >wrongname.ext &&
        openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile srv.ext &&
        openssl x509 -req -in wrongname.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out wrongname.crt -days 2 \
            -extfile wrongname.ext &&
        openssl req -x509 -newkey rsa:2048 -nodes -keyout rogue.key -out rogue.crt -days 2 -subj "/CN=127.0.0.1" \
            -addext "subjectAltName=IP:127.0.0.1"
) >"$TMP/openssl.log" 2>&1 || die "setup" "openssl: $(tail -3 "$TMP/openssl.log")"

# ---- secrets: each distinctive, so any leak is found by grep ----
salt=$$$RANDOM
KUBE_TOKEN="kubeTOKEN-$salt-inline"
KUBE_FILE_TOKEN="kubeTOKEN-$salt-fromfile"
PROM_TOKEN="promTOKEN-$salt-env"
PROM_FILE_TOKEN="promTOKEN-$salt-fromfile"
PROM_USER="promUSER$salt"
PROM_PASS="promPASS-$salt"
URL_PASS="urlPASS-$salt"
printf '%s\n' "$KUBE_FILE_TOKEN" >"$TMP/kube.token"
printf '%s\n' "$PROM_FILE_TOKEN" >"$TMP/prom.token"
SECRETS=("$KUBE_TOKEN" "$KUBE_FILE_TOKEN" "$PROM_TOKEN" "$PROM_FILE_TOKEN" "$PROM_PASS" "$URL_PASS"
    "$(printf '%s:%s' "$PROM_USER" "$PROM_PASS" | base64 -w0)"
    "$(printf '%s' "$KUBE_TOKEN" | base64 -w0)" "$(printf '%s' "$PROM_TOKEN" | base64 -w0)")
mkdir -p "$TMP/captured"
ncap=0
capture() { ncap=$((ncap + 1)); cp "$1" "$TMP/captured/$ncap-$(basename "$1")"; }

# kubeconfig NAME SERVER USER-YAML [CLUSTER-EXTRA-YAML]
kubeconfig() {
    cat >"$TMP/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
current-context: t
clusters:
- name: c
  cluster:
    server: "$2"
${4:+    $4}
users:
- name: u
  user:
    $3
contexts:
- name: t
  context: {cluster: c, user: u, namespace: ml}
EOF
}

CFG=$TMP/autoscaler-config.yaml
cat >"$CFG" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: autoscaler-config
data:
  svc: |
    - name: load
      query: sum(x{service="{service}"})
      slo: 1
EOF
VECTOR='{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"0.25"]}]}}'
STATUS_JSON() { printf '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"%s","reason":"%s","code":%s}' "$2" "$2" "$1"; }

# ================= 1. TLS verification on by default =================
serve tls-ca --cert "$TMP/srv.crt" --key "$TMP/srv.key" --status 200 --body "$VECTOR"
serve tls-rogue --cert "$TMP/rogue.crt" --key "$TMP/rogue.key" --status 200 --body "$VECTOR"
serve tls-wrongname --cert "$TMP/wrongname.crt" --key "$TMP/wrongname.key" --status 200 --body "$VECTOR"
CA_URL=https://127.0.0.1:$(port tls-ca)
ROGUE_URL=https://127.0.0.1:$(port tls-rogue)
QUERY=(timeout 30 "$KSISS" query --config "$CFG" --service svc --pods p-1)

# pq NAME ARGS...: ksiss query with the bearer token in the environment
pq() {
    local name=$1
    shift
    PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN "${QUERY[@]}" "$@" >"$TMP/$name.txt" 2>&1
    echo $? >"$TMP/$name.rc"
    capture "$TMP/$name.txt"
}
refused_tls() {     # refused_tls NAME SERVER: exit 1, a TLS reason, nothing reached the server
    local rc
    rc=$(cat "$TMP/$1.rc")
    if [ "$rc" = 1 ] && grep -qiE 'ssl|certificate|tls' "$TMP/$1.txt" && [ "$(requests "$2")" = 0 ]; then
        ok "$3 ($(grep -oiE '(ssl|tls)[^)]*' "$TMP/$1.txt" | head -1))"
    else ko "$3" "rc $rc, $(requests "$2") requests reached the server: $(head -c 400 "$TMP/$1.txt")"; fi
}

pq p-noca --prometheus "$CA_URL"
refused_tls p-noca tls-ca "Prometheus client refuses a certificate from a CA it was not given (default: verify)"
pq p-ca --prometheus "$CA_URL" --ca-file "$TMP/ca.crt"
if [ "$(cat "$TMP/p-ca.rc")" = 0 ] && contains "$TMP/p-ca.txt" "0.25" && grep -q 'auth=Bearer' "$TMP/tls-ca.log"; then
    ok "Prometheus client accepts it with --ca-file (value read, bearer token sent)"
else ko "Prometheus client accepts it with --ca-file" "$(head -c 400 "$TMP/p-ca.txt")"; fi
: >"$TMP/tls-ca.log"
PROMETHEUS_CA_FILE=$TMP/ca.crt pq p-caenv --prometheus "$CA_URL"
if [ "$(cat "$TMP/p-caenv.rc")" = 0 ] && [ "$(requests tls-ca)" = 1 ]; then ok "... and with PROMETHEUS_CA_FILE"
else ko "Prometheus client accepts it with PROMETHEUS_CA_FILE" "$(head -c 400 "$TMP/p-caenv.txt")"; fi
pq p-rogue --prometheus "$ROGUE_URL" --ca-file "$TMP/ca.crt"
refused_tls p-rogue tls-rogue "Prometheus client with a CA refuses a self-signed certificate"
pq p-othername --prometheus "https://127.0.0.1:$(port tls-wrongname)" --ca-file "$TMP/ca.crt"
refused_tls p-othername tls-wrongname "Prometheus client refuses a trusted CA's certificate for another host name"
pq p-otherca --prometheus "$CA_URL" --ca-file "$TMP/other-ca.crt"
: >"$TMP/tls-ca.log"
pq p-otherca --prometheus "$CA_URL" --ca-file "$TMP/other-ca.crt"
refused_tls p-otherca tls-ca "Prometheus client refuses a certificate of a CA other than the configured one"
if "$KSISS" query --help 2>&1 | grep -qi insecure || grep -qi 'SSL_VERIFYPEER, 0' src/shell/prom*.c; then
    ko "the Prometheus client has no way to skip verification" "an insecure option exists"
else ok "the Prometheus client has no option that skips verification"; fi

# Kubernetes: `ksiss explain` reads the ConfigMap first.
kube_try() {    # kube_try NAME KUBECONFIG-NAME: runs ksiss explain
    timeout 60 "$KSISS" explain --service svc --kubeconfig "$TMP/$2.kubeconfig" --prometheus "$CA_URL" \
        >"$TMP/$1.txt" 2>&1
    echo $? >"$TMP/$1.rc"
    capture "$TMP/$1.txt"
}
kube_refused() {   # kube_refused NAME SERVER MESSAGE
    if grep -qiE 'ssl|certificate' "$TMP/$1.txt" && [ "$(requests "$2")" = 0 ] && [ "$(cat "$TMP/$1.rc")" != 0 ]; then
        ok "$3 ($(grep -oiE '(ssl|certificate)[^(]*' "$TMP/$1.txt" | head -1))"
    else ko "$3" "rc $(cat "$TMP/$1.rc"), $(requests "$2") requests reached the server: $(head -c 400 "$TMP/$1.txt")"; fi
}
kube_reached() {   # kube_reached NAME SERVER MESSAGE
    if grep -q 'auth=Bearer' "$TMP/$2.log" && ! grep -qiE 'ssl|certificate problem' "$TMP/$1.txt"; then ok "$3"
    else ko "$3" "$(requests "$2") requests: $(head -c 400 "$TMP/$1.txt")"; fi
}
: >"$TMP/tls-ca.log"
kubeconfig k-noca "$CA_URL" "token: \"$KUBE_TOKEN\""
kube_try k-noca k-noca
kube_refused k-noca tls-ca "Kubernetes client refuses a certificate from a CA it was not given (default: verify)"
kubeconfig k-ca "$CA_URL" "token: \"$KUBE_TOKEN\"" "certificate-authority: \"$TMP/ca.crt\""
kube_try k-ca k-ca
kube_reached k-ca tls-ca "Kubernetes client accepts it with certificate-authority (request sent with the token)"
: >"$TMP/tls-ca.log"
kubeconfig k-cadata "$CA_URL" "tokenFile: \"$TMP/kube.token\"" "certificate-authority-data: \"$(base64 -w0 "$TMP/ca.crt")\""
kube_try k-cadata k-cadata
kube_reached k-cadata tls-ca "... and with certificate-authority-data (token from tokenFile)"
kubeconfig k-rogue "$ROGUE_URL" "token: \"$KUBE_TOKEN\"" "certificate-authority: \"$TMP/ca.crt\""
kube_try k-rogue k-rogue
kube_refused k-rogue tls-rogue "Kubernetes client with a CA refuses a self-signed certificate"
kubeconfig k-wrongname "https://127.0.0.1:$(port tls-wrongname)" "token: \"$KUBE_TOKEN\"" "certificate-authority: \"$TMP/ca.crt\""
kube_try k-wrongname k-wrongname
kube_refused k-wrongname tls-wrongname "Kubernetes client refuses a trusted CA's certificate for another host name"
kubeconfig k-insecure "$ROGUE_URL" "token: \"$KUBE_TOKEN\"" "insecure-skip-tls-verify: true"
kube_try k-insecure k-insecure
kube_reached k-insecure tls-rogue "insecure-skip-tls-verify: true skips verification (only when set)"
if grep -q 'level=warn.*TLS VERIFICATION OF THE KUBERNETES API SERVER IS OFF' "$TMP/k-insecure.txt"; then
    ok "... and is logged as a warning"
else ko "insecure-skip-tls-verify is logged as a warning" "$(head -c 400 "$TMP/k-insecure.txt")"; fi
if grep -q 'TLS VERIFICATION' "$TMP/k-ca.txt"; then ko "no insecure warning when verifying" "$(cat "$TMP/k-ca.txt")"
else ok "no insecure warning when verifying"; fi

# ksiss run: untrusted API server; the exporter still serves, nothing is sent.
: >"$TMP/tls-rogue.log"
RPORT=$("$TOOL" free-port)
kubeconfig r-rogue "$ROGUE_URL" "token: \"$KUBE_TOKEN\""
PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN timeout 60 "$KSISS" run --kubeconfig "$TMP/r-rogue.kubeconfig" --prometheus "$CA_URL" \
    --listen "127.0.0.1:$RPORT" --interval 200ms >"$TMP/r-rogue.txt" 2>&1 &
RUN=$!
PIDS+=($RUN)
# until it has said why twice (bounded: 30 s; slower under valgrind)
for i in $(seq 1 300); do [ "$(grep -ci 'ssl certificate problem' "$TMP/r-rogue.txt")" -ge 2 ] && break; sleep 0.1; done
"$TOOL" get "http://127.0.0.1:$RPORT/metrics" >"$TMP/r-rogue.metrics" 2>&1
stop_pid $RUN
capture "$TMP/r-rogue.txt"
capture "$TMP/r-rogue.metrics"
if grep -qi 'ssl certificate problem' "$TMP/r-rogue.txt" && [ "$(requests tls-rogue)" = 0 ]; then
    ok "ksiss run refuses the untrusted API server and says why"
else ko "ksiss run refuses the untrusted API server" "$(requests tls-rogue) requests: $(head -c 400 "$TMP/r-rogue.txt")"; fi

# ================= 2. credentials never logged or exported =================
for code in 401 403 500; do
    case $code in 401) reason=Unauthorized ;; 403) reason=Forbidden ;; 500) reason=InternalError ;; esac
    serve "kube$code" --status $code --body "$(STATUS_JSON $code $reason)"
    serve "prom$code" --status $code --body "{\"status\":\"error\",\"errorType\":\"$reason\",\"error\":\"$reason\"}"
    PROM=http://127.0.0.1:$(port "prom$code")
    KUBE=http://127.0.0.1:$(port "kube$code")
    pq "c$code-bearer" --prometheus "$PROM"
    PROMETHEUS_BEARER_TOKEN_FILE=$TMP/prom.token "${QUERY[@]}" --prometheus "$PROM" >"$TMP/c$code-file.txt" 2>&1
    capture "$TMP/c$code-file.txt"
    "${QUERY[@]}" --prometheus "$PROM" --bearer-token-file "$TMP/prom.token" >"$TMP/c$code-flag.txt" 2>&1
    capture "$TMP/c$code-flag.txt"
    PROMETHEUS_USERNAME=$PROM_USER PROMETHEUS_PASSWORD=$PROM_PASS "${QUERY[@]}" --prometheus "$PROM" --json \
        >"$TMP/c$code-basic.txt" 2>&1
    capture "$TMP/c$code-basic.txt"
    "${QUERY[@]}" --prometheus "http://$PROM_USER:$URL_PASS@127.0.0.1:$(port "prom$code")" >"$TMP/c$code-url.txt" 2>&1
    capture "$TMP/c$code-url.txt"
    if grep -q "HTTP $code" "$TMP/c$code-bearer.txt" && grep -q 'auth=Bearer' "$TMP/prom$code.log" &&
        grep -q 'auth=Basic' "$TMP/prom$code.log"; then
        ok "Prometheus answering $code: the error names the status (credentials were sent, bearer and basic)"
    else ko "Prometheus answering $code" "$(head -c 300 "$TMP/c$code-bearer.txt") / $(sort -u "$TMP/prom$code.log" | tr '\n' ' ')"; fi
    if contains "$TMP/c$code-url.txt" "***@127.0.0.1"; then ok "Prometheus URL with user:password@ is shown as ***@ ($code)"
    else ko "Prometheus URL with user:password@ is shown as ***@ ($code)" "$(head -c 300 "$TMP/c$code-url.txt")"; fi
    kubeconfig "kube$code-inline" "$KUBE" "token: \"$KUBE_TOKEN\""
    kubeconfig "kube$code-file" "$KUBE" "tokenFile: \"$TMP/kube.token\""
    PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN kube_try "e$code-inline" "kube$code-inline"
    PROMETHEUS_USERNAME=$PROM_USER PROMETHEUS_PASSWORD=$PROM_PASS kube_try "e$code-file" "kube$code-file"
    if grep -q "$code" "$TMP/e$code-inline.txt" && grep -q 'auth=Bearer' "$TMP/kube$code.log"; then
        ok "API server answering $code: ksiss explain names the status (token sent)"
    else ko "API server answering $code: ksiss explain" "$(head -c 300 "$TMP/e$code-inline.txt")"; fi
done

# unreachable: nothing listens on these ports
DEAD=$("$TOOL" free-port)
pq c-dead --prometheus "http://127.0.0.1:$DEAD"
PROMETHEUS_USERNAME=$PROM_USER PROMETHEUS_PASSWORD=$PROM_PASS "${QUERY[@]}" --prometheus "https://$PROM_USER:$URL_PASS@127.0.0.1:$DEAD" \
    >"$TMP/c-dead-url.txt" 2>&1
capture "$TMP/c-dead-url.txt"
kubeconfig kdead "https://127.0.0.1:$DEAD" "token: \"$KUBE_TOKEN\""
PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN kube_try e-dead kdead
if grep -q "cannot reach" "$TMP/c-dead.txt" && [ -s "$TMP/e-dead.txt" ]; then ok "unreachable servers: clear errors"
else ko "unreachable servers: clear errors" "$(head -c 300 "$TMP/c-dead.txt")"; fi
# TLS failure with credentials
pq c-tls --prometheus "$ROGUE_URL"

# ksiss run with every kind of credential, API server answering 401, and
# ksiss query --serve with Prometheus answering 401: stderr and /metrics.
RUNPORT=$("$TOOL" free-port)
SERVEPORT=$("$TOOL" free-port)
PROMETHEUS_BEARER_TOKEN_FILE=$TMP/prom.token timeout 60 "$KSISS" run --kubeconfig "$TMP/kube401-file.kubeconfig" \
    --prometheus "http://127.0.0.1:$(port prom401)" --listen "127.0.0.1:$RUNPORT" --interval 200ms --no-leader-election \
    >"$TMP/run401.txt" 2>&1 &
RUN=$!
PIDS+=($RUN)
PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN timeout 60 "$KSISS" query --config "$CFG" --service svc --pods p-1 \
    --prometheus "http://127.0.0.1:$(port prom401)" --serve "127.0.0.1:$SERVEPORT" --interval 200ms \
    >"$TMP/serve401.txt" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
# until both exporters show the failures (bounded: 30 s; slower under valgrind)
for i in $(seq 1 300); do
    "$TOOL" get "http://127.0.0.1:$RUNPORT/metrics" >"$TMP/run401.metrics" 2>&1
    "$TOOL" get "http://127.0.0.1:$SERVEPORT/metrics" >"$TMP/serve401.metrics" 2>&1
    grep -q '^ksiss_kubernetes_requests_total{.*code="401"' "$TMP/run401.metrics" &&
        grep -q 'ksiss_prometheus_query_errors_total{reason="[a-z]*"} [1-9]' "$TMP/serve401.metrics" && break
    sleep 0.1
done
for p in healthz readyz; do
    "$TOOL" get "http://127.0.0.1:$RUNPORT/$p" >>"$TMP/run401.metrics" 2>&1
    "$TOOL" get "http://127.0.0.1:$SERVEPORT/$p" >>"$TMP/serve401.metrics" 2>&1
done
stop_pid $RUN
stop_pid $SERVE
for f in run401.txt run401.metrics serve401.txt serve401.metrics; do capture "$TMP/$f"; done
if grep -q '^ksiss_kubernetes_requests_total{.*code="401"' "$TMP/run401.metrics" &&
    grep -q 'ksiss_prometheus_query_errors_total{reason="[a-z]*"} [1-9]' "$TMP/serve401.metrics"; then
    ok "the exporters count the 401s (what is grepped below is real output)"
else ko "the exporters count the 401s" "$(grep -E 'code="401"|errors_total' "$TMP/run401.metrics" "$TMP/serve401.metrics" | head -3)"; fi

leaks=0
for s in "${SECRETS[@]}"; do
    if grep -rlF -- "$s" "$TMP/captured" >"$TMP/leak.txt"; then
        leaks=$((leaks + 1))
        ko "a secret leaked" "'$s' in $(tr '\n' ' ' <"$TMP/leak.txt")"
    fi
done
[ $leaks = 0 ] && ok "no token, password or basic-auth header in any of $ncap outputs (stderr, stdout, /metrics) of ksiss run, query, explain"
if grep -rqF -- "$PROM_USER" "$TMP/captured"; then ko "the basic-auth user name is not shown either" "$(grep -rlF -- "$PROM_USER" "$TMP/captured" | head -3)"
else ok "the basic-auth user name is not shown either"; fi

# ================= 3. hostile names through a real Prometheus =================
HOSTILE=('a"} or vector(1) #' 'b\' 'c\"} or up{x="' $'line1\nline2' '.*' 'a.c' 'abc' 'x|abc' '{pod}' '%s'
    "it's" $'\xc3\xbcn\xc3\xaf' 'p) or vector(42' 'tab	pod' '(z)+')
# A namespace Kubernetes would refuse is refused before any query (exit 2,
# named); the pods' names are what reaches PromQL from outside.
NS_HOSTILE='ml"} or vector(7) #'
NS=ml
yq() {   # a YAML double-quoted string
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    s=${s//$'\n'/\\n}
    s=${s//$'\t'/\\t}
    printf '"%s"' "$s"
}
PPORT=$("$TOOL" free-port)
{
    printf 'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}\n'
    printf 'scrape_configs:\n  - job_name: hostile\n    static_configs:\n'
} >"$TMP/prometheus.yml"
for i in "${!HOSTILE[@]}"; do
    printf 'waiting %d\n' $((101 + i)) >"$TMP/h$i.state"
    start_fake "h$i" "$TMP/h$i.state"
done
for i in "${!HOSTILE[@]}"; do
    wait_file "$TMP/h$i.port" 10 || die "setup" "stand-in inference server $i did not start"
    printf '      - targets: ["127.0.0.1:%s"]\n        labels: {pod: %s, namespace: %s}\n' \
        "$(cat "$TMP/h$i.port")" "$(yq "${HOSTILE[$i]}")" "$(yq "$NS")" >>"$TMP/prometheus.yml"
done
start_prometheus "$TMP/prometheus.yml" "$PPORT" ||
    { cat "$TMP/prometheus.log"; die "setup" "Prometheus did not become ready within 30 s"; }

cat >"$TMP/hostile.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: autoscaler-config
data:
  svc: |
    - name: batched
      query: vllm:num_requests_waiting{namespace="{namespace}", pod="%s"}
      slo: 1000
    - name: per_pod
      query: label_replace(vllm:num_requests_waiting{namespace="{namespace}", pod="{pod}"}, "copy", "$1", "pod", "(.*)")
      slo: 1000
    - name: regex
      query: max(vllm:num_requests_waiting{namespace=~'{namespace}', pod=~"{pod}"})
      slo: 1000
EOF
ALL=$(IFS=,; echo "${HOSTILE[*]}")
timeout 60 "$KSISS" query --config "$TMP/hostile.yaml" --service svc --namespace "$NS_HOSTILE" --prometheus "$PROM" \
    --json --pods abc >"$TMP/hns.json" 2>"$TMP/hns.err"
rc=$?
if [ $rc = 2 ] && grep -qF -- "--namespace \"$NS_HOSTILE\" is not a valid namespace name" "$TMP/hns.err" && [ ! -s "$TMP/hns.json" ]; then
    ok "a hostile --namespace is refused before any query (exit 2, named)"
else ko "a hostile --namespace is refused before any query" "rc $rc: $(head -c 300 "$TMP/hns.err") $(head -c 200 "$TMP/hns.json")"; fi
HQ=(timeout 60 "$KSISS" query --config "$TMP/hostile.yaml" --service svc --namespace "$NS" --prometheus "$PROM" --json)
n=${#HOSTILE[@]}
# wait until every target has been scraped: every pod has a value (bounded: 60 s)
for i in $(seq 1 60); do
    if "${HQ[@]}" --pods "$ALL" >"$TMP/hall.json" 2>"$TMP/hall.err"; then
        seen=0
        for j in "${!HOSTILE[@]}"; do
            v=$("$SEC" pod-value "$TMP/hall.json" 0 "${HOSTILE[$j]}")
            [ -n "$v" ] && [ "$v" != null ] && seen=$((seen + 1))
        done
        [ $seen = $n ] && break
    fi
    sleep 1
done
good=0
bad=""
for i in "${!HOSTILE[@]}"; do
    want=$((101 + i))
    for m in 0 1 2; do
        got=$("$SEC" pod-value "$TMP/hall.json" $m "${HOSTILE[$i]}")
        if [ "$got" = "$want" ]; then good=$((good + 1)); else bad="$bad [pod $(printf %q "${HOSTILE[$i]}") metric $m: $got, want $want]"; fi
    done
done
if [ $good = $((3 * n)) ]; then ok "$n hostile pod names read together: each its own value, batched, per pod and after =~ ($good readings)"
else ko "hostile pod names read together" "$good of $((3 * n)) right:$bad $(head -c 300 "$TMP/hall.err")"; fi
if [ "$("$TOOL" json "$TMP/hall.json" metrics.0.batched)" = true ] && [ "$("$TOOL" json "$TMP/hall.json" metrics.0.requests)" = 1 ] &&
    [ "$("$TOOL" json "$TMP/hall.json" metrics.1.batched)" = false ]; then
    ok "the batched metric was read in one query for all $n pods, label_replace per pod"
else ko "the batched metric was read in one query" "$(head -c 300 "$TMP/hall.json")"; fi
good=0
bad=""
for i in "${!HOSTILE[@]}"; do
    want=$((101 + i))
    "${HQ[@]}" --pods "${HOSTILE[$i]}" >"$TMP/h1.json" 2>"$TMP/h1.err"
    for m in 0 1 2; do
        got=$("$TOOL" json "$TMP/h1.json" "metrics.$m.value")
        if [ "$got" = "$want" ] || [ "$got" = "$want.0" ]; then good=$((good + 1)); else bad="$bad [pod $(printf %q "${HOSTILE[$i]}") metric $m: $got, want $want]"; fi
    done
done
if [ $good = $((3 * n)) ]; then ok "each hostile pod name read alone gets exactly its own value, never another's ($good readings)"
else ko "each hostile pod name read alone" "$good of $((3 * n)) right:$bad"; fi
"${HQ[@]}" --pods 'no"} or vector(1) #,.*x' >"$TMP/hnone.json" 2>"$TMP/hnone.err"
rc=$?
if [ $rc = 1 ] && [ "$("$TOOL" json "$TMP/hnone.json" metrics.0.value)" = null ] &&
    [ "$("$TOOL" json "$TMP/hnone.json" metrics.2.value)" = null ]; then
    ok "names that match no series read as missing (not vector(1), not another pod's value)"
else ko "names that match no series read as missing" "rc $rc: $(head -c 300 "$TMP/hnone.json")"; fi

# ================= 4. the exporter binds where configured =================
bind_check() {  # bind_check WHAT HOST PORT OTHER-HOST
    local want=$2:$3 got
    got=$("$SEC" listeners "$3" | tr '\n' ' ')
    if [ "$got" = "$want " ]; then ok "$1 listens only on $want"
    else ko "$1 listens only on $want" "listening sockets on port $3: $got"; fi
    if [ "$(status "$4" "$3" GET /metrics)" = none ]; then ok "$1: nothing answers on $4:$3"
    else ko "$1: nothing answers on $4:$3" "it answered"; fi
}
paths_check() { # paths_check WHAT HOST PORT
    local p code bad=""
    for p in /metrics /healthz; do
        code=$(status "$2" "$3" GET $p)
        [ "$code" = 200 ] || bad="$bad GET $p=$code"
    done
    code=$(status "$2" "$3" GET /readyz)
    case $code in 200 | 503) ;; *) bad="$bad GET /readyz=$code" ;; esac
    for p in / /metrics/ /metrics?x=1/../ /debug/pprof/ /api/v1/query /config /env /proc/self/environ \
        /../../etc/passwd /%2e%2e/etc/passwd /healthz/../metrics2 /METRICS; do
        code=$(status "$2" "$3" GET "$p")
        case $p in /metrics\?*) [ "$code" = 200 ] || bad="$bad GET $p=$code" ;; *) [ "$code" = 404 ] || bad="$bad GET $p=$code" ;; esac
    done
    for m in POST PUT DELETE; do
        code=$(status "$2" "$3" $m /metrics)
        [ "$code" = 405 ] || bad="$bad $m /metrics=$code"
    done
    if [ -z "$bad" ]; then ok "$1 serves /metrics, /healthz, /readyz and nothing else (404 for 12 other paths, 405 for POST/PUT/DELETE)"
    else ko "$1 serves only /metrics, /healthz, /readyz" "$bad"; fi
}
P1=$("$TOOL" free-port)
PROMETHEUS_BEARER_TOKEN=$PROM_TOKEN timeout 60 "$KSISS" query --config "$CFG" --service svc --pods p-1 \
    --prometheus "http://127.0.0.1:$(port prom401)" --serve "127.0.0.2:$P1" --interval 1h >"$TMP/b1.txt" 2>&1 &
B1=$!
PIDS+=($B1)
for i in $(seq 1 50); do [ "$(status 127.0.0.2 "$P1" GET /healthz)" = 200 ] && break; sleep 0.1; done
bind_check "ksiss query --serve 127.0.0.2:$P1" 127.0.0.2 "$P1" 127.0.0.1
paths_check "ksiss query --serve" 127.0.0.2 "$P1"
stop_pid $B1
P2=$("$TOOL" free-port)
timeout 60 "$KSISS" run --kubeconfig "$TMP/kube401-inline.kubeconfig" --prometheus "http://127.0.0.1:$(port prom401)" \
    --listen "127.0.0.3:$P2" --interval 1s --no-leader-election >"$TMP/b2.txt" 2>&1 &
B2=$!
PIDS+=($B2)
for i in $(seq 1 50); do [ "$(status 127.0.0.3 "$P2" GET /healthz)" = 200 ] && break; sleep 0.1; done
bind_check "ksiss run --listen 127.0.0.3:$P2" 127.0.0.3 "$P2" 127.0.0.1
paths_check "ksiss run" 127.0.0.3 "$P2"
"$TOOL" get "http://127.0.0.3:$P2/metrics" >"$TMP/b2.metrics" 2>&1
stop_pid $B2
if [ -r /proc/net/if_inet6 ] && grep -q '00000000000000000000000000000001 ' /proc/net/if_inet6; then
    P3=$("$TOOL" free-port)
    timeout 60 "$KSISS" query --config "$CFG" --service svc --pods p-1 --prometheus "http://127.0.0.1:$(port prom401)" \
        --serve "[::1]:$P3" --interval 1h >"$TMP/b3.txt" 2>&1 &
    B3=$!
    PIDS+=($B3)
    for i in $(seq 1 50); do [ "$(status ::1 "$P3" GET /healthz)" = 200 ] && break; sleep 0.1; done
    bind_check "ksiss query --serve [::1]:$P3" "[::1]" "$P3" 127.0.0.1
    stop_pid $B3
else
    skip_check "IPv6 loopback binding" "no ::1 here"
fi
for f in b1.txt b2.txt b2.metrics; do capture "$TMP/$f"; done
leaks=0
for s in "${SECRETS[@]}"; do grep -rqF -- "$s" "$TMP/captured" && leaks=$((leaks + 1)); done
if [ $leaks = 0 ]; then ok "no secret in the binding runs' output either"; else ko "no secret in the binding runs' output" "$leaks leaked"; fi
# the runs' output is their log: an untrusted server, 401s, TLS errors
check_log "every line ksiss run logged is a valid log line" "$TMP/r-rogue.txt" "$TMP/run401.txt" "$TMP/b2.txt"

finish
