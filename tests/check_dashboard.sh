#!/usr/bin/env bash
# check_dashboard.sh: `make check-deploy`'s dashboard half. Every metric
# name in deploy/grafana/grafana-dashboard.json's PromQL (panels and
# template variables) must be one the K-SISS exporter exposes, and every
# label used (matchers, by/without lists, legends) one that metric has.
# The exporter's families come from its own registry, rendered in-process
# as /metrics renders them; with METRICS_URL=http://127.0.0.1:PORT/metrics
# (a running `ksiss run` or `ksiss query --serve`) they are scraped from it
# instead. Then proves the check can fail on broken copies. Output and
# counting: tests/lib/suite.sh.
# Usage: tests/check_dashboard.sh [CHECK_MANIFESTS_BINARY]
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BIN=${1:-build/tests/check_manifests}
DASH=deploy/grafana/grafana-dashboard.json
. tests/lib/suite.sh
suite_init check-dashboard ksiss-check-dashboard
tmp=$TMP

extra=()
if [ -n "${METRICS_URL:-}" ]; then
  case "$METRICS_URL" in http://127.0.0.1:*|http://localhost:*) ;; *) echo "check_dashboard: METRICS_URL must be on loopback" >&2; exit 2 ;; esac
  curl -fsS --max-time 5 "$METRICS_URL" -o "$tmp/metrics.txt" || die "scrape" "cannot scrape $METRICS_URL"
  extra=(--metrics "$tmp/metrics.txt")
fi
if "$BIN" dashboard "$DASH" "${extra[@]}"; then ok "$DASH uses only exported metrics and labels"; else ko "$DASH"; fi

# ---- the check can fail: sed expression | message expected
while IFS='|' read -r name expr want; do
  [ -z "$name" ] && continue
  sed -e "$expr" "$DASH" >"$tmp/dash.json"
  if cmp -s "$DASH" "$tmp/dash.json"; then ko "$name: the mutation changed nothing"; continue; fi
  out=$("$BIN" dashboard "$tmp/dash.json" 2>&1)
  if [ $? = 1 ] && grep -qF -- "$want" <<<"$out"; then ok "refused: $name"
  else ko "$name: expected a failure saying '$want', got:"; echo "$out" >&2; fi
done <<'EOF_CASES'
metric_not_exported|s/(ksiss_gpu_free)/(ksiss_gpu_free_units)/|metric ksiss_gpu_free_units is not exposed
foreign_metric|s/(ksiss_gpu_allocatable)/(DCGM_FI_DEV_GPU_UTIL)/|metric DCGM_FI_DEV_GPU_UTIL is not exposed
histogram_suffix_on_gauge|s/ksiss_transitions_in_flight{/ksiss_transitions_in_flight_count{/|ksiss_transitions_in_flight_count is not exposed
label_not_on_metric|s/ksiss_service_replicas{namespace=/ksiss_service_replicas{tier=\\"x\\", namespace=/|metric ksiss_service_replicas has no label tier
group_by_unknown_label|s/max by (gpu_model, resource) (ksiss_gpu_free)/max by (model, resource) (ksiss_gpu_free)/|groups by model
legend_unknown_label|s/{{gpu_model}} {{resource}}/{{gpu}} {{resource}}/|legend uses {{gpu}}
variable_unknown_label|s/ksiss_service_tier_info, namespace)/ksiss_service_tier_info, ns)/|label ns is not a label
unknown_function|s/histogram_quantile(0.95/histogram_quantil(0.95/|unknown PromQL function histogram_quantil
hardcoded_datasource|0,/"uid": "\${datasource}"/s//"uid": "P1809F7CD0C75ACF3"/|must be the ${datasource} variable
EOF_CASES
finish
