#!/usr/bin/env bash
# Builds (once) every upstream binary of the local control plane from Go
# modules, cached by version under ${KSISS_CACHE:-~/.cache/ksiss-cluster}.
# A binary that is already in the cache is not rebuilt.
# Usage: tests/cluster/build.sh [--force]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/versions.sh"
export GOFLAGS="${GOFLAGS:--p=2} -mod=mod"
export CGO_ENABLED=0 GOTOOLCHAIN=local
force=0; [ "${1:-}" = --force ] && force=1
command -v go >/dev/null || { echo "build: go not found (need Go >= 1.25 at /usr/local/go or on PATH)" >&2; exit 1; }
mkdir -p "$BIN_DIR" "$KSISS_CACHE/src"
T0=$(date +%s)
el() { echo "$(( $(date +%s) - T0 ))s"; }
log() { echo "[build +$(el)] $*"; }

# run CMD...: runs a long step, printing a heartbeat every 60 s.
run() {
  local what=$1; shift
  local t=$(date +%s) logf="$KSISS_CACHE/src/last-build.log"
  "$@" >"$logf" 2>&1 &
  local pid=$!
  while kill -0 $pid 2>/dev/null; do
    for _ in $(seq 60); do sleep 1; kill -0 $pid 2>/dev/null || break; done
    kill -0 $pid 2>/dev/null && log "  ... still $what ($(( $(date +%s) - t ))s)"
  done
  if ! wait $pid; then
    echo "[build] FAILED: $what; last lines of $logf:" >&2; tail -40 "$logf" >&2; exit 1
  fi
  log "  done: $what in $(( $(date +%s) - t ))s"
}
need() { # need NAME: true when $BIN_DIR/NAME-version is missing
  [ $force = 1 ] || [ ! -x "$BIN_DIR/$1" ]
}

# ---- Kubernetes: one wrapper module, staging repos replaced by published tags
kube_mod() {
  local d="$KSISS_CACHE/src/k8s-$K8S_VERSION"
  if [ ! -f "$d/.ready" ]; then
    log "preparing wrapper module for k8s.io/kubernetes v$K8S_VERSION"
    rm -rf "$d"; mkdir -p "$d"; cd "$d"
    go mod init local/k8sbin >/dev/null 2>&1
    local gm; gm=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    [ -n "$gm" ] || { echo "build: cannot download k8s.io/kubernetes@v$K8S_VERSION" >&2; exit 1; }
    for m in $(sed -n 's|^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*|\1|p' "$gm"); do
      go mod edit -replace="$m=$m@v$K8S_STAGING_VERSION"
    done
    go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
    cat > tools.go <<'G'
//go:build tools
package tools
G
    run "resolving k8s.io/kubernetes v$K8S_VERSION dependencies" \
      go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION" \
             "k8s.io/kubernetes/cmd/kube-scheduler@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION"
    touch .ready
  fi
  cd "$d"
}
kube_bin() { # kube_bin NAME
  local n=$1 out="$BIN_DIR/$1-v$K8S_VERSION"
  if need "$1-v$K8S_VERSION"; then
    kube_mod
    local V=k8s.io/component-base/version
    local minor=${K8S_VERSION#1.}; minor=${minor%%.*}
    log "building $n v$K8S_VERSION"
    run "building $n" go build -trimpath -o "$out.tmp" \
      -ldflags "-s -w -X $V.gitVersion=v$K8S_VERSION -X $V.gitMajor=1 -X $V.gitMinor=$minor -X $V.gitTreeState=clean -X $V.buildDate=1970-01-01T00:00:00Z -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor" \
      "k8s.io/kubernetes/cmd/$n"
    mv "$out.tmp" "$out"
  else log "cached: $n v$K8S_VERSION"; fi
  ln -sf "$n-v$K8S_VERSION" "$BIN_DIR/$n"
}

# ---- etcd: own main calling etcdmain (the root module has replace directives)
etcd_bin() {
  local out="$BIN_DIR/etcd-v$ETCD_VERSION"
  if need "etcd-v$ETCD_VERSION"; then
    local d="$KSISS_CACHE/src/etcd-$ETCD_VERSION"
    rm -rf "$d"; mkdir -p "$d"; cd "$d"
    go mod init local/etcdbin >/dev/null 2>&1
    cat > main.go <<'G'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
G
    log "building etcd v$ETCD_VERSION"
    run "resolving etcd v$ETCD_VERSION" go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
    run "building etcd" go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
    mv "$out.tmp" "$out"
  else log "cached: etcd v$ETCD_VERSION"; fi
  ln -sf "etcd-v$ETCD_VERSION" "$BIN_DIR/etcd"
}

# ---- KWOK
kwok_bin() {
  local out="$BIN_DIR/kwok-v$KWOK_VERSION"
  if need "kwok-v$KWOK_VERSION"; then
    local d="$KSISS_CACHE/src/kwok-$KWOK_VERSION"
    rm -rf "$d"; mkdir -p "$d"; cd "$d"
    go mod init local/kwokbin >/dev/null 2>&1
    echo '//go:build tools
package tools' > tools.go
    log "building kwok v$KWOK_VERSION"
    run "resolving kwok v$KWOK_VERSION" go get "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
    run "building kwok" go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" -o "$out.tmp" sigs.k8s.io/kwok/cmd/kwok
    mv "$out.tmp" "$out"
  else log "cached: kwok v$KWOK_VERSION"; fi
  ln -sf "kwok-v$KWOK_VERSION" "$BIN_DIR/kwok"
}

# ---- Knative Serving: own controller main (health probes off), upstream autoscaler
kn_mod() {
  local d="$KSISS_CACHE/src/knative-$KNATIVE_VERSION"
  if [ ! -f "$d/.ready" ]; then
    rm -rf "$d"; mkdir -p "$d/controller"; cd "$d"
    go mod init local/knbin >/dev/null 2>&1
    cp "$HERE/knative-controller.go" controller/main.go
    run "resolving knative.dev/serving v$KNATIVE_VERSION" go get "knative.dev/serving@v$KNATIVE_VERSION"
    run "tidying knative module" go mod tidy
    # the config YAMLs (CRDs, config maps) are read from the module cache by up.sh
    go list -m -f '{{.Dir}}' knative.dev/serving knative.dev/networking knative.dev/caching > "$KSISS_CACHE/knative-dirs-$KNATIVE_VERSION"
    touch .ready
  fi
  cd "$d"
}
kn_bin() { # kn_bin NAME PKG
  local n=$1 pkg=$2 out="$BIN_DIR/$1-v$KNATIVE_VERSION"
  if need "$n-v$KNATIVE_VERSION"; then
    kn_mod
    log "building $n (knative serving v$KNATIVE_VERSION)"
    run "building $n" go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  else log "cached: $n v$KNATIVE_VERSION"; fi
  ln -sf "$n-v$KNATIVE_VERSION" "$BIN_DIR/$n"
}

# ---- small own helper: TCP forwarder from the root netns into the cluster netns
fwd_bin() {
  local sum; sum=$(sha256sum "$HERE/nsfwd.go" | cut -c1-12)
  local out="$BIN_DIR/nsfwd-$sum"
  if need "nsfwd-$sum"; then
    local d="$KSISS_CACHE/src/nsfwd"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
    go mod init local/nsfwd >/dev/null 2>&1; cp "$HERE/nsfwd.go" main.go
    log "building nsfwd"
    run "building nsfwd" go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
    mv "$out.tmp" "$out"
  fi
  ln -sf "nsfwd-$sum" "$BIN_DIR/nsfwd"
}

log "Go: $(go version); cache: $KSISS_CACHE"
only=${ONLY:-all}
want() { [ "$only" = all ] || [[ " $only " == *" $1 "* ]]; }
want nsfwd && fwd_bin
want etcd && etcd_bin
want kube-apiserver && kube_bin kube-apiserver
want kube-controller-manager && kube_bin kube-controller-manager
want kube-scheduler && kube_bin kube-scheduler
want kubectl && kube_bin kubectl
want kwok && kwok_bin
want knative-controller && kn_bin knative-controller ./controller
want knative-autoscaler && kn_bin knative-autoscaler knative.dev/serving/cmd/autoscaler
if want knative-controller || want knative-autoscaler; then kn_mod >/dev/null; fi
log "all binaries ready in $BIN_DIR (total $(el))"
