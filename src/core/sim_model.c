/* sim_model.c: one LLM serving instance, event by event (see sim_model.h
 * and docs/simulator.md for the model and its assumptions). */
#include "core/sim_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define GIB (1024.0 * 1024.0 * 1024.0)
#define OFF_EPS 1e-9

int ksiss_sim_profile_check(const ksiss_sim_profile *p, const char *file, ksiss_diags *d)
{
    ksiss_pos none = { 0, 0 };
    int bad = 0;
    struct { const char *name; double v; double max; } f[] = {
        { "prefillTokensPerSecond", p->prefill_tps, 1e9 },
        { "decodeTokensPerSecond", p->decode_tps, 1e9 },
        { "decodeStepMs", p->decode_step_ms, 60000 },
        { "weightsGiB", p->weights_gib, 1e6 },
        { "kvBytesPerToken", p->kv_bytes_per_token, 1e9 },
        { "gpuMemoryUtilization", p->gpu_mem_util, 1 },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        if (!isfinite(f[i].v) || !(f[i].v > 0) || f[i].v > f[i].max) {
            ksiss_diags_add(d, file, none, "model profile: %s must be a positive number up to %g (got %g)",
                            f[i].name, f[i].max, f[i].v);
            bad = 1;
        }
    }
    if (p->max_batch < 1 || p->max_batch > 65536) {
        ksiss_diags_add(d, file, none, "model profile: maxBatch must be from 1 to 65536 (got %d)", p->max_batch);
        bad = 1;
    }
    if (!bad && p->max_batch / p->decode_tps < p->decode_step_ms / 1000.0 - 1e-12) {
        ksiss_diags_add(d, file, none,
                        "model profile: decodeTokensPerSecond %g at maxBatch %d means a step of %g ms, "
                        "shorter than decodeStepMs %g at batch 1: not coherent",
                        p->decode_tps, p->max_batch, 1000.0 * p->max_batch / p->decode_tps, p->decode_step_ms);
        bad = 1;
    }
    return bad ? -1 : 0;
}

void ksiss_sim_profile_free(ksiss_sim_profile *p)
{
    free(p->name);
    p->name = NULL;
}

bool ksiss_sim_fits(const ksiss_sim_profile *p, const ksiss_tier *tier)
{
    double kv_gib = tier->mem_gib * p->gpu_mem_util - p->weights_gib;
    return kv_gib > 0 && kv_gib * GIB / p->kv_bytes_per_token >= 1;
}

double ksiss_sim_decode_capacity(const ksiss_sim_profile *p, const ksiss_tier *tier)
{
    return ksiss_sim_fits(p, tier) ? p->decode_tps * tier->decode_rel : 0;
}

void ksiss_sim_instance_init(ksiss_sim_instance *in, const ksiss_sim_profile *p,
                             const ksiss_tier *tier, double now)
{
    memset(in, 0, sizeof(*in));
    double rel_d = tier->decode_rel > 0 ? tier->decode_rel : 1e-6;
    double rel_p = tier->prefill_rel > 0 ? tier->prefill_rel : 1e-6;
    in->prefill_tps = p->prefill_tps * rel_p;
    double t1 = p->decode_step_ms / 1000.0;
    double tmax = p->max_batch / p->decode_tps;
    in->step_base_s = t1 / rel_d;
    in->step_per_seq_s = p->max_batch > 1 ? (tmax - t1) / (p->max_batch - 1) / rel_d : 0;
    if (in->step_per_seq_s < 0)
        in->step_per_seq_s = 0;
    in->kv_cap_tokens = ksiss_sim_fits(p, tier)
        ? floor((tier->mem_gib * p->gpu_mem_util - p->weights_gib) * GIB / p->kv_bytes_per_token) : 0;
    in->max_batch = p->max_batch;
    in->clock = now;
}

void ksiss_sim_instance_free(ksiss_sim_instance *in)
{
    free(in->queue);
    free(in->run);
    memset(in, 0, sizeof(*in));
}

double ksiss_sim_step_time(const ksiss_sim_instance *in, size_t b)
{
    return in->step_base_s + (b > 0 ? (double)(b - 1) : 0) * in->step_per_seq_s;
}

void ksiss_sim_instance_enqueue(ksiss_sim_instance *in, size_t idx)
{
    if (in->qhead + in->qlen == in->qcap) {
        if (in->qhead > 0) {
            memmove(in->queue, in->queue + in->qhead, in->qlen * sizeof(*in->queue));
            in->qhead = 0;
        }
        if (in->qlen == in->qcap) {
            in->qcap = in->qcap ? in->qcap * 2 : 64;
            in->queue = ksiss_xrealloc(in->queue, in->qcap * sizeof(*in->queue));
        }
    }
    in->queue[in->qhead + in->qlen++] = idx;
}

size_t ksiss_sim_instance_outstanding(const ksiss_sim_instance *in)
{
    return in->qlen + in->nrun;
}

void ksiss_sim_instance_take_queue(ksiss_sim_instance *in, size_t **out, size_t *n, size_t *cap)
{
    for (size_t i = 0; i < in->qlen; i++) {
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 64;
            *out = ksiss_xrealloc(*out, *cap * sizeof(**out));
        }
        (*out)[(*n)++] = in->queue[in->qhead + i];
    }
    in->qhead = 0;
    in->qlen = 0;
}

/* ---- min-heap of running sequences ---- */

static void heap_push(ksiss_sim_instance *in, ksiss_sim_seq s)
{
    if (in->nrun == in->runcap) {
        in->runcap = in->runcap ? in->runcap * 2 : 32;
        in->run = ksiss_xrealloc(in->run, in->runcap * sizeof(*in->run));
    }
    size_t i = in->nrun++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (in->run[parent].finish_offset <= s.finish_offset)
            break;
        in->run[i] = in->run[parent];
        i = parent;
    }
    in->run[i] = s;
}

static ksiss_sim_seq heap_pop(ksiss_sim_instance *in)
{
    ksiss_sim_seq top = in->run[0];
    ksiss_sim_seq last = in->run[--in->nrun];
    size_t i = 0, n = in->nrun;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && in->run[c + 1].finish_offset < in->run[c].finish_offset)
            c++;
        if (last.finish_offset <= in->run[c].finish_offset)
            break;
        in->run[i] = in->run[c];
        i = c;
    }
    if (n > 0)
        in->run[i] = last;
    return top;
}

/* ---- the event loop of one instance ---- */

static void finish(ksiss_sim_instance *in, ksiss_sim_req *r, size_t idx, double t, const ksiss_sim_listener *l)
{
    r->finished = t;
    in->kv_used -= (double)r->in_tokens + r->out_tokens;
    if (l && l->finished)
        l->finished(l->ctx, r, idx);
}

/* Starts the queue head's prefill when it has arrived and fits. Returns
 * true when the clock moved (something happened). */
static bool try_admit(ksiss_sim_instance *in, ksiss_sim_req *reqs, const ksiss_sim_listener *l)
{
    while (in->qlen > 0) {
        size_t idx = in->queue[in->qhead];
        ksiss_sim_req *r = &reqs[idx];
        double need = (double)r->in_tokens + r->out_tokens;
        if (need > in->kv_cap_tokens) {
            /* vLLM refuses a request longer than its cache can ever hold. */
            r->rejected = true;
            in->qhead++;
            in->qlen--;
            if (l && l->rejected)
                l->rejected(l->ctx, r, idx);
            continue;
        }
        if (r->arrival > in->clock || in->nrun >= (size_t)in->max_batch ||
            in->kv_used + need > in->kv_cap_tokens)
            return false;
        in->qhead++;
        in->qlen--;
        if (in->qlen == 0)
            in->qhead = 0;
        r->admitted = in->clock;
        if (l && l->admitted)
            l->admitted(l->ctx, r, idx);
        in->kv_used += need;
        /* Prefill runs alone: the running batch waits (vLLM without chunked prefill). */
        double dur = r->in_tokens / in->prefill_tps;
        in->clock += dur;
        in->busy_s += dur;
        in->prompt_tokens += r->in_tokens;
        in->gen_tokens += 1;
        r->first_token = in->clock;
        if (l && l->first_token)
            l->first_token(l->ctx, r, idx);
        if (r->out_tokens <= 1) {
            finish(in, r, idx, in->clock, l);
        } else {
            ksiss_sim_seq s = { in->offset + (double)(r->out_tokens - 1), idx };
            heap_push(in, s);
        }
        return true;
    }
    return false;
}

void ksiss_sim_instance_advance(ksiss_sim_instance *in, ksiss_sim_req *reqs, double until,
                                const ksiss_sim_listener *l)
{
    while (in->clock < until) {
        if (try_admit(in, reqs, l))
            continue;
        double next = until;
        if (in->qlen > 0) {
            double a = reqs[in->queue[in->qhead]].arrival;
            if (a > in->clock && a < next)
                next = a;
        }
        if (in->nrun == 0) {
            in->clock = next;
            continue;
        }
        double st = ksiss_sim_step_time(in, in->nrun);
        double fin_off = in->run[0].finish_offset;
        double t_fin = in->clock + (fin_off - in->offset) * st;
        if (t_fin <= next) {
            in->gen_tokens += (double)in->nrun * (fin_off - in->offset);
            in->busy_s += t_fin - in->clock;
            in->offset = fin_off;
            in->clock = t_fin;
            while (in->nrun > 0 && in->run[0].finish_offset <= in->offset + OFF_EPS) {
                ksiss_sim_seq s = heap_pop(in);
                finish(in, &reqs[s.req], s.req, in->clock, l);
            }
        } else {
            double dt = next - in->clock;
            double adv = dt / st;
            in->gen_tokens += (double)in->nrun * adv;
            in->busy_s += dt;
            in->offset += adv;
            in->clock = next;
        }
    }
}
