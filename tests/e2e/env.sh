# env.sh: sourced first by every e2e suite on the local control plane: the
# repository root (also the working directory), the cluster's variables
# (tests/cluster/common.sh), the binaries under $BUILD, Prometheus and the
# autoscaler's kubeconfig (KCA).
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
. "$ROOT/tests/cluster/common.sh"
cd "$ROOT" || exit 1
BUILD=${BUILD:-build}
KSISS=$ROOT/$BUILD/ksiss
WATCH=$ROOT/$BUILD/tests/e2e_watch
FAKE=$ROOT/$BUILD/tests/fake_inference
LOGFMT=$ROOT/$BUILD/tests/logfmt_check
TOOL=$ROOT/$BUILD/tests/prom_tool
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
KCA=$KUBECONFIG_AUTOSCALER
