# mk/bench.mk: the scale benchmark (issue 8, docs/bench.md): `ksiss run`
# against the local control plane with BENCH_SERVICES Knative Services
# (default "1000 10000") and a real Prometheus; CPU per tick, RSS, API
# requests and Prometheus queries per tick, decision latency, against the
# target (10,000 services per 10 s tick, < 10% of one core, < 64 MB RSS).
# Brings its own cluster instance up and down (KSISS_NETNS,
# KSISS_APISERVER_PORT, KSISS_CLUSTER_DIR as for make cluster-up); needs
# root and `make cluster-build` done. A benchmark: it reports PASS/MISS and
# fails only when the harness itself fails.
.PHONY: bench-scale

BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_OBJ := $(BENCH_SRC:%.c=$(BUILD)/%.o)

$(BUILD)/tests/ksiss-bench: $(BENCH_OBJ) $(BUILD)/tests/integration/serve_port.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

EXTRA_BINS += $(BUILD)/tests/ksiss-bench

bench-scale: $(BUILD)/ksiss $(BUILD)/tests/ksiss-bench $(BUILD)/tests/prom_tool
	@BUILD=$(BUILD) scripts/bench-scale.sh $(BENCH_SERVICES)

BENCH_TARGETS += bench-scale
