#!/usr/bin/env bash
# Creates or updates the fake GPU Node objects from an inventory YAML, and
# deletes inventory nodes (label ksiss.dev/inventory=true) the file no
# longer lists. Usage: tests/cluster/nodes.sh apply [FILE] | list
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
cmd=${1:-apply}
case "$cmd" in
  apply)
    f=${2:-$HERE/inventory.yaml}
    tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
    "$BIN_DIR/ksiss-inventory" "$f" "$tmp" > "$tmp/names"
    while read -r n; do
      kc apply -f "$tmp/$n.node.json" >/dev/null
      kc patch node "$n" --subresource=status --type=json --patch-file "$tmp/$n.status.json" >/dev/null
    done < "$tmp/names"
    for n in $(kc get nodes -l ksiss.dev/inventory=true -o jsonpath='{.items[*].metadata.name}'); do
      grep -qx "$n" "$tmp/names" || { kc delete node "$n" --wait=false >/dev/null; echo "[nodes] deleted $n"; }
    done
    echo "[nodes] applied $(wc -l < "$tmp/names") nodes from $f: $(tr '\n' ' ' < "$tmp/names")"
    ;;
  list)
    kc get nodes -l ksiss.dev/inventory=true -o custom-columns='NAME:.metadata.name,PRODUCT:.metadata.labels.nvidia\.com/gpu\.product,MIG:.metadata.labels.nvidia\.com/mig\.strategy,SHARING:.metadata.labels.nvidia\.com/gpu\.sharing-strategy,ALLOCATABLE:.status.allocatable'
    ;;
  *) echo "usage: $0 apply [FILE] | list" >&2; exit 2 ;;
esac
