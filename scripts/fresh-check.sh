#!/usr/bin/env bash
# `make fresh-check`: a newcomer's first commands on a bare Debian 12. Builds
# (once, cached under ~/.cache/ksiss-fresh) a minimal bookworm root file
# system with debootstrap plus git and make only; then, in a new copy of it,
# as root in a chroot: git clone of this repository's HEAD, `make demo`,
# then `make unit` and `make unit-asan` (make test's unit suites), or the
# goals FRESH_GOALS names (FRESH_GOALS=test: the whole make test). Each must
# succeed on the first try: the packages they need are installed by the
# Makefile itself. Needs root (debootstrap, chroot, mounts) and Debian's
# package mirror (the one this machine's apt uses).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-check: needs root (debootstrap, chroot); run it as root" >&2
    exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
    echo "fresh-check: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }
fi

# The mirror this machine's apt uses (deb822 or one-line sources).
mirror=${FRESH_MIRROR:-}
# FRESH_GOALS: what runs after `make demo` (default the unit suites;
# FRESH_GOALS=test runs the whole `make test` on the fresh system).
goals=${FRESH_GOALS:-unit unit-asan}
case $goals in
    *[!a-z0-9\ -]*|'') echo "fresh-check: FRESH_GOALS \"$goals\": make goals separated by spaces (e.g. \"unit unit-asan\" or \"test\")" >&2; exit 2 ;;
esac
if [ -z "$mirror" ]; then
    mirror=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\{0,1\}$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 ~ /\/debian\/?$/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/ksiss-fresh
base=$cache/bookworm-minbase-git-make.tar
mkdir -p "$cache"
if [ ! -s "$base" ]; then
    echo "fresh-check: debootstrap bookworm (minbase) from $mirror, then git and make (cached in $base)"
    tmp=$(mktemp -d "$cache/base.XXXXXX")
    debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" > "$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log" >&2; rm -rf "$tmp"; echo "fresh-check: FAIL debootstrap (log above)" >&2; exit 1; }
    cp /etc/resolv.conf "$tmp/root/etc/resolv.conf"
    chroot "$tmp/root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends git make ca-certificates >/dev/null && apt-get clean'
    tar -C "$tmp/root" -cf "$base.part" . && mv "$base.part" "$base"
    rm -rf "$tmp"
fi

root=$(mktemp -d /tmp/ksiss-fresh.XXXXXX)
cleanup() {
    for m in "$root/dev/pts" "$root/dev" "$root/proc"; do
        mountpoint -q "$m" 2>/dev/null && umount -l "$m"
    done
    rm -rf --one-file-system "$root"
}
trap cleanup EXIT
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
# The repository as committed (HEAD), as a bare copy the chroot clones from
# (a checkout may be a git worktree whose .git points outside the chroot).
git clone -q --bare "$repo" "$root/srv/ksiss.git"

# What the fresh system has before the first command: no compiler, no
# pkg-config, no -dev package (the check would prove nothing otherwise).
for tool in cc pkg-config; do
    if chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "command -v $tool" >/dev/null; then
        echo "fresh-check: FAIL the base already has $tool; it is not a fresh machine" >&2
        exit 1
    fi
done

log=build/fresh-check.log
mkdir -p build
echo "fresh-check: in a chroot on $root: git clone, make demo, then make $goals (log: $log)"
rev=$(git rev-parse --short HEAD)
set +e
chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 TERM=dumb \
    GOALS="$goals" bash -c 'set -e
git clone -q /srv/ksiss.git /root/ksiss
cd /root/ksiss
echo "== fresh clone at $(git rev-parse --short HEAD)"
echo "== make demo"
make demo
for g in $GOALS; do
    echo "== make $g"
    make "$g"
done
echo "== fresh-check: done"' > "$log" 2>&1
rc=$?
set -e
if [ $rc -ne 0 ]; then
    tail -40 "$log" >&2
    echo "fresh-check: FAIL at $rev: a first command failed on a fresh bookworm (exit $rc; the whole log: $log)" >&2
    exit 1
fi
grep -q '^== fresh-check: done$' "$log" || { echo "fresh-check: FAIL the chroot's script did not finish" >&2; exit 1; }
# The demo really ran (its table) and the unit suites really ran tests.
grep -q '^ksiss ' "$log" || { echo "fresh-check: FAIL make demo printed no ksiss row" >&2; exit 1; }
tests=$(grep -c '^\[  PASSED  \]' "$log" || true)
failed=$(grep -c '^\[  FAILED  \]' "$log" || true)
if [ "$tests" -eq 0 ] || [ "$failed" -ne 0 ]; then
    echo "fresh-check: FAIL unit suites: $tests passed groups, $failed failed" >&2
    exit 1
fi
echo "fresh-check: PASS at $rev: on a bare bookworm with git and make, the first make demo and make $goals succeeded ($tests cmocka groups passed, none failed)"
