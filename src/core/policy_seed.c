/* policy_seed.c: the `seed` baseline, the original K-SISS DecideScale
 * reproduced with its behaviour (see policy_baselines.h), so the simulator
 * can show what the original would have done on a trace. */
#include "core/policy_baselines.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static int ladder_index(const ksiss_service_cfg *svc, const ksiss_tier *t)
{
    for (size_t i = 0; i < svc->n_ladder; i++)
        if (svc->ladder[i] == t)
            return (int)i;
    return -1;
}

static void step(ksiss_decision *out, const ksiss_service_cfg *svc, int cur, int dir,
                 const char *code, const char *why)
{
    int to = cur + dir;
    if (to < 0 || to >= (int)svc->n_ladder) {
        out->reason_code = "ladder_end";
        out->reason = ksiss_xasprintf("%s, but already at the %s end of the ladder: holding",
                                      why, dir > 0 ? "top" : "bottom");
        return;
    }
    out->action = dir > 0 ? KSISS_UP : KSISS_DOWN;
    out->tier = svc->ladder[to];
    out->reason_code = code;
    out->reason = ksiss_xasprintf("%s: %s one tier to %s", why, dir > 0 ? "up" : "down", out->tier->name);
}

int ksiss_policy_seed_decide(const ksiss_policy_input *in, ksiss_decision *out)
{
    if (!in || !out || !in->svc)
        return -1;
    memset(out, 0, sizeof(*out));
    const ksiss_service_cfg *svc = in->svc;
    out->action = KSISS_HOLD;
    out->tier = in->current.tier;
    out->replicas = in->current.replicas_ready + in->current.replicas_starting;
    if (out->replicas < 1)
        out->replicas = 1;
    out->pressure = NAN;
    out->worst_metric = -1;
    out->required_capacity = NAN;

    int cur = in->current.tier ? ladder_index(svc, in->current.tier) : -1;
    if (cur < 0 || svc->n_metrics == 0) {
        out->reason_code = cur < 0 ? "unknown_tier" : "missing_data";
        out->reason = ksiss_xstrdup(cur < 0 ? "current tier is not on the service's ladder: holding"
                                            : "no metric configured: holding");
        return 0;
    }
    const ksiss_metric_cfg *m = &svc->metrics[0];
    out->worst_metric = 0;
    const ksiss_observation *o = in->obs ? &in->obs[0] : NULL;
    if (!o || !o->present || !isfinite(o->value)) {
        char *why = ksiss_xasprintf("metric %s has no value (%s)", m->name,
                                    o && o->why_missing ? o->why_missing : "missing");
        step(out, svc, cur, -1, "seed_missing_down", why);
        free(why);
        return 0;
    }
    double v = o->value;
    out->pressure = v / m->slo;
    char *why;
    if (v > m->slo * m->scale_up_factor) {
        why = ksiss_xasprintf("metric %s = %g above slo %g x scaleUpFactor %g", m->name, v, m->slo,
                              m->scale_up_factor);
        step(out, svc, cur, +1, "seed_up", why);
    } else if (v < m->slo * m->scale_down_factor) {
        why = ksiss_xasprintf("metric %s = %g below slo %g x scaleDownFactor %g", m->name, v, m->slo,
                              m->scale_down_factor);
        step(out, svc, cur, -1, "seed_down", why);
    } else {
        why = NULL;
        out->reason_code = "within_slo";
        out->reason = ksiss_xasprintf("metric %s = %g within slo %g band [x%g, x%g]: holding", m->name, v,
                                      m->slo, m->scale_down_factor, m->scale_up_factor);
    }
    free(why);
    return 0;
}
