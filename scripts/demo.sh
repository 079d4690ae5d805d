#!/usr/bin/env bash
# `make demo`: the main job on the built-in example: validate the example
# ConfigMap, show the H100 tier ladder, then replay the bundled Azure LLM
# trace through every policy (scripts/sim-demo.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ksiss check-config examples/autoscaler-config.yaml"
build/ksiss check-config examples/autoscaler-config.yaml
echo
echo "== ksiss tiers --gpu H100-80GB"
build/ksiss tiers --gpu H100-80GB
echo
echo "== ksiss simulate (scripts/sim-demo.sh)"
scripts/sim-demo.sh
