# `ksiss simulate` (docs/simulator.md): the speed benchmark, the
# evaluation suite (`make sim-suite`) and its scoreboard, the older quality
# report over the bundled trace and three shapes, and the trace tool those
# use (generator, jitter, thinning).
.PHONY: bench-sim sim-quality sim-traces sim-suite

SIM_GEN    := $(BUILD)/sim-trace
SIM_BOARD  := $(BUILD)/sim-scoreboard
SIM_SHAPES := ramp burst step
SIM_TRACES := $(SIM_SHAPES:%=$(BUILD)/sim/%.jsonl)
SIM_ARGS   := --config examples/sim/config.yaml --cluster examples/sim/cluster.yaml --profile examples/sim/model.yaml

$(SIM_GEN): tests/sim/sim_trace.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -lm

$(SIM_BOARD): $(BUILD)/tests/sim/scoreboard.o $(BUILD)/libksiss.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sim/%.jsonl: $(SIM_GEN)
	@mkdir -p $(dir $@)
	$(SIM_GEN) gen $* 42 > $@

# The evaluation suite (tests/sim/suite.cases): every policy on each case,
# then the scoreboard in $(BUILD)/sim-suite/. A report, not a gate; about a
# minute on one core, so not part of `make test` (the rules themselves are
# unit-tested in tests/unit/test_sim_score.c).
sim-suite: $(BUILD)/ksiss $(SIM_GEN) $(SIM_BOARD)
	@KSISS=$(BUILD)/ksiss SIM_TRACE=$(SIM_GEN) SIM_SCOREBOARD=$(SIM_BOARD) scripts/sim-suite.sh $(BUILD)/sim-suite

sim-traces: $(SIM_TRACES)

# Speed target: the hour-long Azure trace (~19k requests), all policies,
# under 10 s on one core.
bench-sim: $(BUILD)/ksiss
	@start=$$(date +%s.%N); \
	$(BUILD)/ksiss simulate --trace examples/sim/azure-llm-2023-conv.csv $(SIM_ARGS) --policy all >/dev/null || exit 1; \
	end=$$(date +%s.%N); \
	secs=$$(echo "$$end - $$start" | bc -l 2>/dev/null || awk "BEGIN{print $$end - $$start}"); \
	printf 'bench-sim: azure trace, all 5 policies: %.2f s (target < 10 s)\n' "$$secs"; \
	awk "BEGIN{exit !($$secs < 10)}" || { echo "bench-sim: over the 10 s target"; exit 1; }

# Quality report: every policy on the bundled trace and each synthetic shape,
# then `ksiss` against the issue's targets (a report, not a gate: see
# docs/simulator.md "Results" for why some are not met).
SIM_TARGET_SLO  := 99
SIM_TARGET_COST := 1.5
sim-quality: $(BUILD)/ksiss $(SIM_TRACES)
	@for t in examples/sim/azure-llm-2023-conv.csv $(SIM_TRACES); do \
	  echo "== $$t"; $(BUILD)/ksiss simulate --trace $$t $(SIM_ARGS) --policy all > $(BUILD)/sim/quality.out || exit 1; \
	  cat $(BUILD)/sim/quality.out; \
	  awk -v slo=$(SIM_TARGET_SLO) -v cost=$(SIM_TARGET_COST) ' \
	    $$1 == "ksiss" { ks = $$2 + 0; kc = $$3 + 0; kr = $$4 + 0 } \
	    $$1 == "seed" { ss = $$2 + 0; sc = $$3 + 0 } \
	    END { printf "targets: SLO met %.2f%% (>= %s%%: %s), cost %.2fx the oracle (<= %sx: %s), beats seed on both: %s\n", \
	      ks, slo, ((ks >= slo) ? "met" : "NOT met"), kr, cost, ((kr <= cost) ? "met" : "NOT met"), \
	      ((ks > ss && kc < sc) ? "yes" : "NO") }' $(BUILD)/sim/quality.out; \
	  echo; done

BENCH_TARGETS += bench-sim
