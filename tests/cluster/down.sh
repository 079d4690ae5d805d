#!/usr/bin/env bash
# Stops the local control plane started by up.sh; leaves no process behind.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/common.sh"
D=$KSISS_CLUSTER_DIR
stop_pid() { # stop_pid PID: TERM, then KILL after 10 s
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  # a stale pid file must not hit an unrelated process that got the same pid
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -qE "$BIN_DIR|$HERE" || return 0
  kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
  for i in $(seq 20); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; sleep 0.2
}
# stop in reverse dependency order; etcd last
for n in kingress-patcher ksiss-statpusher knative-autoscaler knative-controller kwok kube-scheduler kube-controller-manager nsfwd kube-apiserver etcd; do
  f="$D/pids/$n.pid"
  [ -f "$f" ] || continue
  p=$(cat "$f")
  stop_pid "$p"
  rm -f "$f"
done
# anything still inside the namespace is ours
if ip netns list 2>/dev/null | grep -qw "$KSISS_NETNS"; then
  for p in $(ip netns pids "$KSISS_NETNS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  sleep 0.3
  ip netns del "$KSISS_NETNS" 2>/dev/null
fi
rm -rf "/etc/netns/$KSISS_NETNS"
echo "[down] control plane stopped (netns $KSISS_NETNS removed; logs kept in $D/logs)"
