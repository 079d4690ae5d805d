/* sim_model.h: the serving model of `ksiss simulate` (docs/simulator.md):
 * one instance of an LLM server on a GPU tier, with continuous batching,
 * prefill-first scheduling, a KV-cache budget and a FIFO queue, advanced
 * event by event. Pure: no I/O, no clock; time is a double in seconds
 * handed in by the caller. Deterministic. */
#ifndef KSISS_SIM_MODEL_H
#define KSISS_SIM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/tiers.h"

/* Full-GPU profile of one model on one GPU model (examples/sim/model.yaml). */
typedef struct {
    char *name;                 /* owned; for reports */
    double prefill_tps;         /* prompt tokens/s one whole GPU processes */
    double decode_tps;          /* generated tokens/s, all sequences together, at max_batch */
    double decode_step_ms;      /* one decode step at batch 1 on a whole GPU (= the best TPOT) */
    double weights_gib;         /* model weights */
    double kv_bytes_per_token;  /* KV cache per token (all layers, K and V) */
    int max_batch;              /* sequences in one batch at most (vLLM max_num_seqs) */
    double gpu_mem_util;        /* share of the tier's memory the server may use (vLLM: 0.9) */
} ksiss_sim_profile;

/* Checks the profile's numbers (positive, finite, coherent: the step time
 * at max_batch must not be below the step time at batch 1). Problems go to
 * *d naming the field; returns 0 or -1. */
int ksiss_sim_profile_check(const ksiss_sim_profile *p, const char *file, ksiss_diags *d);
void ksiss_sim_profile_free(ksiss_sim_profile *p);

/* Per-request outcome, filled by the instances. Times in seconds from the
 * trace's start; NAN until they happen. */
typedef struct {
    double arrival;
    int32_t in_tokens;
    int32_t out_tokens;
    double admitted;            /* prefill started (left the queue) */
    double first_token;         /* prefill done: TTFT = first_token - arrival */
    double finished;            /* last token: e2e = finished - arrival */
    bool rejected;              /* longer than any KV cache it met: never served */
} ksiss_sim_req;

/* Listener for what Prometheus would see: called as things happen. */
typedef struct {
    void *ctx;
    void (*admitted)(void *ctx, const ksiss_sim_req *r, size_t idx);
    void (*first_token)(void *ctx, const ksiss_sim_req *r, size_t idx);
    void (*finished)(void *ctx, const ksiss_sim_req *r, size_t idx);
    void (*rejected)(void *ctx, const ksiss_sim_req *r, size_t idx);
} ksiss_sim_listener;

typedef struct {
    double finish_offset;       /* instance decode offset at which it is done */
    size_t req;
} ksiss_sim_seq;

/* One serving instance. Owned arrays; use the functions below. */
typedef struct {
    double prefill_tps;         /* this tier's prompt tokens/s */
    double step_base_s;         /* decode step time at batch 1 */
    double step_per_seq_s;      /* added per further sequence in the batch */
    double kv_cap_tokens;       /* KV-cache budget in tokens (<= 0: the model does not fit) */
    int max_batch;

    double clock;               /* the instance has simulated up to here */
    double offset;              /* tokens decoded per running sequence since start */
    double kv_used;             /* tokens reserved by running sequences */
    size_t *queue;              /* waiting requests (indexes), FIFO from qhead */
    size_t qhead, qlen, qcap;
    ksiss_sim_seq *run;         /* running sequences: min-heap on finish_offset */
    size_t nrun, runcap;

    double gen_tokens;          /* counters (vLLM's generation_tokens_total, prompt_tokens_total) */
    double prompt_tokens;
    double busy_s;              /* time spent prefilling or decoding */
} ksiss_sim_instance;

/* Sets up an idle instance of `p` on `tier` at time `now`. */
void ksiss_sim_instance_init(ksiss_sim_instance *in, const ksiss_sim_profile *p,
                             const ksiss_tier *tier, double now);
void ksiss_sim_instance_free(ksiss_sim_instance *in);

/* True when the model's weights leave room for some KV cache on the tier. */
bool ksiss_sim_fits(const ksiss_sim_profile *p, const ksiss_tier *tier);

/* Decode throughput of one instance at full batch (tokens/s): the
 * capacity line of the plots. */
double ksiss_sim_decode_capacity(const ksiss_sim_profile *p, const ksiss_tier *tier);

/* Appends request `idx` to the instance's queue (it arrived at or before
 * the instance's clock or `now`). */
void ksiss_sim_instance_enqueue(ksiss_sim_instance *in, size_t idx);

/* Simulates the instance up to time `until` (its clock may pass it while a
 * prefill runs: prefill is not preempted). Requests whose prompt plus
 * output can never fit its KV cache are marked rejected. */
void ksiss_sim_instance_advance(ksiss_sim_instance *in, ksiss_sim_req *reqs, double until,
                                const ksiss_sim_listener *l);

/* Requests waiting + running. */
size_t ksiss_sim_instance_outstanding(const ksiss_sim_instance *in);
/* Removes the waiting (not yet admitted) requests into *out (appended;
 * caller owns the array). */
void ksiss_sim_instance_take_queue(ksiss_sim_instance *in, size_t **out, size_t *n, size_t *cap);

/* Decode step time at batch b (seconds). */
double ksiss_sim_step_time(const ksiss_sim_instance *in, size_t b);

#endif
