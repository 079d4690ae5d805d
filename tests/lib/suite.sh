# tests/lib/suite.sh: what the shell test suites share (sourced, never run):
# PASS/FAIL counters and the summary line, logging with the suite's name,
# bounded waits, tracking and stopping of the processes a suite starts, and
# the launchers of a real Prometheus and of the stand-in inference server
# (tests/integration/fake_inference.c), plus the Knative Service look-ups of
# the end-to-end suites (those need kc from tests/cluster/common.sh).
#
# Every shell suite counts its checks here and nowhere else.
#
# A suite calls `suite_init NAME TMPTAG` first: it sets pass=0, fail=0,
# nskip=0, PIDS=(), T0, the temporary directory TMP
# (${TMPDIR:-/tmp}/TMPTAG.XXXXXX) and the traps: on exit every process in
# PIDS is stopped, then the suite's own suite_on_exit runs if it defines
# one, then TMP is removed (kept, and its path printed, when KEEP or
# KEEP_TMP is set); INT/TERM exit 130.
# Output format: "PASS name", "FAIL name: why", "SKIP name: why", and last,
# alone on its line, "N passed, M failed" (", K skipped" added when a check
# was skipped: CI reads that line).
#
# A check that cannot be made here (no root, no IPv6, no CRD) is skipped
# with skip_check, never passed: finish names the skips in the summary and
# appends one line "TARGET: K checks skipped: names" to $KSISS_SKIPPED (set by
# the Makefile; TARGET is $KSISS_SUITE_TARGET, the make target, else the
# suite's NAME), which the last line of `make test` / `make e2e` reports
# (tests/lib/summary.sh).

# suite_init NAME TMPTAG
suite_init() {
    SUITE=$1
    pass=0
    fail=0
    nskip=0
    SKIPS=()
    PIDS=()
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/$2.XXXXXX") || exit 1
    T0=$(date +%s)
    SUITE_SHELL=$BASHPID
    trap suite_cleanup EXIT
    trap 'exit 130' INT TERM
}
# Only in the suite's own shell: bash 5.2 also runs the EXIT trap in a
# forked child (a $(...), or a command before its exec) when a child just
# killed is reaped as it forks, as right after stop_pid; that removed TMP
# and stopped every process in the middle of a suite.
suite_cleanup() {
    [ "$BASHPID" = "$SUITE_SHELL" ] || return 0
    local p
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    declare -F suite_on_exit >/dev/null && suite_on_exit
    if [ -n "${KEEP:-}${KEEP_TMP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}

log() { echo "[$SUITE +$(($(date +%s) - T0))s] $*"; }
ok() { echo "PASS $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1${2:+: $2}"; fail=$((fail + 1)); }
skip_check() {  # skip_check NAME WHY: a check not made here; counted as skipped, never as passed
    echo "SKIP $1${2:+: $2}"
    nskip=$((nskip + 1))
    SKIPS+=("$1")
}
check() {       # check NAME COMMAND...: PASS when the command succeeds
    local name=$1
    shift
    if "$@"; then ok "$name"; else ko "$name"; fi
}
# suite_record_skip TEXT: appends "TARGET: TEXT" to $KSISS_SKIPPED (when
# make set it), for the last line of make test / make e2e
suite_record_skip() {
    [ -n "${KSISS_SKIPPED:-}" ] || return 0
    mkdir -p "$(dirname "$KSISS_SKIPPED")" && echo "${KSISS_SUITE_TARGET:-${SUITE:-$(basename "$0")}}: $*" >>"$KSISS_SKIPPED"
}
finish() {      # the summary line; exits 1 when a check failed
    if [ "$nskip" -gt 0 ]; then
        local names
        names=$(printf '%s, ' "${SKIPS[@]}")
        suite_record_skip "$nskip check$([ "$nskip" -gt 1 ] && echo s) skipped: ${names%, }"
        echo "$pass passed, $fail failed, $nskip skipped"
    else
        echo "$pass passed, $fail failed"
    fi
    [ "$fail" -eq 0 ]
    exit $?
}
die() {         # die NAME WHY: one more failure, then finish
    ko "$1" "$2"
    finish
}

stop_pid() {    # SIGTERM, up to 10 s, then SIGKILL
    stop_status "$1" 10
    return 0
}
# stop_status PID [SECONDS]: SIGTERM, up to SECONDS (default 10), then
# SIGKILL; returns the process's exit status (137 when it had to be killed;
# 127 when it was not a child of this shell or was already reaped)
stop_status() {
    local p=$1 i
    kill "$p" 2>/dev/null
    for ((i = 0; i < ${2:-10} * 10; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$p" 2>/dev/null
    wait "$p" 2>/dev/null
}

# until_true SECONDS CMD...: polls CMD (output discarded) every 0.5 s until
# it succeeds or SECONDS have passed; returns 0 when it succeeded
until_true() {
    local max=$1 end
    shift
    end=$(($(date +%s) + max))
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.5
    done
}
wait_file() {   # wait_file FILE SECONDS: until FILE is not empty
    local i
    for i in $(seq 1 $(($2 * 10))); do
        [ -s "$1" ] && return 0
        sleep 0.1
    done
    return 1
}
contains() { grep -qF -- "$2" "$1"; }   # contains FILE TEXT

# check_log NAME FILE...: PASS when every line of the autoscaler's logs
# FILE... is a valid log line (src/shell/log.h), checked by $LOGFMT (the
# suite sets it: $BUILD/tests/logfmt_check); else FAIL showing the invalid
# lines. Run it once the autoscalers have stopped.
check_log() {
    local name=$1 out
    shift
    if out=$("$LOGFMT" "$@" 2>&1); then ok "$name ($(tail -1 <<<"$out"))"
    else ko "$name" "$(head -60 <<<"$out")"; fi
}

# start_fake NAME STATE: the stand-in inference server ($FAKE) serving the
# values of the state file STATE; its port goes to $TMP/NAME.port (wait for
# it with wait_file), its output to $TMP/NAME.log
start_fake() {
    "$FAKE" --state "$2" --port-file "$TMP/$1.port" >"$TMP/$1.log" 2>&1 &
    PIDS+=($!)
}

# start_prometheus CONFIG PORT: a real Prometheus ($PROMETHEUS) on
# 127.0.0.1:PORT with CONFIG, data in $TMP/prom-data, log appended to
# $TMP/prometheus.log; sets PROM_PID and PROM (its URL). Returns 0 once
# /-/ready answers (asked with $TOOL), 1 if it exits or is not ready
# within 30 s. Called again with the same arguments it restarts on the
# same port with the same data.
start_prometheus() {
    local end=$(($(date +%s) + 30))
    "$PROMETHEUS" --config.file="$1" --storage.tsdb.path="$TMP/prom-data" \
        --web.listen-address="127.0.0.1:$2" --log.level=warn >>"$TMP/prometheus.log" 2>&1 &
    PROM_PID=$!
    PIDS+=($PROM_PID)
    PROM=http://127.0.0.1:$2
    while :; do
        "$TOOL" get "$PROM/-/ready" >/dev/null 2>&1 && return 0
        kill -0 "$PROM_PID" 2>/dev/null || return 1
        [ "$(date +%s)" -lt $end ] || return 1
        sleep 0.1
    done
}

# file_sd_config TARGETS_FILE: a Prometheus configuration (on stdout) with
# one job, inference, scraping every second the targets listed in
# TARGETS_FILE (file_sd, re-read every second)
file_sd_config() {
    cat <<EOF
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: inference
    file_sd_configs: [{files: ["$1"], refresh_interval: 1s}]
EOF
}
# pod_targets PORT POD...: file_sd JSON (on stdout): one target per POD,
# 127.0.0.1:PORT (POD@P: port P for that pod), labelled pod=POD, and
# namespace=$POD_TARGETS_NS when that is set (the stand-in plays every pod).
pod_targets() {
    local port=$1 out="[" sep="" p pport ns=""
    shift
    [ -n "${POD_TARGETS_NS:-}" ] && ns=",\"namespace\":\"$POD_TARGETS_NS\""
    for p in "$@"; do
        pport=$port
        case $p in *@*) pport=${p##*@}; p=${p%@*} ;; esac
        out="$out$sep{\"targets\":[\"127.0.0.1:$pport\"],\"labels\":{\"pod\":\"$p\"$ns}}"
        sep=","
    done
    echo "$out]"
}

# running_pods NS SERVICE: the names of SERVICE's Running pods in NS.
running_pods() {
    j pods -n "$1" -l "serving.knative.dev/service=$2" --field-selector=status.phase=Running \
        -o 'jsonpath={.items[*].metadata.name}'
}

# invariants_held WATCH_PID OUTFILE: stops the invariant poller
# (tests/e2e/e2e_watch.c) and makes one check of its summary line
# "polls=N violations=M read_errors=E gpu_checks=G reads=R
# max_read_errors_pct=P": it passes only when the poller exited 0 and the
# line shows the checks were made (polls > 0, gpu_checks > 0), nothing was
# violated, and E <= P% of R. A poller that could not read passed before.
invariants_held() {
    local rc line kv polls="" viol="" errs="" gpu="" reads="" pct=""
    stop_status "$1" 30
    rc=$?
    line=$(grep -m1 '^polls=' "$2")
    for kv in $line; do
        case ${kv%%=*} in
            polls) polls=${kv#*=} ;;
            violations) viol=${kv#*=} ;;
            read_errors) errs=${kv#*=} ;;
            gpu_checks) gpu=${kv#*=} ;;
            reads) reads=${kv#*=} ;;
            max_read_errors_pct) pct=${kv#*=} ;;
        esac
    done
    if [ -z "$polls" ] || [ -z "$viol" ] || [ -z "$errs" ] || [ -z "$gpu" ] || [ -z "$reads" ] || [ -z "$pct" ]; then
        ko "invariants polled throughout" "no summary line from the poller (exit $rc): $(tail -5 "$2")"
    elif [ "$rc" -eq 0 ] && [ "$polls" -gt 0 ] && [ "$gpu" -gt 0 ] && [ "$viol" -eq 0 ] &&
         [ $((errs * 100)) -le $((pct * reads)) ]; then
        ok "invariants held throughout ($line)"
    else
        ko "invariants held throughout" "poller exit $rc: $(cat "$2")"
    fi
}

# ---- Knative Service look-ups (end-to-end suites: kc, NS, SVC set) --------
j() { kc get "$@" 2>/dev/null; }
svc_json() { j ksvc "$SVC" -n "$NS" -o "jsonpath=$1"; }
transition() { svc_json '{.metadata.annotations.ksiss\.dev/transition}'; }
phase() { transition | grep -o '"phase":"[a-z-]*"' | cut -d'"' -f4; }
gpu_resource() { svc_json '{.spec.template.spec.containers[0].resources.limits}' | grep -o 'nvidia.com/[a-z0-9.*-]*' | head -1; }
revisions() { j rev -n "$NS" -l "serving.knative.dev/service=$SVC" -o 'jsonpath={.items[*].metadata.name}'; }
svc_ready() { [ "$(svc_json '{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
settled() {     # no transition, one revision, Ready, all traffic on it
    [ -z "$(transition)" ] && svc_ready || return 1
    local revs
    revs=$(revisions)
    [ "$(echo $revs | wc -w)" -eq 1 ] || return 1
    [ "$(svc_json '{.status.traffic[0].revisionName}')" = "$revs" ] && [ "$(svc_json '{.status.traffic[0].percent}')" = 100 ]
}
events_with() { j events -n "$NS" -o 'jsonpath={range .items[*]}{.reason}{"\n"}{end}' | grep -c "^$1\$"; }

# metric_sum PORT NAME LABELMATCH: the sum of NAME's series on the exporter
# at 127.0.0.1:PORT whose labels contain LABELMATCH ("" for all); 0 when
# none or no answer (needs TOOL, the suite's prom_tool).
metric_sum() {
    "$TOOL" get "http://127.0.0.1:$1/metrics" 2>/dev/null | grep "^$2{" | grep -- "$3" | awk '{s += $2} END {print s + 0}'
}

# ksvc_manifest NAME [ENVNAME=VALUE]: a Knative Service in namespace $NS
# (ksvc_yaml of tests/cluster/common.sh): one instance of the stand-in image
# on one nvidia.com/mig-1g.10gb slice.
ksvc_manifest() { ksvc_yaml "$1" "$NS" v1 nvidia.com/mig-1g.10gb 1 "${2:-}"; }
