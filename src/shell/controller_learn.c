/* controller_learn.c: the learned capacity in ksiss run and ksiss explain
 * (issue 17, docs/policy.md "Learned capacity"): the series it reads
 * (batched across services like the metrics, or queried here), the window
 * it feeds the service's learner (the same instances of one tier served
 * through all of it, no tier change rolling), the policy's view, and the
 * state kept in the Service's annotation ksiss.io/learned-capacity (read
 * once, kept when it moved; the job writes it). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_path.h"
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

void ksiss_controller_read_learn(const ksiss_eval_in *in, const ksiss_promql_vars *vars, ksiss_eval *out)
{
    const ksiss_load_cfg *l = &in->svc->load;
    for (int i = 0; i < KSISS_LQ_N; i++) {
        out->learn_values[i] = NAN;
        const ksiss_prom_share *sh = in->learn_shares ? in->learn_shares[i] : NULL;
        if (sh) {
            if (sh->ok)
                out->learn_values[i] = sum_of(sh->samples, sh->n);
            continue;
        }
        if (!l->learn_queries[i])
            continue;
        char *err = NULL;
        char *q = ksiss_promql_fill(l->learn_queries[i], vars, &err);
        if (!q) {
            free(err);
            continue;
        }
        ksiss_prom_result r;
        if (ksiss_prom_query(in->prom, q, NULL, in->reg, &r) == 0) {
            ksiss_promql_sample *ss = ksiss_xcalloc(r.n ? r.n : 1, sizeof(*ss));
            for (size_t k = 0; k < r.n; k++)
                ss[k] = (ksiss_promql_sample){NULL, r.samples[k].value, NULL};
            out->learn_values[i] = sum_of(ss, r.n);
            free(ss);
        }
        ksiss_prom_result_free(&r);
        free(q);
    }
}

/* The TPOT SLO of a mean-TPOT metric (its query or name says so), or 0. */
static double tpot_slo(const ksiss_service_cfg *svc)
{
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        const char *t = m->query ? m->query : "";
        if (m->direction == KSISS_LOWER_IS_BETTER && !strstr(t, "histogram_quantile") &&
            (strstr(t, "time_per_output_token") || strstr(t, "mean_time_per_token") ||
             (m->name && strstr(m->name, "tpot"))))
            return m->slo;
    }
    return 0;
}

static long windows_of(const ksiss_learner *L)
{
    long n = 0;
    for (size_t i = 0; i < L->n; i++)
        n += L->tiers[i].prefill.n + L->tiers[i].decode.n;
    return n;
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
                           tpot_slo(svc));
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
    const ksiss_deployment *cur = &out->current;
    if (cur->tier != st->tier || cur->replicas_ready != st->ready || cur->replicas_starting > 0 ||
        cur->transition_in_flight) {
        st->tier = cur->tier;
        st->ready = cur->replicas_ready;
        st->since_ms = in->now_ms;
    }
    if (cur->tier && cur->replicas_ready > 0 && !cur->transition_in_flight && cur->replicas_starting == 0 &&
        in->now_ms - st->since_ms >= LEARN_WINDOW_MS) {
        ksiss_learn_window w = {
            .ttft_mean_s = out->learn_values[KSISS_LQ_TTFT],
            .prompt_mean = out->learn_values[KSISS_LQ_PROMPT],
            .req_rate = out->learn_values[KSISS_LQ_REQUESTS],
            .running_mean = out->learn_values[KSISS_LQ_RUNNING],
            .tpot_mean_s = out->learn_values[KSISS_LQ_TPOT],
            .window_s = LEARN_WINDOW_MS / 1000.0,
            .instances = cur->replicas_ready,
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
