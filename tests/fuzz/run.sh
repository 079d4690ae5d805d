#!/bin/sh
# tests/fuzz/run.sh: runs the libFuzzer targets built by mk/fuzz.mk, one at
# a time (the machine is shared). Usage: run.sh fuzz|smoke SECONDS NAME...
#   fuzz:  fuzz each target for SECONDS on a temporary copy of its corpus.
#   smoke: first replay every committed input (corpus and regressions) once,
#          then fuzz as above.
# New inputs never go into the repository; crashes are kept under
# $FUZZ_DIR/artifacts/NAME/. Exits non-zero when any target fails.
set -u
mode=$1; secs=$2; shift 2
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
here=$(cd "$(dirname "$0")" && pwd)
fail=0
work=$(mktemp -d "${TMPDIR:-/tmp}/ksiss-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT INT TERM

for name in "$@"; do
    bin=$FUZZ_DIR/fuzz_$name
    corpus=$here/corpus/$name
    regress=$here/regressions/$name
    art=$FUZZ_DIR/artifacts/$name
    mkdir -p "$art" "$work/$name"
    dict=
    [ -f "$here/dict/$name.dict" ] && dict=-dict=$here/dict/$name.dict
    if [ "$mode" = smoke ]; then
        files=$(find "$corpus" "$regress" -type f 2>/dev/null | sort)
        n=$(printf '%s\n' "$files" | grep -c . )
        echo "== fuzz $name: replaying $n committed inputs"
        if [ "$n" -gt 0 ]; then
            # shellcheck disable=SC2086 # file names are ours: no spaces
            if ! "$bin" -timeout=10 -artifact_prefix="$art/" $files >"$work/$name.replay.log" 2>&1; then
                tail -n 40 "$work/$name.replay.log"
                echo "FAIL: fuzz $name: a committed input fails (log above)"
                fail=1
                continue
            fi
        fi
    fi
    [ -d "$corpus" ] && cp -R "$corpus/." "$work/$name/"
    [ -d "$regress" ] && cp -R "$regress/." "$work/$name/"
    echo "== fuzz $name: ${secs}s"
    # shellcheck disable=SC2086
    if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$art/" $dict "$work/$name" >"$work/$name.log" 2>&1; then
        tail -n 60 "$work/$name.log"
        echo "FAIL: fuzz $name: crash or broken invariant; input saved under $art/"
        fail=1
        continue
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^Done' "$work/$name.log" | tr '\n' ' '
    echo
done
[ $fail -eq 0 ] && echo "fuzz ($mode): all targets passed"
exit $fail
