/* sim_score.c: the evaluation suite's rules on one case (see sim_score.h). */
#include "core/sim_score.h"

#include <math.h>
#include <string.h>

const char *const ksiss_score_policy[KSISS_SCORE_NPOL] = { "ksiss", "seed", "horizontal", "static", "oracle" };

/* Comparisons of figures read back from JSON (6 significant digits) allow
 * for the rounding, so that a figure exactly on a threshold counts as on it. */
#define EPS 1e-9

void ksiss_score_eval(const ksiss_score_case *c, ksiss_score_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->dominated_by = -1;
    v->floor = NAN;
    v->cost_vs_oracle = NAN;
    v->jitter_cost = NAN;
    v->jitter_points = NAN;
    v->why = "";
    const ksiss_score_point *k = &c->p[KSISS_SCORE_KSISS];
    if (!k->present) {
        v->why = "no ksiss result";
        return;
    }
    const ksiss_score_point *o = &c->p[KSISS_SCORE_ORACLE];
    if (o->present && o->cost > 0)
        v->cost_vs_oracle = k->cost / o->cost;

    /* Never dominated: no baseline within 0.2 points (or better) and >= 2% cheaper. */
    static const int baselines[] = { KSISS_SCORE_STATIC, KSISS_SCORE_HORIZONTAL, KSISS_SCORE_SEED };
    for (size_t i = 0; i < sizeof(baselines) / sizeof(baselines[0]); i++) {
        const ksiss_score_point *b = &c->p[baselines[i]];
        if (!b->present)
            continue;
        bool close = b->attainment >= k->attainment - KSISS_SCORE_DOMINANCE_POINTS - EPS;
        bool cheaper = b->cost <= k->cost * (1 - KSISS_SCORE_DOMINANCE_CHEAPER) + EPS;
        if (close && cheaper) {
            v->dominated_by = baselines[i];
            break;
        }
    }

    /* The class's floor. */
    if (c->cls == KSISS_SCORE_REAL) {
        if (o->present) {
            double cap = o->attainment < KSISS_SCORE_REAL_CAP ? o->attainment : KSISS_SCORE_REAL_CAP;
            v->floor = cap - KSISS_SCORE_REAL_SLACK;
        }
        v->over_cost_aim = isfinite(v->cost_vs_oracle) && v->cost_vs_oracle > KSISS_SCORE_COST_AIM + EPS;
    } else {
        const ksiss_score_point *h = &c->p[KSISS_SCORE_HORIZONTAL];
        if (h->present)
            v->floor = h->attainment - KSISS_SCORE_SPIKE_SLACK;
    }
    v->floor_ok = isfinite(v->floor) && k->attainment >= v->floor - EPS;

    /* Jitter: against the same case without it. */
    if (c->base.present) {
        v->jitter_checked = true;
        v->jitter_cost = c->base.cost > 0 ? (k->cost - c->base.cost) / c->base.cost : NAN;
        v->jitter_points = k->attainment - c->base.attainment;
        v->jitter_ok = isfinite(v->jitter_cost) && fabs(v->jitter_cost) < KSISS_SCORE_JITTER_COST &&
                       fabs(v->jitter_points) < KSISS_SCORE_JITTER_POINTS;
    }

    if (v->dominated_by >= 0)
        v->why = v->dominated_by == KSISS_SCORE_STATIC       ? "dominated by static"
                 : v->dominated_by == KSISS_SCORE_HORIZONTAL ? "dominated by horizontal"
                                                             : "dominated by seed";
    else if (!isfinite(v->floor))
        v->why = c->cls == KSISS_SCORE_REAL ? "no oracle result for the floor" : "no horizontal result for the floor";
    else if (!v->floor_ok)
        v->why = c->cls == KSISS_SCORE_REAL ? "below min(99%, oracle) - 1 point" : "below horizontal - 0.5 points";
    else if (v->jitter_checked && !v->jitter_ok)
        v->why = "jitter moved cost >= 3% or attainment >= 0.3 points";
    v->meets = v->why[0] == '\0';
}

const char *ksiss_score_class_name(ksiss_score_class c)
{
    return c == KSISS_SCORE_REAL ? "real" : "spike";
}

int ksiss_score_class_parse(const char *s, ksiss_score_class *out)
{
    if (!strcmp(s, "real"))
        *out = KSISS_SCORE_REAL;
    else if (!strcmp(s, "spike"))
        *out = KSISS_SCORE_SPIKE;
    else
        return -1;
    return 0;
}

void ksiss_score_learned(const ksiss_score_point *profile, const ksiss_score_point *learned, ksiss_score_learn *out)
{
    out->checked = profile && learned && profile->present && learned->present && profile->cost > 0 &&
                   isfinite(profile->attainment) && isfinite(learned->attainment) && isfinite(learned->cost);
    out->ok = false;
    out->points = out->cost = NAN;
    if (!out->checked)
        return;
    out->points = learned->attainment - profile->attainment;
    out->cost = learned->cost / profile->cost - 1;
    /* a hair of rounding on the bounds themselves */
    out->ok = out->points >= -KSISS_SCORE_LEARN_POINTS - 1e-12 && out->cost <= KSISS_SCORE_LEARN_COST + 1e-12;
}
