#!/usr/bin/env bash
# image-build-steps.sh: runs the Dockerfile's build steps as a script on this
# Debian 12 machine (there is no Docker engine here or in CI) and checks the
# runtime stage: every library build/ksiss needs comes from the Dockerfile's
# RUNTIME_PACKAGES (or their dependencies, or the base image), and the binary
# runs `ksiss version` as the image's non-root user in a root that holds
# nothing but the binary and those libraries.
#
# Everything is read from the Dockerfile itself (base image, the build
# stage's COPY/RUN steps, RUNTIME_PACKAGES, USER, ENTRYPOINT, EXPOSE); the
# build packages come from scripts/deps.sh, which the Dockerfile runs. So
# the two cannot drift apart: a Dockerfile this script does not understand
# is refused.
#
# Usage: scripts/image-build-steps.sh [--in-place] [--keep] [--dockerfile F]
#        scripts/image-build-steps.sh --check-dockerfile [--dockerfile F]
#        scripts/image-build-steps.sh --print base-image|runtime-packages|build-packages|user|build-steps
#   (default)          copy the build context (minus .dockerignore) to a
#                      temporary directory, run the build stage's steps
#                      there, then check the result as the runtime stage
#   --in-place         build in this checkout instead (faster, not clean)
#   --keep             keep the temporary directory (its path is printed)
#   --check-dockerfile only parse the Dockerfile and check its structure
# Exit: 0 all good, 1 a check failed, 2 usage.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOCKERFILE="$ROOT/Dockerfile"
mode=run in_place=0 keep=0 what=""
while [ $# -gt 0 ]; do
  case "$1" in
    --in-place) in_place=1 ;;
    --keep) keep=1 ;;
    --check-dockerfile) mode=check ;;
    --print) mode=print; what=${2:-}; shift ;;
    --dockerfile) DOCKERFILE=${2:-}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "image-build-steps: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done

fail() { echo "image-build-steps: $*" >&2; exit 1; }
say() { echo "[image] $*"; }

# ---------------------------------------------------------------- parsing
# Fills: BASE_IMAGE, RUNTIME_PACKAGES, USER_SPEC, ENTRYPOINT_JSON, EXPOSE_PORTS,
# BUILD_STEPS (array of "COPY src dst" / "RUN cmd" / "WORKDIR dir" / "ENV k=v"
# lines of the build stage, in order), BUILD_WORKDIR, RUNTIME_RUNS,
# RUNTIME_COPIES, and ARG defaults in ARGS[name].
declare -A ARGS=()
BUILD_STEPS=() RUNTIME_RUNS=() RUNTIME_COPIES=()
RUNTIME_PACKAGES="" BASE_IMAGE="" BUILD_BASE="" USER_SPEC="" ENTRYPOINT_JSON="" EXPOSE_PORTS="" BUILD_WORKDIR="/"
problems=()
problem() { problems+=("$DOCKERFILE:$1: $2"); }

# expand STRING: ${NAME} / $NAME from ARGS (unknown names stay as written).
expand() {
  local s=$1 out="" name
  while [[ $s =~ ^([^\$]*)\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?(.*)$ ]]; do
    name=${BASH_REMATCH[2]}
    if [ -n "${ARGS[$name]+x}" ]; then out+="${BASH_REMATCH[1]}${ARGS[$name]}"
    else out+="${BASH_REMATCH[1]}\${$name}"; fi
    s=${BASH_REMATCH[3]}
  done
  printf '%s' "$out$s"
}

# unquote VALUE: strips one pair of surrounding double or single quotes.
unquote() {
  local v=$1
  if [[ $v =~ ^\"(.*)\"$ ]] || [[ $v =~ ^\'(.*)\'$ ]]; then v=${BASH_REMATCH[1]}; fi
  printf '%s' "$v"
}

parse_dockerfile() {
  [ -r "$DOCKERFILE" ] || fail "cannot read $DOCKERFILE"
  local lineno=0 line instr rest stage="" n_from=0 build_name=""
  while IFS= read -r line || [ -n "$line" ]; do
    lineno=$((lineno + 1))
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    if [[ $line =~ \\[[:space:]]*$ ]]; then
      problem $lineno "line continuations are not supported here: write one instruction per line"; continue
    fi
    instr=${line%%[[:space:]]*}; instr=${instr^^}
    rest=${line#*[[:space:]]}; [ "$rest" = "$line" ] && rest=""
    rest=$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$rest")
    case "$instr" in
      ARG)
        local k=${rest%%=*} v=""
        [[ $rest == *=* ]] && v=$(unquote "${rest#*=}")
        [[ $k =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { problem $lineno "ARG name '$k' is not a plain name"; continue; }
        ARGS[$k]=$v
        [ "$stage" = runtime ] && [ "$k" = RUNTIME_PACKAGES ] && RUNTIME_PACKAGES=$v
        ;;
      FROM)
        n_from=$((n_from + 1))
        local img=${rest%%[[:space:]]*} alias=""
        if [[ $rest =~ [[:space:]][Aa][Ss][[:space:]]+([A-Za-z0-9_.-]+)$ ]]; then alias=${BASH_REMATCH[1]}; fi
        img=$(expand "$img")
        if [ $n_from = 1 ]; then
          stage=build; build_name=$alias; BUILD_BASE=$img
          [ "$alias" = build ] || problem $lineno "the first stage must be named 'build' (FROM ... AS build)"
        elif [ $n_from = 2 ]; then
          stage=runtime; BASE_IMAGE=$img
          [ -z "$alias" ] || problem $lineno "the runtime stage is the last one and needs no name"
        else
          problem $lineno "exactly two stages expected (build, runtime)"
        fi
        ;;
      WORKDIR)
        [ "$stage" = build ] && { BUILD_WORKDIR=$rest; BUILD_STEPS+=("WORKDIR $rest"); }
        [ "$stage" = runtime ] && problem $lineno "the runtime stage needs no WORKDIR (nothing is written there)"
        ;;
      COPY)
        if [ "$stage" = build ]; then
          [[ $rest == --* ]] && problem $lineno "build-stage COPY takes no flags here"
          BUILD_STEPS+=("COPY $rest")
        elif [ "$stage" = runtime ]; then
          RUNTIME_COPIES+=("$rest")
        else problem $lineno "COPY before FROM"; fi
        ;;
      RUN)
        [ "$stage" = build ] && BUILD_STEPS+=("RUN $rest")
        [ "$stage" = runtime ] && RUNTIME_RUNS+=("$rest")
        [ -z "$stage" ] && problem $lineno "RUN before FROM"
        ;;
      ENV)
        [ "$stage" = build ] && BUILD_STEPS+=("ENV $rest")
        ;;
      USER) [ "$stage" = runtime ] && USER_SPEC=$rest ;;
      EXPOSE) [ "$stage" = runtime ] && EXPOSE_PORTS=$rest ;;
      ENTRYPOINT) [ "$stage" = runtime ] && ENTRYPOINT_JSON=$rest ;;
      LABEL) ;;
      *) problem $lineno "instruction $instr is not understood by scripts/image-build-steps.sh; keep to ARG FROM WORKDIR COPY RUN ENV USER EXPOSE ENTRYPOINT LABEL" ;;
    esac
  done <"$DOCKERFILE"
  [ $n_from = 2 ] || problem $lineno "expected a build stage and a runtime stage (2 FROM lines), found $n_from"
  [ "$BUILD_BASE" = "$BASE_IMAGE" ] || problem 0 "build stage ($BUILD_BASE) and runtime stage ($BASE_IMAGE) must use the same base image"
  [[ $BASE_IMAGE =~ ^debian:(12|bookworm)(-slim)?(@sha256:[0-9a-f]{64})?$ ]] \
    || problem 0 "the base image must be Debian 12 (debian:12-slim or debian:bookworm-slim), got '$BASE_IMAGE'"
}

check_dockerfile() {
  local s runs="" has_deps=0 has_make=0
  for s in "${BUILD_STEPS[@]}"; do
    case "$s" in
      "RUN scripts/deps.sh build"*) has_deps=1 ;;
      RUN\ *make*\ build*) has_make=1 ;;
    esac
  done
  [ $has_deps = 1 ] || problem 0 "the build stage must install its packages with 'RUN scripts/deps.sh build' (the one list of build packages)"
  [ $has_make = 1 ] || problem 0 "the build stage must run 'make ... build'"
  [ -n "$RUNTIME_PACKAGES" ] || problem 0 "the runtime stage must declare ARG RUNTIME_PACKAGES=\"...\" (the one list of runtime packages)"
  [ ${#RUNTIME_RUNS[@]} = 1 ] || problem 0 "the runtime stage must have exactly one RUN (installing \${RUNTIME_PACKAGES}), found ${#RUNTIME_RUNS[@]}"
  if [ ${#RUNTIME_RUNS[@]} -ge 1 ]; then
    runs=${RUNTIME_RUNS[0]}
    # the only thing apt-get installs is ${RUNTIME_PACKAGES}
    local inst=${runs#*apt-get install}
    if [ "$inst" = "$runs" ]; then problem 0 "the runtime RUN must 'apt-get install ... \${RUNTIME_PACKAGES}'"
    else
      inst=${inst%%&&*}
      local w extra=""
      for w in $inst; do
        case "$w" in -*|'${RUNTIME_PACKAGES}') ;; *) extra="$extra $w" ;; esac
      done
      [ -z "$extra" ] || problem 0 "the runtime RUN installs packages outside RUNTIME_PACKAGES:$extra (add them to the ARG instead)"
      [[ $runs == *'${RUNTIME_PACKAGES}'* ]] || problem 0 "the runtime RUN must install \${RUNTIME_PACKAGES}"
    fi
    [[ $runs == *"rm -rf /var/lib/apt/lists/*"* ]] || problem 0 "the runtime RUN must remove /var/lib/apt/lists/* (smaller image)"
  fi
  [ ${#RUNTIME_COPIES[@]} = 1 ] && [ "${RUNTIME_COPIES[0]}" = "--from=build /src/build/ksiss /usr/local/bin/ksiss" ] \
    || problem 0 "the runtime stage must copy only the binary: 'COPY --from=build /src/build/ksiss /usr/local/bin/ksiss'"
  [ "$BUILD_WORKDIR" = /src ] || problem 0 "the build stage's WORKDIR must be /src (the runtime COPY reads /src/build/ksiss)"
  if [[ $USER_SPEC =~ ^([0-9]+)(:([0-9]+))?$ ]]; then
    [ "${BASH_REMATCH[1]}" != 0 ] && [ "${BASH_REMATCH[3]:-1}" != 0 ] || problem 0 "USER must not be root (0)"
  else
    problem 0 "the runtime stage needs a numeric non-root USER (uid:gid, e.g. 65532:65532), got '${USER_SPEC:-none}'"
  fi
  [ "$(tr -d ' ' <<<"$ENTRYPOINT_JSON")" = '["/usr/local/bin/ksiss","run"]' ] \
    || problem 0 "ENTRYPOINT must be [\"/usr/local/bin/ksiss\", \"run\"], got '${ENTRYPOINT_JSON:-none}'"
  [[ " $EXPOSE_PORTS " == *" 8080 "* || " $EXPOSE_PORTS " == *" 8080/tcp "* ]] || problem 0 "EXPOSE 8080 missing (the /metrics, /healthz and /readyz port)"
}

report_problems() {
  if [ ${#problems[@]} -gt 0 ]; then
    printf 'image-build-steps: %s\n' "${problems[@]}" >&2
    exit 1
  fi
}

build_packages() {
  sed -n 's/^build_pkgs="\(.*\)"$/\1/p' "$ROOT/scripts/deps.sh"
}

parse_dockerfile
check_dockerfile

if [ $mode = print ]; then
  report_problems
  case "$what" in
    base-image) echo "$BASE_IMAGE" ;;
    runtime-packages) echo "$RUNTIME_PACKAGES" ;;
    build-packages) build_packages ;;
    user) echo "$USER_SPEC" ;;
    build-steps) printf '%s\n' "${BUILD_STEPS[@]}" ;;
    *) echo "image-build-steps: --print base-image|runtime-packages|build-packages|user|build-steps" >&2; exit 2 ;;
  esac
  exit 0
fi
if [ $mode = check ]; then
  report_problems
  say "Dockerfile ok: base $BASE_IMAGE, runtime packages: $RUNTIME_PACKAGES, user $USER_SPEC"
  exit 0
fi
report_problems

# ---------------------------------------------------------------- build
. /etc/os-release 2>/dev/null || true
if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
  fail "this machine is ${PRETTY_NAME:-unknown}, the image is $BASE_IMAGE: run this on Debian 12"
fi
[ "$(id -u)" = 0 ] || fail "run as root: it installs missing packages (scripts/deps.sh) and uses chroot to run the binary as user $USER_SPEC"

GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
ARGS[GIT_REV]=$GIT_REV
work=$(mktemp -d /tmp/ksiss-image.XXXXXX)
cleanup() { if [ $keep = 1 ]; then say "kept $work"; else rm -rf "$work"; fi; }
trap cleanup EXIT

if [ $in_place = 1 ]; then ctxdir=$ROOT; else ctxdir=$work/context; fi
# copy_context SRC DST: copies SRC (relative to the build context) to DST,
# leaving out what .dockerignore names.
copy_context() {
  local src=$1 dst=$2 excl=() p
  if [ -r "$ROOT/.dockerignore" ]; then
    while IFS= read -r p; do
      p=$(sed 's/#.*//; s/^[[:space:]]*//; s/[[:space:]]*$//' <<<"$p")
      [ -z "$p" ] && continue
      if [[ $p == '**/'* ]]; then excl+=(--no-anchored "--exclude=${p#\*\*/}")
      else excl+=(--anchored "--exclude=./$p"); fi
    done <"$ROOT/.dockerignore"
  fi
  if [ "$src" = . ]; then
    mkdir -p "$dst"
    tar -C "$ROOT" "${excl[@]}" -cf - . | tar -C "$dst" -xf -
  else
    mkdir -p "$(dirname "$dst")"
    cp -a "$ROOT/$src" "$dst"
  fi
}

wd=$ctxdir
for s in "${BUILD_STEPS[@]}"; do
  instr=${s%% *} rest=${s#* }
  case "$instr" in
    WORKDIR) mkdir -p "$wd"; say "WORKDIR $rest -> $wd" ;;
    ENV) export "$(expand "$rest")" ;;
    COPY)
      read -r src dst <<<"$rest"
      say "COPY $src $dst"
      [ $in_place = 1 ] && continue
      if [ "$src" = . ]; then copy_context . "$wd"
      else [[ $dst == /* ]] && fail "absolute COPY destination $dst is not supported"; copy_context "$src" "$wd/$dst"; fi
      ;;
    RUN)
      cmd=$(expand "$rest")
      say "RUN $cmd"
      # ARG values are in the environment of RUN, as with docker build
      # and, as in a container, nothing else of this environment (an outer
      # make would leak BUILD=..., MAKEFLAGS)
      envv=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root)
      for k in "${!ARGS[@]}"; do envv+=("$k=${ARGS[$k]}"); done
      (cd "$wd" && env -i "${envv[@]}" sh -ec "$cmd") \
        || fail "build step failed: RUN $cmd"
      ;;
  esac
done
BIN=$wd/build/ksiss
[ -x "$BIN" ] || fail "the build stage did not produce build/ksiss (the runtime stage copies /src/build/ksiss)"

# ---------------------------------------------------------------- runtime
# Runtime packages must be known to dpkg here (the image installs them).
missing=""
for p in $RUNTIME_PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] || fail "runtime packages not installed on this machine:$missing (apt-get install -y$missing; is the name right for Debian 12?)"

# allowed = RUNTIME_PACKAGES + everything they depend on + the base image's
# required packages (libc6 and friends are in debian:12-slim already).
declare -A allowed=()
queue=()
for p in $RUNTIME_PACKAGES; do queue+=("$p"); done
while read -r p prio; do [ "$prio" = required ] && queue+=("$p"); done \
  < <(dpkg-query -W -f='${Package} ${Priority}\n' 2>/dev/null)
while [ ${#queue[@]} -gt 0 ]; do
  p=${queue[0]}; queue=("${queue[@]:1}")
  p=${p%%:*}
  [ -n "${allowed[$p]+x}" ] && continue
  allowed[$p]=1
  deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' "$p" 2>/dev/null || true)
  IFS=',' read -ra alts <<<"$deps"
  for alt in "${alts[@]}"; do
    # "a (>= 1) | b": every installed alternative may be the one in the image
    IFS='|' read -ra choices <<<"$alt"
    for c in "${choices[@]}"; do
      c=$(sed 's/([^)]*)//g; s/\[[^]]*\]//g; s/[[:space:]]//g' <<<"$c"); c=${c%%:*}
      [ -n "$c" ] && dpkg-query -W "$c" >/dev/null 2>&1 && queue+=("$c")
    done
  done
done

# owner FILE: the Debian package that ships FILE (merged /usr aware).
owner() {
  local f=$1 alt real o
  real=$(readlink -f "$f")
  for alt in "$f" "$real" "/usr${f#/usr}" "${f#/usr}" "/usr${real#/usr}" "${real#/usr}"; do
    o=$(dpkg-query -S "$alt" 2>/dev/null | head -1 | cut -d: -f1) && [ -n "$o" ] && { echo "$o"; return 0; }
  done
  return 1
}

ldd_out=$(ldd "$BIN") || fail "ldd $BIN failed"
if grep -q "not found" <<<"$ldd_out"; then fail "build/ksiss needs libraries that are not installed:"$'\n'"$(grep 'not found' <<<"$ldd_out")"; fi
libs=$(awk '/=>/ { if ($3 ~ /^\//) print $3 } !/=>/ { if ($1 ~ /^\//) print $1 }' <<<"$ldd_out")
[ -n "$libs" ] || fail "ldd lists no libraries for $BIN (a static binary is not what the Dockerfile expects)"
bad=""
n=0
for lib in $libs; do
  n=$((n + 1))
  pkg=$(owner "$lib") || { bad="$bad"$'\n'"  $lib: no Debian package ships it"; continue; }
  [ -n "${allowed[$pkg]+x}" ] || bad="$bad"$'\n'"  $lib (package $pkg): not in RUNTIME_PACKAGES=\"$RUNTIME_PACKAGES\" nor their dependencies"
done
[ -z "$bad" ] || fail "libraries the runtime stage would lack:$bad"$'\n'"add the package to ARG RUNTIME_PACKAGES in the Dockerfile"
say "ldd: all $n libraries come from RUNTIME_PACKAGES, their dependencies or the base image"

# Run the binary as the image's user in a root holding only it and its
# libraries, read-only for that user (as with readOnlyRootFilesystem).
root=$work/rootfs
mkdir -p "$root/usr/local/bin" "$root/tmp"
chmod 1777 "$root/tmp"
cp "$BIN" "$root/usr/local/bin/ksiss"
for lib in $libs; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
uid=${USER_SPEC%%:*} gid=${USER_SPEC#*:}
[ "$gid" = "$USER_SPEC" ] && gid=$uid
out=$(chroot --userspec="$uid:$gid" "$root" /usr/local/bin/ksiss version 2>&1) \
  || fail "'ksiss version' failed as user $uid:$gid with only the runtime libraries: $out"
want=$(cat "$ROOT/VERSION" 2>/dev/null || echo "")
[[ $out == *"$want"* ]] || fail "'ksiss version' printed '$out', expected the version $want"
say "ksiss version as $uid:$gid in a bare root: $out"
say "ok: the image's build steps ran and the runtime stage is complete"
