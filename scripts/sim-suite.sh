#!/bin/sh
# sim-suite.sh: the simulator's evaluation suite (`make sim-suite`,
# docs/simulator.md "The evaluation suite"): runs `ksiss simulate --policy
# all` on every case of tests/sim/suite.cases (real traces, generated shapes,
# SLO / cold start / tick variants, jittered timestamps) with the example
# cluster, config and model, then the scoreboard: a table, scoreboard.json,
# scoreboard.svg and a one-line summary of how many cases `ksiss` meets the
# rules on. Each case also runs `ksiss` learning its capacity (issue 17,
# docs/policy.md "Learned capacity"): without perGpu, from a perGpu 2x too
# high and from one 2x too low, judged against `ksiss` with the true profile
# after a 10-minute warm-up (the "no profile", "perGpu x2", "perGpu /2"
# columns); the learning curves of azure-conv and ramp-1 without perGpu go
# to learning-*.svg. Deterministic. A report, not a gate: exit 0 unless a
# run fails.
# Usage: scripts/sim-suite.sh [OUTDIR]   (default build/sim-suite)
# Environment: KSISS (build/ksiss), SIM_TRACE (build/sim-trace),
# SIM_SCOREBOARD (build/sim-scoreboard), SIM_CASES (tests/sim/suite.cases).
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/sim-suite}
bin=${KSISS:-build/ksiss}
gen=${SIM_TRACE:-build/sim-trace}
board=${SIM_SCOREBOARD:-build/sim-scoreboard}
cases=${SIM_CASES:-tests/sim/suite.cases}
for b in "$bin" "$gen" "$board"; do
    if [ ! -x "$b" ]; then
        echo "sim-suite: $b not built (make sim-suite builds it)" >&2
        exit 3
    fi
done
mkdir -p "$out/traces" "$out/cases"
ex=examples/sim

# trace KEY: prints the path of the trace named KEY, making it if needed.
trace() {
    case $1 in
    azure-conv) echo "$ex/azure-llm-2023-conv.csv"; return ;;
    azure-code) echo "$ex/azure-llm-2023-code.csv"; return ;;
    esac
    case $1 in
    *+j*) base=${1%%+j*}; ext=$(trace "$base" | sed 's/.*\.//') ;;
    *) ext=jsonl ;;
    esac
    f=$out/traces/$1.$ext
    if [ ! -s "$f" ]; then
        case $1 in
        mooncake-thin)
            # every 6th request of Moonshot's conversation trace: ~6.8k prompt
            # tokens/s, the bundled Azure trace's rate (6.3k)
            gunzip -c "$ex/mooncake-conversation.jsonl.gz" | "$gen" thin 6 > "$f.tmp" ;;
        *+j*)
            j=${1##*+j}
            "$gen" jitter "${j%-*}" "${j#*-}" < "$(trace "$base")" > "$f.tmp" 2>/dev/null ;;
        gen-*)
            spec=${1#gen-}
            "$gen" gen "${spec%-*}" "${spec##*-}" > "$f.tmp" ;;
        *)
            echo "sim-suite: unknown trace \"$1\" in $cases" >&2
            exit 1 ;;
        esac
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# config SLO MAX: the example config with the TTFT SLO set to SLO seconds
# and maxReplicas to MAX ("-": the example's).
config() {
    if [ "$1" = 1 ] && [ "$2" = - ]; then
        echo "$ex/config.yaml"
        return
    fi
    f=$out/config-slo$1-max$2.yaml
    if [ ! -s "$f" ]; then
        want=0
        cp "$ex/config.yaml" "$f.tmp"
        if [ "$1" != 1 ]; then
            sed -i "s/^\(        slo: \)1\.0$/\1$1/" "$f.tmp"
            want=1
        fi
        if [ "$2" != - ]; then
            sed -i "s/^\(    maxReplicas: \)[0-9]*$/\1$2/" "$f.tmp"
            want=$((want + 1))
        fi
        if [ "$(diff "$ex/config.yaml" "$f.tmp" | grep -c '^>')" != "$want" ]; then
            echo "sim-suite: could not set the TTFT SLO to $1 and maxReplicas to $2 in $ex/config.yaml" >&2
            exit 1
        fi
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

manifest=$out/manifest.tsv
: > "$manifest"
start=$(date +%s)
n=0
grep -v '^[[:space:]]*\(#\|$\)' "$cases" | while read -r name class key slo cold tick base max; do
    [ "${max:-}" = - ] && max=
    t=$(trace "$key")
    c=$(config "$slo" "${max:--}")
    if ! "$bin" simulate --trace "$t" --config "$c" --cluster "$ex/cluster.yaml" --profile "$ex/model.yaml" \
        --policy all --cold-start "$cold" --interval "$tick" --json "$out/cases/$name.json" \
        > "$out/cases/$name.txt" 2>&1; then
        echo "sim-suite: case $name failed:" >&2
        cat "$out/cases/$name.txt" >&2
        exit 1
    fi
    # ksiss learning its capacity: no perGpu, 2x too high, 2x too low
    for v in "nopg --no-per-gpu" "x2 --per-gpu-scale 2" "half --per-gpu-scale 0.5"; do
        tag=${v%% *}
        plot=
        case $name:$tag in
        azure-conv:nopg|ramp-1:nopg) plot="--learning-plot $out/learning-$name.svg" ;;
        esac
        # shellcheck disable=SC2086
        if ! "$bin" simulate --trace "$t" --config "$c" --cluster "$ex/cluster.yaml" --profile "$ex/model.yaml" \
            --policy ksiss --cold-start "$cold" --interval "$tick" ${v#* } $plot \
            --json "$out/cases/$name.$tag.json" > "$out/cases/$name.$tag.txt" 2>&1; then
            echo "sim-suite: case $name ($tag) failed:" >&2
            cat "$out/cases/$name.$tag.txt" >&2
            exit 1
        fi
    done
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$class" "$base" "$out/cases/$name.json" \
        "$key, TTFT SLO ${slo} s, cold start $cold, tick $tick${max:+, maxReplicas $max}" \
        "$out/cases/$name.nopg.json" "$out/cases/$name.x2.json" "$out/cases/$name.half.json" >> "$manifest"
done
"$board" "$manifest" "$out"
echo "sim-suite: $(grep -c . "$manifest") cases in $(( $(date +%s) - start )) s; per-case tables in $out/cases/"
