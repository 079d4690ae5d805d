#!/usr/bin/env bash
# Installs the Debian packages K-SISS needs to build and test. Idempotent:
# installs only what is missing. Usage: scripts/deps.sh [build|unit|all]
#   build  compile ksiss (make, make demo)
#   unit   build + cmocka (make unit, make unit-asan)
#   all    everything the test suites use (make test, make e2e, make bench)
set -euo pipefail
what=${1:-all}
build_pkgs="build-essential pkg-config libyaml-dev libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev zlib1g-dev"
unit_pkgs="libcmocka-dev"
test_pkgs="valgrind prometheus clang libclang-rt-14-dev openssl iproute2 procps curl gnuplot-nox"
case "$what" in
  build) pkgs="$build_pkgs" ;;
  unit) pkgs="$build_pkgs $unit_pkgs" ;;
  test|all) pkgs="$build_pkgs $unit_pkgs $test_pkgs" ;;
  *) echo "usage: $0 [build|unit|all]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: not root; run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# prometheus pulls in many recommends we do not need
apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done" >&2
