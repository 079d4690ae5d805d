#!/usr/bin/env bash
# check_manifests_rbac.sh: compares the Kubernetes API calls in src/shell/
# with tests/check_manifests.rbac (which deploy/'s roles must match): every
# call the code makes must be granted, every grant must be used. Calls are
# found by reading the source: ksiss_kube_get/list/create/replace/patch/
# delete(..., &KSISS_KUBE_<RES>, ...) and informers started on
# &KSISS_KUBE_<RES> (list + watch). Leases are namespaced (Role); the rest
# cluster-wide (ClusterRole).
# The commands (src/cli/, e.g. `ksiss explain` run inside the pod) count too.
# Usage: tests/check_manifests_rbac.sh [TABLE] [SRC_DIR...]   exit 1 on a mismatch
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TABLE=${1:-$ROOT/tests/check_manifests.rbac}
shift || true
SRCS=("$@"); [ ${#SRCS[@]} -gt 0 ] || SRCS=("$ROOT/src/shell" "$ROOT/src/cli")
SRC=${SRCS[0]}   # where the ksiss_kube_resource definitions are

# KSISS_KUBE_X -> "group resource" from the definitions (any file of SRC).
declare -A RES=()
while read -r name group res; do RES[$name]="$group $res"; done < <(
  cat "$SRC"/*.c | tr '\n' ' ' |
  grep -oE 'const ksiss_kube_resource (KSISS_KUBE_[A-Z_]+) = \{ *"[^"]*", *"[^"]*", *"[^"]*"' |
  sed -E 's/const ksiss_kube_resource (KSISS_KUBE_[A-Z_]+) = \{ *"([^"]*)", *"[^"]*", *"([^"]*)"/\1 \2 \3/; s/^(KSISS_KUBE_[A-Z_]+)  /\1 core /')
[ ${#RES[@]} -gt 0 ] || { echo "check_manifests_rbac: found no ksiss_kube_resource definitions in $SRC" >&2; exit 1; }

declare -A USED=()
unresolved=""
use() { # use CONSTANT VERB FILE
  local gr=${RES[$1]:-}
  [ -n "$gr" ] || { unresolved="$unresolved $1($3)"; return; }
  local g=${gr% *} r=${gr#* } scope=cluster
  [ "$r" = leases ] && scope=namespace
  USED["$scope $g $r $2"]="$3"
}
for f in $(for d in "${SRCS[@]}"; do ls "$d"/*.c; done); do
  base=$(basename "$f")
  flat=$(tr '\n' ' ' <"$f")
  while read -r fn res; do
    case "$fn" in
      ksiss_kube_get) v=get ;; ksiss_kube_list) v=list ;; ksiss_kube_create) v=create ;;
      ksiss_kube_replace) v=update ;; ksiss_kube_patch) v=patch ;; ksiss_kube_delete) v=delete ;;
    esac
    use "$res" "$v" "$base"
  done < <(grep -oE '\bksiss_kube_(get|list|create|replace|patch|delete)\([^;]*' <<<"$flat" |
           sed -nE 's/^(ksiss_kube_[a-z]+)\([^&;]*&(KSISS_KUBE_[A-Z_]+).*/\1 \2/p')
  # informers: list + watch of the resource they are started on
  while read -r res; do
    use "$res" list "$base"; use "$res" watch "$base"
  done < <(grep -oE '(ksiss_kube_informer_opts[^;]*|\.res *= *&KSISS_KUBE_[A-Z_]+)' <<<"$flat" |
           grep -oE '&KSISS_KUBE_[A-Z_]+' | tr -d '&' | sort -u)
done

declare -A GRANTED=()
while read -r scope group res verbs; do
  [ -z "$scope" ] && continue
  IFS=, read -ra vs <<<"$verbs"
  for v in "${vs[@]}"; do GRANTED["$scope $group $res $v"]=1; done
done < <(sed 's/#.*//' "$TABLE" | grep -v '^[[:space:]]*$')

fail=0
for k in "${!USED[@]}"; do
  [ -n "${GRANTED[$k]+x}" ] || { echo "check_manifests_rbac: ${USED[$k]} calls '$k' but $TABLE (and so deploy/) does not grant it" >&2; fail=1; }
done
for k in "${!GRANTED[@]}"; do
  [ -n "${USED[$k]+x}" ] || { echo "check_manifests_rbac: $TABLE grants '$k' but no call in ${SRCS[*]} uses it (least privilege: remove it)" >&2; fail=1; }
done
[ -z "$unresolved" ] || echo "check_manifests_rbac: note: resources not defined in $SRC:$unresolved" >&2
[ $fail = 0 ] && echo "check_manifests_rbac: ${#USED[@]} grants used by the code = the ${#GRANTED[@]} in $(basename "$TABLE")"
exit $fail
