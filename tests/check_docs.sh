#!/usr/bin/env bash
# check_docs.sh: `make check-docs` (part of `make test`): the docs name what
# the code does.
#  - every reason code the code can give a decision (src/: a literal
#    assigned to a *reason_code or why_code, or the code argument of a
#    helper with a `const char *code` parameter, such as set_reason) is
#    named, as `code`, in docs/policy.md;
#  - every environment variable the code reads (getenv("X"), the
#    environment look-ups given (get, ctx): get_or(get, ctx, "X"),
#    get("X", ctx), ..., and every NAME_LIKE_THIS literal of src/*/*env*.c,
#    the environment table) is named in README.md or docs/*.md;
#  - a suite of `make test` that does not run as non-root (its recipe in
#    mk/*.mk tests `id -u`) is said to need root in README's `make test`
#    row.
# Each failure names what is missing. Then proves each check can fail, on
# copies of the tree with one code, one variable or one word taken away.
# Output and counting: tests/lib/suite.sh.
# Usage: tests/check_docs.sh
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export LC_ALL=C
. tests/lib/suite.sh
suite_init check-docs ksiss-check-docs

# reason_codes SRCDIR: every reason code the sources set, one a line
reason_codes() {
    local src=$1 f fn
    {
        grep -rhE --include='*.c' '\b[a-z_]*(reason|why)_code\s*=[^=]' "$src" | grep -oE '"[a-z][a-z0-9_]*"'
        for f in $(grep -rlE --include='*.c' 'const char \*code\b' "$src"); do
            # helpers taking the code (the signature may span lines)
            for fn in $(grep -Pzo '\b[a-z_][a-z0-9_]*\s*\([^;{()]*const char \*code\b' "$f" | tr '\0' '\n' |
                        grep -oE '^[a-z_][a-z0-9_]*' | sort -u); do
                grep -E "(^|[^a-z0-9_])$fn\s*\(" "$f" | grep -vE 'const char \*code' |
                    while IFS= read -r line; do grep -oE '"[a-z][a-z0-9_]*"' <<<"$line" | head -1; done
            done
        done
    } | tr -d '"' | sort -u
}

# env_vars SRCDIR: every environment variable the sources read, one a line
env_vars() {
    local src=$1
    {
        grep -rhoE --include='*.c' '\bgetenv\("[A-Z][A-Z0-9_]*"\)' "$src"
        grep -rhoE --include='*.c' '\bctx, "[A-Z][A-Z0-9_]*"' "$src"
        grep -rhoE --include='*.c' '\("[A-Z][A-Z0-9_]*", ctx\)' "$src"
        find "$src" -name '*env*.c' -exec grep -ohE '"[A-Z][A-Z0-9]*_[A-Z0-9_]+"' {} +
    } | grep -oE '"[A-Z][A-Z0-9_]*"' | tr -d '"' | sort -u
}

# root_suites MKDIR: the make targets whose recipe skips itself as non-root
root_suites() {
    awk '/^[a-zA-Z0-9_.-]+:/ { t = $1; sub(/:.*/, "", t) } /id -u/ && t != "" { print t }' "$1"/*.mk | sort -u
}

# missing_codes SRCDIR POLICYDOC / missing_vars SRCDIR DOC... /
# missing_root MKDIR README: what the docs do not name, one a line
missing_codes() {
    local c
    for c in $(reason_codes "$1"); do grep -qF -- "\`$c\`" "$2" || echo "$c"; done
}
missing_vars() {
    local v src=$1
    shift
    for v in $(env_vars "$src"); do grep -qw -- "$v" "$@" || echo "$v"; done
}
missing_root() {
    local t row
    row=$(grep -E '^\| `make test` \|' "$2")
    for t in $(root_suites "$1"); do
        grep -qF -- "$t" <<<"$row" && grep -qw 'root' <<<"$row" || echo "$t"
    done
}

# ---- the checks
codes=$(reason_codes src)
n=$(wc -w <<<"$codes")
if [ "$n" -lt 20 ]; then
    ko "reason codes found in src/" "only $n ($codes): the extraction no longer matches the code"
else
    miss=$(missing_codes src docs/policy.md)
    if [ -z "$miss" ]; then ok "docs/policy.md names all $n reason codes of src/"
    else ko "reason codes of src/ that docs/policy.md does not name" "$(echo $miss)"; fi
fi

vars=$(env_vars src)
n=$(wc -w <<<"$vars")
if [ "$n" -lt 15 ]; then
    ko "environment variables found in src/" "only $n ($vars): the extraction no longer matches the code"
else
    miss=$(missing_vars src README.md docs/*.md)
    if [ -z "$miss" ]; then ok "README.md and docs/ name all $n environment variables src/ reads"
    else ko "environment variables src/ reads that neither README.md nor docs/ names" "$(echo $miss)"; fi
fi

roots=$(root_suites mk)
if [ -z "$roots" ]; then
    ok "no suite of make test needs root"
else
    miss=$(missing_root mk README.md)
    if [ -z "$miss" ]; then ok "README's make test row says that $(echo $roots) runs as root only"
    else ko "suites that need root and README's make test row does not say so" "$(echo $miss)"; fi
fi

# ---- each check can fail: one thing added to a copy of the code, or taken
# from a copy of the docs
cp -r src docs mk README.md "$TMP"/
cat >"$TMP/src/core/zz_check_docs.c" <<'EOF'
static void pick(ksiss_decision *out, int why,
                 const char *code, const char *text);
void f(ksiss_decision *out, bool p)
{
    out->reason_code = p ? "zz_assigned_a" : "zz_assigned_b";
    pick(out, 1, "zz_helper", "a sentence");
    if (getenv("ZZ_GETENV") || get_or(get, ctx, "ZZ_GET_OR") || get("ZZ_GET", ctx)) {}
}
EOF
printf 'static const char *const names[] = {"ZZ_ENV_TABLE"};\n' >"$TMP/src/core/zz_env.c"
want=$'zz_assigned_a\nzz_assigned_b\nzz_helper'
got=$(missing_codes "$TMP/src" "$TMP/docs/policy.md")
if [ "$got" = "$want" ]; then ok "refused: reason codes added to the code and not to docs/policy.md"
else ko "new reason codes" "expected $(echo $want), got: $(echo $got)"; fi
want=$'ZZ_ENV_TABLE\nZZ_GET\nZZ_GETENV\nZZ_GET_OR'
got=$(missing_vars "$TMP/src" "$TMP/README.md" "$TMP"/docs/*.md)
if [ "$got" = "$want" ]; then ok "refused: environment variables added to the code and not to the docs"
else ko "new environment variables" "expected $(echo $want), got: $(echo $got)"; fi

for c in seed_missing_down kpa_panic_out unknown_capacity; do
    cp docs/policy.md "$TMP/docs/policy.md"
    sed -i "s/\`$c\`/$c/g" "$TMP/docs/policy.md"
    got=$(missing_codes src "$TMP/docs/policy.md")
    if [ "$got" = "$c" ]; then ok "refused: docs/policy.md without $c"
    else ko "docs/policy.md without $c" "expected $c, got: $(echo $got)"; fi
done
v=PROMETHEUS_CONNECT_TIMEOUT
for f in README.md docs/*.md; do sed "s/\b$v\b/PROMETHEUS_CONN_TIMEOUT/g" "$f" >"$TMP/$f"; done
got=$(missing_vars src "$TMP/README.md" "$TMP"/docs/*.md)
if [ "$got" = "$v" ]; then ok "refused: docs without $v"
else ko "docs without $v" "expected $v, got: $(echo $got)"; fi

if [ -n "$roots" ]; then
    sed -E '/^\| `make test` \|/ s/\broot\b/r00t/g' README.md >"$TMP/README.md"
    got=$(missing_root mk "$TMP/README.md")
    if [ "$got" = "$roots" ]; then ok "refused: README's make test row without 'root'"
    else ko "README's make test row without 'root'" "expected $(echo $roots), got: $(echo $got)"; fi
fi
finish
