#!/usr/bin/env bash
# `make demo`: walks through the built-in example.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== ksiss check-config examples/autoscaler-config.yaml"
build/ksiss check-config examples/autoscaler-config.yaml
echo
echo "== ksiss tiers --gpu H100-80GB"
build/ksiss tiers --gpu H100-80GB
