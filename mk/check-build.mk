# check-build.mk: `make check-build` (part of `make test`): the build rules a
# user meets (flags kept, archive made anew, loud pkg-config errors, no
# install beside a compile), checked on a copy of the tree.
.PHONY: check-build
check-build:
	@tests/check_build.sh
TEST_TARGETS += check-build
