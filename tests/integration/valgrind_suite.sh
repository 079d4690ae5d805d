#!/usr/bin/env bash
# valgrind_suite.sh: runs an integration suite (prom_test.sh or
# security_test.sh) with every `ksiss` it starts under valgrind memcheck.
# It makes a build directory whose `ksiss` is a wrapper that execs valgrind
# on the real binary (the stand-in programs are linked as they are), runs
# the suite with BUILD pointing there, then fails if any valgrind log holds
# an error or a definite/indirect leak, printing those logs.
# Usage: valgrind_suite.sh SUITE_SCRIPT   (BUILD: the real build, default build)
set -u
BUILD=${BUILD:-build}
suite=$1
command -v valgrind >/dev/null || { echo "FAIL valgrind is not installed"; exit 1; }
real=$(cd "$BUILD" && pwd)
vg=$(mktemp -d "${TMPDIR:-/tmp}/ksiss-vg.XXXXXX") || exit 1
trap 'rm -rf "$vg"' EXIT
mkdir -p "$vg/tests" "$vg/logs"
for f in "$real"/tests/*; do [ -f "$f" ] && [ -x "$f" ] && ln -s "$f" "$vg/tests/"; done
cat >"$vg/ksiss" <<W
#!/bin/sh
exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \\
  --log-file="$vg/logs/vg.%p.log" "$real/ksiss" "\$@"
W
chmod +x "$vg/ksiss"
# The suites' bounded waits on ksiss scale with this (valgrind is ~10-50x slower).
KSISS_TEST_SLOWDOWN=${KSISS_TEST_SLOWDOWN:-10} BUILD=$vg "$suite"
rc=$?
n=$(ls "$vg/logs" | wc -l)
bad=0
for l in "$vg"/logs/*.log; do
    [ -s "$l" ] || continue
    bad=$((bad + 1))
    echo "--- $l"
    head -60 "$l"
done
if [ $bad = 0 ]; then echo "PASS valgrind: $n ksiss processes, no memory error, no definite or indirect leak"
else echo "FAIL valgrind: $bad of $n ksiss processes reported errors or leaks (above)"; rc=1; fi
exit $rc
