# tsan.mk: `make unit-tsan` (part of `make test`): every unit test again
# under ThreadSanitizer, in build/tsan. The worker pool, the leader, the
# informers and both HTTP clients share stop flags, caches and handles
# between threads; a data race fails the suite (TSan exits 66).
TSAN_OPT  := -O1 -g -fsanitize=thread
TSAN_MAKE := $(MAKE) --no-print-directory BUILD=build/tsan OPT="$(TSAN_OPT)" LDFLAGS=-fsanitize=thread
.PHONY: unit-tsan
unit-tsan:
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" $(TSAN_MAKE) unit
TEST_TARGETS += unit-tsan
