/* policy_baselines.h: baseline decision policies the simulator compares
 * `ksiss` against, in the same interface as every policy (policy.h), so
 * they can also be selected per service and run by the controller:
 *  - `seed`: the original K-SISS DecideScale, faithfully (its defects too);
 *  - `horizontal`: replicas only on the current tier, like Knative's KPA.
 * Both are pure. Each fills *out (out->reason is owned by the caller, free
 * with ksiss_decision_clear) and returns 0; -1 only for a NULL argument. */
#ifndef KSISS_POLICY_BASELINES_H
#define KSISS_POLICY_BASELINES_H

#include "core/policy.h"

/* The original's rule on ONE metric: the first in config order (the
 * original took one at random from a Go map; the first is the
 * deterministic equivalent). Always lower-is-better (the original ignored
 * direction). value > slo*scaleUpFactor: up one tier of the service's
 * ladder; value < slo*scaleDownFactor, or missing/NaN: down one tier (the
 * defect COMPATIBILITY.md lists: an idle service walks down a tier per
 * tick). One step per tick, no cooldown, no GPU check, replicas unchanged. */
int ksiss_policy_seed_decide(const ksiss_policy_input *in, ksiss_decision *out);

/* Knative KPA on the current tier: the demand (the larger of load / perGpu
 * / targetUtilization, when the service has a load signal, and the current
 * capacity times the worst pressure: served load saturates at capacity,
 * while KPA's concurrency also counts queued requests), averaged over a 60 s stable window
 * and a 6 s panic window of the history (recos[].capacity holds the demand
 * of each tick, in GPU equivalents). Panic when the panic window asks for
 * at least twice the ready capacity: scale up at once, never down while a
 * panic seen in the last 60 s lasts. Scale-down at most halves per tick
 * (KPA's max-scale-down-rate 2). Bounds: minReplicas..maxReplicas. Fits
 * free GPUs. Missing data: hold. */
int ksiss_policy_horizontal_decide(const ksiss_policy_input *in, ksiss_decision *out);

#define KSISS_KPA_STABLE_WINDOW_MS 60000
#define KSISS_KPA_PANIC_WINDOW_MS 6000
#define KSISS_KPA_PANIC_THRESHOLD 2.0
#define KSISS_KPA_MAX_SCALE_DOWN_RATE 2.0

#endif
