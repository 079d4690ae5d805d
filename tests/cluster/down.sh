#!/usr/bin/env bash
# Stops the local control plane started by up.sh; leaves no process behind.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
D=$KSISS_CLUSTER_DIR
ours() { # ours PID: alive and one of ours (a stale pid file must not hit an unrelated process)
  kill -0 "$1" 2>/dev/null && tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null | grep -qE "$BIN_DIR|$HERE"
}
# TERM every process group (each was started with setsid) at once, in
# reverse dependency order, give them 10 s, then KILL what is left.
pids=""
for n in kingress-patcher ksiss-statpusher knative-autoscaler knative-controller kwok kube-scheduler kube-controller-manager nsfwd kube-apiserver etcd; do
  f="$D/pids/$n.pid"
  [ -f "$f" ] || continue
  p=$(cat "$f"); rm -f "$f"
  ours "$p" || continue
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  pids="$pids $p"
done
for i in $(seq 20); do
  alive=""; for p in $pids; do ours "$p" && alive="$alive $p"; done
  [ -z "$alive" ] && break
  sleep 0.5
done
for p in $alive; do kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; done
# anything still inside the namespace is ours
if ip netns list 2>/dev/null | grep -qw "$KSISS_NETNS"; then
  for p in $(ip netns pids "$KSISS_NETNS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  sleep 0.3
  ip netns del "$KSISS_NETNS" 2>/dev/null
fi
rm -rf "/etc/netns/$KSISS_NETNS"
echo "[down] control plane stopped (netns $KSISS_NETNS removed; logs kept in $D/logs)"
