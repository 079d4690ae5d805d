/* controller_learn.c: the learned capacity in ksiss run and ksiss explain
 * (issue 17, docs/policy.md "Learned capacity"): the series it reads
 * (batched across services like the metrics, or queried here), the window
 * it feeds the service's learner (with the defaults' per-revision queries
 * the latest ready revision's pods through all of it, tier changes
 * rolling or not; else the same instances of one tier through all of it,
 * no tier change rolling), the policy's view, and the
 * state kept in the Service's annotation ksiss.io/learned-capacity (read
 * once, kept when it moved; the job writes it). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_path.h"
#include "core/sim.h"
#include "core/util.h"
#include "shell/controller.h"
#include "shell/log.h"

/* The queries' range: the default series read [1m]. */
#define LEARN_WINDOW_MS 60000

void ksiss_learn_state_free(ksiss_learn_state *s)
{
    free(s->state);
    memset(s, 0, sizeof(*s));
}

static double sum_of(const ksiss_promql_sample *s, size_t n)
{
    if (n == 0)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i].value;
    return isfinite(sum) ? sum : NAN;
}

ksiss_hist_status ksiss_controller_prompt_hist(const ksiss_promql_sample *s, size_t n, double *m2, char *why,
                                               size_t whylen)
{
    *m2 = NAN;
    why[0] = 0;
    ksiss_learn_bucket b[KSISS_LEARN_MAX_BUCKETS];
    size_t nb = n < KSISS_LEARN_MAX_BUCKETS ? n : KSISS_LEARN_MAX_BUCKETS;
    for (size_t i = 0; i < nb; i++)
        b[i] = (ksiss_learn_bucket){s[i].le, s[i].value};
    char *w = NULL;
    /* more samples than buckets kept: let the core say so */
    int rc = n > KSISS_LEARN_MAX_BUCKETS ? -1 : ksiss_learn_prompt_hist(b, nb, LEARN_WINDOW_MS / 1000.0, m2, &w);
    if (rc < 0 && !w)
        w = ksiss_xasprintf("%zu samples, more than %d buckets (is the query summed by le?)", n,
                            KSISS_LEARN_MAX_BUCKETS);
    if (w) {
        snprintf(why, whylen, "%s", w);
        free(w);
    }
    return rc == 0 ? KSISS_HIST_READ : rc > 0 ? KSISS_HIST_FEW : KSISS_HIST_BAD;
}

/* The histogram from this tick's samples, or why not. */
static void read_hist(ksiss_eval *out, const ksiss_promql_sample *s, size_t n, const char *failed)
{
    double m2 = NAN;
    if (failed) {
        out->learn_hist = KSISS_HIST_BAD;
        snprintf(out->learn_hist_why, sizeof(out->learn_hist_why), "the query failed: %s", failed);
    } else {
        out->learn_hist = ksiss_controller_prompt_hist(s, n, &m2, out->learn_hist_why, sizeof(out->learn_hist_why));
    }
    out->learn_values[KSISS_LQ_PROMPT_HIST] = m2;
    out->hist_n = 0;
    if ((out->learn_hist == KSISS_HIST_READ || out->learn_hist == KSISS_HIST_FEW) && n <= KSISS_LEARN_MAX_BUCKETS) {
        /* the buckets themselves, per second, for the tally */
        ksiss_learn_bucket b[KSISS_LEARN_MAX_BUCKETS];
        for (size_t i = 0; i < n; i++)
            b[i] = (ksiss_learn_bucket){s[i].le, s[i].value};
        char *why = NULL;
        if (ksiss_learn_prompt_buckets(b, n, 1.0, out->hist_le, out->hist_rate, &why) == 0)
            out->hist_n = n;
        free(why);
    }
}

void ksiss_controller_read_learn(const ksiss_eval_in *in, const ksiss_promql_vars *vars, ksiss_eval *out)
{
    const ksiss_load_cfg *l = &in->svc->load;
    out->learn_hist = KSISS_HIST_NONE;
    out->learn_hist_why[0] = 0;
    for (int i = 0; i < KSISS_LQ_N; i++) {
        bool hist = i == KSISS_LQ_PROMPT_HIST;
        out->learn_values[i] = NAN;
        const ksiss_prom_share *sh = in->learn_shares ? in->learn_shares[i] : NULL;
        if (sh) {
            if (hist)
                read_hist(out, sh->samples, sh->ok ? sh->n : 0,
                          sh->ok ? NULL : sh->error ? sh->error : "the batched query failed");
            else if (sh->ok)
                out->learn_values[i] = sum_of(sh->samples, sh->n);
            continue;
        }
        if (!l->learn_queries[i])
            continue;
        char *err = NULL;
        char *q = ksiss_promql_fill(l->learn_queries[i], vars, &err);
        if (!q) {
            if (hist)
                read_hist(out, NULL, 0, err ? err : "its placeholders could not be filled");
            free(err);
            continue;
        }
        ksiss_prom_result r;
        int rc = ksiss_prom_query(in->prom, q, NULL, in->reg, &r);
        ksiss_promql_sample *ss = ksiss_xcalloc(r.n ? r.n : 1, sizeof(*ss));
        for (size_t k = 0; k < r.n; k++)
            ss[k] = (ksiss_promql_sample){NULL, r.samples[k].value, r.samples[k].le};
        if (hist)
            read_hist(out, ss, rc == 0 ? r.n : 0, rc == 0 ? NULL : r.error ? r.error : "failed");
        else if (rc == 0)
            out->learn_values[i] = sum_of(ss, r.n);
        free(ss);
        ksiss_prom_result_free(&r);
        free(q);
    }
}

static long windows_of(const ksiss_learner *L)
{
    long n = 0;
    for (size_t i = 0; i < L->n; i++)
        n += L->tiers[i].prefill.n + L->tiers[i].decode.n;
    return n;
}

/* The prompt-length histogram's trouble, logged when it changes (not
 * every tick), and once when it reads again: k's prior is then the
 * fallback's for a filter that starts meanwhile. */
static void log_hist(ksiss_learn_state *st, const char *name, const ksiss_eval *out)
{
    if (out->learn_hist == KSISS_HIST_BAD) {
        if (strcmp(st->hist_why, out->learn_hist_why) != 0) {
            ksiss_log("warn", "prompt-length histogram not read: k's prior is the fallback", "service", name,
                      "error", out->learn_hist_why, NULL);
            snprintf(st->hist_why, sizeof(st->hist_why), "%s", out->learn_hist_why);
        }
    } else if (out->learn_hist == KSISS_HIST_READ && st->hist_why[0]) {
        ksiss_log("info", "prompt-length histogram read again", "service", name, NULL);
        st->hist_why[0] = 0;
    }
}

void ksiss_controller_learn(const ksiss_eval_in *in, const ksiss_service_cfg *svc, ksiss_eval *out)
{
    ksiss_learn_state local;
    memset(&local, 0, sizeof(local));
    ksiss_learn_state *st = in->learn ? in->learn : &local;
    out->learning = true;
    out->learn_prefill = out->learn_decode = KSISS_LEARN_NOT_READ;
    if (st->cfg_gen == 0 || st->cfg_gen != in->cfg_gen || !in->learn) {
        /* (again) for this configuration's ladder: the tiers are its
         * catalogue's; what was learned comes back by tier name */
        ksiss_learner_init(&st->L, svc->ladder, svc->n_ladder, svc->load.throughput, svc->load.per_gpu,
                           ksiss_mean_tpot_slo(svc));
        if (st->state) {
            char *err = NULL;
            if (ksiss_learner_from_json(&st->L, st->state, &err) != 0)
                free(err);  /* it was read and checked when kept */
        }
        st->cfg_gen = in->cfg_gen ? in->cfg_gen : 1;
        st->tier = NULL;
    }
    if (!st->restored && out->view.service) {
        const char *ann = ksiss_json_str(out->view.service, "metadata", "annotations", KSISS_LEARN_ANNOTATION);
        if (ann) {
            char *err = NULL;
            if (ksiss_learner_from_json(&st->L, ann, &err) == 0) {
                free(st->state);
                st->state = ksiss_xstrdup(ann);
                st->saved_n = windows_of(&st->L);
                st->written_n = st->saved_n;    /* the Service has it: no need to write it back */
            } else {
                ksiss_log("warn", "learned capacity annotation unreadable: learning afresh", "service", in->name,
                          "annotation", KSISS_LEARN_ANNOTATION, "error", err, NULL);
                free(err);
            }
        }
        st->restored = true;
    }
    if (in->learn)
        log_hist(st, in->name, out);
    const ksiss_deployment *cur = &out->current;
    bool window;
    bool counts_changed = false;
    if (ksiss_learn_per_revision(&svc->load)) {
        /* The latest ready revision's own pods (the defaults' queries):
         * its window counts once it has served through all of it, also
         * while a tier change rolls; instances added or removed within it
         * leave only a prefill read directly (a per-request ratio). */
        const char *rev = out->revision ? out->revision : "";
        if (cur->tier != st->tier || strcmp(rev, st->revision) != 0 || cur->replicas_ready <= 0) {
            snprintf(st->revision, sizeof(st->revision), "%s", rev);
            st->rev_since_ms = in->now_ms;
            st->since_ms = in->now_ms;
        } else if (cur->replicas_ready != st->ready) {
            st->since_ms = in->now_ms;
        }
        st->tier = cur->tier;
        st->ready = cur->replicas_ready;
        window = cur->tier && rev[0] && cur->replicas_ready > 0 && in->now_ms - st->rev_since_ms >= LEARN_WINDOW_MS;
        counts_changed = in->now_ms - st->since_ms < LEARN_WINDOW_MS;
    } else {
        /* Series over all of the service's pods: the same instances of one
         * tier through the whole window, no tier change rolling. */
        if (cur->tier != st->tier || cur->replicas_ready != st->ready || cur->replicas_starting > 0 ||
            cur->transition_in_flight) {
            st->tier = cur->tier;
            st->ready = cur->replicas_ready;
            st->since_ms = in->now_ms;
        }
        window = cur->tier && cur->replicas_ready > 0 && !cur->transition_in_flight && cur->replicas_starting == 0 &&
                 in->now_ms - st->since_ms >= LEARN_WINDOW_MS;
    }
    if (window) {
        ksiss_learn_window w = {
            .prompt_m2 = out->learn_values[KSISS_LQ_PROMPT_HIST],
            .ttft_mean_s = out->learn_values[KSISS_LQ_TTFT],
            .prompt_mean = out->learn_values[KSISS_LQ_PROMPT],
            .req_rate = out->learn_values[KSISS_LQ_REQUESTS],
            .running_mean = out->learn_values[KSISS_LQ_RUNNING],
            .tpot_mean_s = out->learn_values[KSISS_LQ_TPOT],
            .prefill_s_per_token = out->learn_values[KSISS_LQ_PREFILL],
            .window_s = LEARN_WINDOW_MS / 1000.0,
            .instances = cur->replicas_ready,
            .counts_changed = counts_changed,
        };
        ksiss_learner_observe(&st->L, cur->tier, &w, in->now_ms, &out->learn_prefill, &out->learn_decode);
    }
    ksiss_learner_view(&st->L, cur->tier, in->now_ms, out->view_tiers, out->view_cap, &out->cap_view);
    for (size_t i = 0; i < st->L.n && i < KSISS_LEARN_MAX_TIERS; i++)
        ksiss_learner_estimate(&st->L, out->view_tiers[i], in->now_ms, &out->learned[i]);
    long n = windows_of(&st->L);
    if (in->learn && n != st->saved_n) {
        free(st->state);
        st->state = ksiss_learner_to_json(&st->L, in->now_ms);
        st->saved_n = n;
        out->learn_changed = true;
    }
    if (!in->learn)
        free(local.state);
}

void ksiss_controller_floor(const ksiss_eval_in *in, const ksiss_service_cfg *svc, ksiss_eval *out)
{
    ksiss_prompt_tally local = {0};
    ksiss_prompt_tally *t = in->tally ? in->tally : &local;
    out->n_slow = 0;
    out->ttft_slo = ksiss_ttft_slo(svc);
    if (out->hist_n > 0) {
        /* requests/s x the time they stand for: since the last add, at
         * most the queries' window (a gap of ticks is not counted twice) */
        double dt = LEARN_WINDOW_MS / 1000.0;
        if (t->n > 0 && in->now_ms > t->at_ms && in->now_ms - t->at_ms < LEARN_WINDOW_MS)
            dt = (double)(in->now_ms - t->at_ms) / 1000.0;
        double counts[KSISS_LEARN_MAX_BUCKETS];
        for (size_t i = 0; i < out->hist_n; i++)
            counts[i] = out->hist_rate[i] * dt;
        ksiss_prompt_tally_add(t, out->hist_le, counts, out->hist_n, in->now_ms);
    }
    ksiss_prompt_share_above(t, INFINITY, &out->tallied);   /* for its total: the requests tallied */
    out->n_slow = ksiss_slow_tiers(svc, out->view_tiers, out->learning ? out->learned : NULL,
                                   out->learning ? out->cap_view.n : 0, out->ttft_slo, t, out->slow,
                                   KSISS_LEARN_MAX_TIERS);
    for (size_t i = 0; i < out->n_slow; i++)
        out->slow_tiers[i] = out->slow[i].tier;
    ksiss_prompt_tally_free(&local);
}

int ksiss_controller_save_learned(ksiss_kube *k, const char *ns, const char *name, const char *state, char **err)
{
    *err = NULL;
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", KSISS_LEARN_ANNOTATION, state);
    ksiss_kube_error e = {0};
    int rc = ksiss_kube_patch(k, &KSISS_KUBE_KNATIVE_SERVICES, ns, name, NULL, KSISS_KUBE_MERGE_PATCH, patch, NULL,
                              NULL, &e);
    if (rc != KSISS_KUBE_OK)
        *err = ksiss_xasprintf("annotation %s on service %s/%s: %s (%s)", KSISS_LEARN_ANNOTATION, ns, name,
                               e.message ? e.message : "failed", ksiss_kube_rc_name(rc));
    ksiss_kube_error_clear(&e);
    json_decref(patch);
    return rc == KSISS_KUBE_OK ? 0 : -1;
}

void ksiss_controller_export_learned(ksiss_metrics *reg, const char *name, const ksiss_eval *ev)
{
    if (!reg || !ev->learning)
        return;
    for (size_t i = 0; i < ev->cap_view.n; i++) {
        const ksiss_cap_estimate *e = &ev->learned[i];
        const char *tier = ev->view_tiers[i]->name;
        if (isfinite(e->capacity) && isfinite(e->rel_sd)) {
            ksiss_metrics_set(reg, KSISS_M_LEARNED_CAPACITY, KSISS_LABELS(name, tier), e->capacity);
            ksiss_metrics_set(reg, KSISS_M_LEARNED_CAPACITY_SD, KSISS_LABELS(name, tier), e->rel_sd);
        } else {
            ksiss_metrics_remove(reg, KSISS_M_LEARNED_CAPACITY, KSISS_LABELS(name, tier));
            ksiss_metrics_remove(reg, KSISS_M_LEARNED_CAPACITY_SD, KSISS_LABELS(name, tier));
        }
    }
}

void ksiss_controller_export_floor(ksiss_metrics *reg, const char *name, const ksiss_service_cfg *svc,
                                   const ksiss_eval *ev)
{
    if (!reg || !svc)
        return;
    for (size_t i = 0; i < svc->n_ladder; i++) {
        const ksiss_tier *t = svc->ladder[i];
        size_t k = 0;
        while (k < ev->n_slow && ev->slow[k].tier != t)
            k++;
        if (k < ev->n_slow)
            ksiss_metrics_set(reg, KSISS_M_TIER_TOO_SLOW, KSISS_LABELS(name, t->name), ev->slow[k].share);
        else
            ksiss_metrics_remove(reg, KSISS_M_TIER_TOO_SLOW, KSISS_LABELS(name, t->name));
    }
}
