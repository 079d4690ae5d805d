# mk/docs.mk: `make check-docs` (tests/check_docs.sh, part of `make test`):
# every reason code and every environment variable of the code is named in
# the docs, and a suite that needs root is said to; no build needed.
.PHONY: check-docs

check-docs:
	@tests/check_docs.sh

TEST_TARGETS += check-docs
