#!/bin/sh
# sim-demo.sh: the main job of K-SISS in one command: replay the bundled
# Azure LLM trace (one hour, ~19k requests) through every policy (ksiss,
# seed, horizontal, static, oracle) on the example H100 MIG cluster, print
# the comparison table, and write the plot and the JSON next to it.
# Usage: scripts/sim-demo.sh [OUTDIR]   (default build/sim-demo)
set -eu
cd "$(dirname "$0")/.."
out=${1:-build/sim-demo}
mkdir -p "$out"
bin=${KSISS:-build/ksiss}
if [ ! -x "$bin" ]; then
    echo "sim-demo: $bin not built; run make first" >&2
    exit 3
fi
echo "ksiss simulate --policy all on examples/sim/ (docs/simulator.md explains the model)"
echo
"$bin" simulate \
    --trace examples/sim/azure-llm-2023-conv.csv \
    --config examples/sim/config.yaml \
    --cluster examples/sim/cluster.yaml \
    --profile examples/sim/model.yaml \
    --policy all \
    --json "$out/results.json" \
    --plot "$out/plot.svg"
echo
echo "open $out/plot.svg in a browser: load against capacity, GPUs held, tier and latency over time per policy"
