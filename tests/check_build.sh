#!/usr/bin/env bash
# check_build.sh: `make check-build` (part of `make test`): the build rules a
# user meets, checked on a copy of the tree (issue 15 §1). A user's CFLAGS
# add to the project's flags (-Werror, -std stay), the archive loses the
# object of a deleted source, a package pkg-config does not know is named,
# and `make -n` of demo/unit/test plans no apt-get beside a compile (the
# install runs while make reads the Makefile). The first run on a bare
# Debian 12 is `make fresh-check`'s (root, debootstrap).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
. tests/lib/suite.sh
suite_init check-build ksiss-check-build

# A copy of the sources only (not build/): its own build directory.
src=$TMP/tree
mkdir -p "$src"
tar -C "$ROOT" --exclude=./build --exclude=./.git -cf - . | tar -C "$src" -xf -
mk() { make -C "$src" --no-print-directory KSISS_SKIP_DEPS=1 "$@"; }

# 1. make CFLAGS=-O0: the user's flag is there, after the project's own.
line=$(mk -n -B CFLAGS=-O0 build/src/core/util.o | grep -- ' -c src/core/util.c')
case "$line" in
  *-std=c11*-Werror*-O0*) ok "make CFLAGS=-O0 keeps -std=c11 and -Werror and adds -O0 after them" ;;
  *) ko "make CFLAGS=-O0" "compile line: $line" ;;
esac
if mk -j2 CFLAGS=-O0 build/libksiss.a >"$TMP/o0.log" 2>&1; then ok "make CFLAGS=-O0 builds the library"
else ko "make CFLAGS=-O0 builds the library" "$(tail -5 "$TMP/o0.log")"; fi
line=$(mk -n -B LDLIBS=-lrt build/ksiss | grep -- '-o build/ksiss')
case "$line" in
  *-ljansson*-lcurl*-lrt*) ok "make LDLIBS=-lrt keeps the project's libraries" ;;
  *) ko "make LDLIBS=-lrt" "link line: $line" ;;
esac

# 2. A deleted source's object leaves libksiss.a.
cat > "$src/src/core/zz_deleted_probe.c" <<'C'
/* zz_deleted_probe.c: a source that check_build.sh adds, then deletes. */
int ksiss_zz_deleted_probe(void);
int ksiss_zz_deleted_probe(void) { return 1; }
C
mk -j2 CFLAGS=-O0 build/libksiss.a >"$TMP/add.log" 2>&1
if ar t "$src/build/libksiss.a" | grep -qx zz_deleted_probe.o; then ok "a new source's object is in libksiss.a"
else ko "a new source's object is in libksiss.a" "$(tail -3 "$TMP/add.log")"; fi
rm "$src/src/core/zz_deleted_probe.c"
mk -j2 CFLAGS=-O0 build/libksiss.a >"$TMP/del.log" 2>&1
if ar t "$src/build/libksiss.a" | grep -qx zz_deleted_probe.o; then ko "a deleted source's object leaves libksiss.a" "still listed by ar t"
else ok "a deleted source's object leaves libksiss.a"; fi

# 3. pkg-config's failure names the package.
out=$(mk PKGS="yaml-0.1 ksiss-no-such-package jansson" build/ksiss 2>&1)
case "$out" in
  *"pkg-config does not know: ksiss-no-such-package"*) ok "an unknown package is a loud error naming it" ;;
  *) ko "an unknown package is a loud error naming it" "$out" ;;
esac

# 4. No recipe installs packages: the install happens while make reads the
# Makefile (so never beside a compile under -j), and demo asks for the
# build's packages only.
for goal in demo unit test; do
  if mk -n "$goal" 2>/dev/null | grep -E 'deps\.sh|apt-get' >/dev/null; then
    ko "make -n $goal plans no package install in a recipe"
  else ok "make -n $goal plans no package install in a recipe"; fi
done
level() { make -C "$src" --no-print-directory KSISS_SKIP_DEPS=1 -n -p "$@" 2>/dev/null | sed -n 's/^DEPS_LEVEL := //p' | head -1; }
check "make demo installs the build's packages only" test "$(level demo)" = build
check "make unit installs the unit tests' packages" test "$(level unit)" = unit
check "make test installs every package" test "$(level test)" = all
check "make clean installs nothing" test "$(level clean)" = none

finish
