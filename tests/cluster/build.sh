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
command -v go >/dev/null || export PATH="$PATH:/usr/local/go/bin"
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
  # the kwok binary has no built-in stages (kwokctl embeds them): keep the
  # upstream "fast" node/pod stages and the lease heartbeat as one config
  local st="$KSISS_CACHE/kwok-stages-v$KWOK_VERSION.yaml"
  if [ ! -s "$st" ]; then
    cd "$KSISS_CACHE/src/kwok-$KWOK_VERSION"
    local kd; kd=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"; cat "$kd/kustomize/stage/$f"
    done > "$st.tmp" && mv "$st.tmp" "$st"
  fi
}

# ---- Knative Serving: own controller main (health probes off), upstream autoscaler
kn_mod() {
  local d="$KSISS_CACHE/src/knative-$KNATIVE_VERSION"
  local stamp; stamp=$(cat "$HERE/knative-controller.go" "$HERE/knative-statpusher.go" | sha256sum | cut -c1-12)
  if [ "$(cat "$d/.ready" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$d"; mkdir -p "$d/controller"; cd "$d"
    go mod init local/knbin >/dev/null 2>&1
    mkdir -p statpusher
    cp "$HERE/knative-controller.go" controller/main.go
    cp "$HERE/knative-statpusher.go" statpusher/main.go
    run "resolving knative.dev/serving v$KNATIVE_VERSION" go get "knative.dev/serving@v$KNATIVE_VERSION"
    run "tidying knative module" go mod tidy
    echo "$stamp" > .ready
  fi
  cd "$d"
  # copy the CRDs out of the module cache (up.sh applies them)
  local y="$KSISS_CACHE/knative-crds-v$KNATIVE_VERSION"
  if [ ! -f "$y/.ready" ]; then
    rm -rf "$y"; mkdir -p "$y"
    local sd nd cad
    sd=$(go list -m -f '{{.Dir}}' knative.dev/serving); nd=$(go list -m -f '{{.Dir}}' knative.dev/networking)
    cad=$(go list -m -f '{{.Dir}}' knative.dev/caching)
    cp "$sd"/config/core/300-resources/*.yaml "$nd"/config/certificate.yaml "$nd"/config/ingress.yaml \
       "$nd"/config/serverlessservice.yaml "$nd"/config/domain-claim.yaml "$cad"/config/image.yaml "$y/"
    chmod u+w "$y"/*; touch "$y/.ready"
  fi
  cd "$d"
}
kn_bin() { # kn_bin NAME PKG [OWN_SOURCE]: own mains are cached by source hash too
  local n=$1 pkg=$2 v="v$KNATIVE_VERSION"
  [ -n "${3:-}" ] && v="$v-$(sha256sum "$3" | cut -c1-12)"
  local out="$BIN_DIR/$n-$v"
  if need "$n-$v"; then
    kn_mod
    log "building $n (knative serving v$KNATIVE_VERSION)"
    run "building $n" go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg"
    mv "$out.tmp" "$out"
  else log "cached: $n $v"; fi
  ln -sf "$n-$v" "$BIN_DIR/$n"
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

# ---- small own helper: inventory.yaml -> Node objects
inv_bin() {
  local sum; sum=$(cat "$HERE/inventory.go" | sha256sum | cut -c1-12)
  local out="$BIN_DIR/ksiss-inventory-$sum"
  if need "ksiss-inventory-$sum"; then
    local d="$KSISS_CACHE/src/inventory"; rm -rf "$d"; mkdir -p "$d"; cd "$d"
    go mod init local/inventory >/dev/null 2>&1; cp "$HERE/inventory.go" main.go
    log "building ksiss-inventory"
    run "resolving sigs.k8s.io/yaml" go get sigs.k8s.io/yaml@v1.6.0
    run "building ksiss-inventory" go build -trimpath -ldflags "-s -w" -o "$out.tmp" .
    mv "$out.tmp" "$out"
  fi
  ln -sf "ksiss-inventory-$sum" "$BIN_DIR/ksiss-inventory"
}

log "Go: $(go version); cache: $KSISS_CACHE"
only=${ONLY:-all}
want() { [ "$only" = all ] || [[ " $only " == *" $1 "* ]]; }
want nsfwd && fwd_bin
want ksiss-inventory && inv_bin
want etcd && etcd_bin
want kube-apiserver && kube_bin kube-apiserver
want kube-controller-manager && kube_bin kube-controller-manager
want kube-scheduler && kube_bin kube-scheduler
want kubectl && kube_bin kubectl
want kwok && kwok_bin
want knative-controller && kn_bin knative-controller ./controller "$HERE/knative-controller.go"
want knative-autoscaler && kn_bin knative-autoscaler knative.dev/serving/cmd/autoscaler
want ksiss-statpusher && kn_bin ksiss-statpusher ./statpusher "$HERE/knative-statpusher.go"
if want knative-controller || want knative-autoscaler; then kn_mod; fi
log "all binaries ready in $BIN_DIR (total $(el))"
