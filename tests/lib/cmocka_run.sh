#!/usr/bin/env bash
# cmocka_run.sh: runs cmocka test programs one after the other, their output
# shown as it comes, and reports the tests they skipped: cmocka's skip()
# does not fail a program, so without this a skipped test would pass as
# one that ran. Prints "SKIP PROGRAM: tests" and, under make, appends
# "TARGET: N tests skipped: PROGRAM/test, ..." to $KSISS_SKIPPED, which the
# last line of `make test` / `make e2e` reports (tests/lib/suite.sh,
# tests/lib/summary.sh). Exits 1 when a program failed.
# Usage: tests/lib/cmocka_run.sh PROGRAM...   (from the repository root:
# the unit tests read tests/data/...)
set -uo pipefail
. "$(dirname "$0")/suite.sh"
out=$(mktemp "${TMPDIR:-/tmp}/ksiss-cmocka.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT
fail=0 skipped=()
for t in "$@"; do
    echo "== $t"
    "$t" 2>&1 | tee "$out"
    [ "${PIPESTATUS[0]}" -eq 0 ] || fail=1
    # per test, on stdout: "[  SKIPPED ] name"; the summary adds
    # "[  SKIPPED ] N test(s), listed below:" and the names again
    s=$(sed -n 's/^\[  SKIPPED \] \([A-Za-z_][A-Za-z0-9_]*\)$/\1/p' "$out" | sort -u)
    [ -n "$s" ] || continue
    echo "SKIP $(basename "$t"):" $s
    for n in $s; do skipped+=("$(basename "$t")/$n"); done
done
if [ ${#skipped[@]} -gt 0 ]; then
    names=$(printf '%s, ' "${skipped[@]}")
    suite_record_skip "${#skipped[@]} test$([ ${#skipped[@]} -gt 1 ] && echo s) skipped: ${names%, }"
fi
exit $fail
