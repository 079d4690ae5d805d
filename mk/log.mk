# mk/log.mk: the log checker (tests/logfmt_check.c): every line that
# `ksiss run` writes must be a valid log line (src/shell/log.h); the
# end-to-end suites run it on the autoscaler's logs at their end, and the
# unit tests (test_log.c) check the writer and the reader against each other.
LOGFMT_CHECK := $(BUILD)/tests/logfmt_check
EXTRA_BINS += $(LOGFMT_CHECK)

$(LOGFMT_CHECK): $(BUILD)/tests/logfmt_check.o $(BUILD)/tests/unit/support/logfmt.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
