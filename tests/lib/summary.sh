#!/usr/bin/env bash
# summary.sh: the last line of `make test` and `make e2e`: how many of the
# suites (make targets) passed, and which skipped something, from the lines
# "TARGET: what" the suites appended to $KSISS_SKIPPED (tests/lib/suite.sh,
# tests/lib/cmocka_run.sh, mk/ship.mk's image-steps). A suite that skipped a
# check, a test or everything is counted as skipped, never as passed:
#   make test: 8 suites passed, 1 skipped: image-steps (not run: needs root)
# Usage: KSISS_SKIPPED=FILE tests/lib/summary.sh GOAL TARGET...
set -uo pipefail
goal=$1
shift
file=${KSISS_SKIPPED:-/dev/null}
[ -r "$file" ] || file=/dev/null
passed=0 nskipped=0 list=""
what_of() {     # the texts recorded for target $1, joined with "; "
    awk -v t="$1: " 'index($0, t) == 1 { print substr($0, length(t) + 1) }' "$file" | sort -u | paste -sd';' - | sed 's/;/; /g'
}
for t in "$@"; do
    what=$(what_of "$t")
    if [ -n "$what" ]; then
        nskipped=$((nskipped + 1))
        list="${list:+$list; }$t ($what)"
    else
        passed=$((passed + 1))
    fi
done
# anything recorded under a name that is not one of the targets (a suite
# run outside make's target list) is still named
for t in $(awk -F': ' '{ print $1 }' "$file" | sort -u); do
    case " $* " in *" $t "*) ;; *)
        nskipped=$((nskipped + 1))
        list="${list:+$list; }$t ($(what_of "$t"))" ;;
    esac
done
echo "$goal: $passed suites passed, $nskipped skipped${list:+: $list}"
