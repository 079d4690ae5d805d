/* sim_sweep.c: `ksiss simulate --sweep`: the same trace run at several
 * attainment targets (the service's sloTarget, which the policies read,
 * and the simulator's target, which sizes `static` and bounds `oracle`),
 * and the plot of attainment against cost it gives, one line per policy
 * through its targets: the trade-off a user picks sloTarget from. Pure:
 * no I/O; the SVG is rendered into a string. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim.h"
#include "core/util.h"

const double ksiss_sim_sweep_default_targets[] = { 0.9, 0.95, 0.98, 0.99, 0.995, 0.999 };
const size_t ksiss_sim_sweep_n_default_targets =
    sizeof(ksiss_sim_sweep_default_targets) / sizeof(ksiss_sim_sweep_default_targets[0]);

int ksiss_sim_sweep_run(const ksiss_sim_opts *o, const double *targets, size_t n_targets,
                        const char *const *policies, size_t n_policies, ksiss_sim_sweep *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    ksiss_pos none = { 0, 0 };
    if (n_targets == 0) {
        ksiss_diags_add(d, NULL, none, "the sweep has no target");
        return -1;
    }
    for (size_t i = 0; i < n_targets; i++) {
        if (!(targets[i] > 0 && targets[i] < 1)) {
            ksiss_diags_add(d, NULL, none, "sweep target %g: expected a fraction above 0 and below 1", targets[i]);
            return -1;
        }
        if (i > 0 && !(targets[i] > targets[i - 1])) {
            ksiss_diags_add(d, NULL, none, "sweep targets must rise: %g after %g", targets[i], targets[i - 1]);
            return -1;
        }
    }
    out->v = ksiss_xcalloc(n_targets, sizeof(*out->v));
    for (size_t i = 0; i < n_targets; i++) {
        /* The service as if its ConfigMap said sloTarget: targets[i]. */
        ksiss_service_cfg svc = *o->svc;
        svc.slo_target = targets[i];
        ksiss_sim_opts oi = *o;
        oi.svc = &svc;
        oi.slo_target = targets[i];
        ksiss_sim_sweep_point *p = &out->v[out->n++];
        p->target = targets[i];
        if (ksiss_sim_run(&oi, policies, n_policies, &p->rep, d) != 0)
            return -1;
        /* The series are not plotted here; only the figures are kept. */
        for (size_t k = 0; k < p->rep.n; k++) {
            free(p->rep.v[k].samples);
            p->rep.v[k].samples = NULL;
            p->rep.v[k].n_samples = 0;
        }
    }
    return 0;
}

void ksiss_sim_sweep_free(ksiss_sim_sweep *s)
{
    for (size_t i = 0; i < s->n; i++)
        ksiss_sim_report_free(&s->v[i].rep);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* ---- the plot ---- */

#define SW_W 760
#define SW_H 480
#define SW_LEFT 70
#define SW_RIGHT 150
#define SW_TOP 40
#define SW_BOTTOM 50

static const char *const sweep_colors[] = { "#d62728", "#1f77b4", "#2ca02c", "#7f7f7f", "#9467bd", "#ff7f0e" };

char *ksiss_sim_sweep_svg(const ksiss_sim_sweep *s, const char *title)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    double gmin = INFINITY, gmax = 0, amin = 1;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->v[i].rep.n; k++) {
            const ksiss_sim_result *r = &s->v[i].rep.v[k];
            if (isfinite(r->gpu_hours)) {
                gmin = fmin(gmin, r->gpu_hours);
                gmax = fmax(gmax, r->gpu_hours);
            }
            if (isfinite(r->slo_attainment))
                amin = fmin(amin, r->slo_attainment);
        }
    if (!isfinite(gmin)) {
        gmin = 0;
        gmax = 1;
    }
    double pad = (gmax - gmin) * 0.08 + 1e-3;
    double x_lo = fmax(0, gmin - pad), x_hi = gmax + pad;
    /* Attainment from a round figure below the lowest point to 100%. */
    double y_lo = floor(fmin(amin, s->n ? s->v[0].target : 0.9) * 100 - 1) / 100;
    if (y_lo < 0)
        y_lo = 0;
    double x0 = SW_LEFT, y0 = SW_TOP, w = SW_W - SW_LEFT - SW_RIGHT, h = SW_H - SW_TOP - SW_BOTTOM;
#define PX(g) (x0 + ((g) - x_lo) / (x_hi - x_lo) * w)
#define PY(a) (y0 + h - ((a) - y_lo) / (1 - y_lo) * h)
    ksiss_sb_printf(&sb,
                    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                    "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    SW_W, SW_H);
    ksiss_sb_printf(&sb, "<text x=\"%d\" y=\"22\" font-size=\"13\" fill=\"#222\">", SW_LEFT);
    ksiss_sb_put_xml(&sb, title);
    ksiss_sb_puts(&sb, "</text>\n");
    ksiss_sb_printf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n",
                    x0, y0, w, h);
    for (int k = 0; k <= 4; k++) {
        double a = y_lo + (1 - y_lo) * k / 4, g = x_lo + (x_hi - x_lo) * k / 4;
        ksiss_sb_printf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", x0, PY(a),
                        x0 + w, PY(a));
        ksiss_sb_printf(&sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">"
                        "%.1f%%</text>\n", x0 - 4, PY(a) + 3, 100 * a);
        ksiss_sb_printf(&sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">"
                        "%.3g</text>\n", PX(g), y0 + h + 14, g);
    }
    ksiss_sb_printf(&sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#333\">"
                    "GPU-hours (cost-weighted)</text>\n", x0 + w / 2, y0 + h + 34);
    ksiss_sb_printf(&sb, "<text x=\"14\" y=\"%.1f\" font-size=\"11\" fill=\"#333\" transform=\"rotate(-90 14 %.1f)\" "
                    "text-anchor=\"middle\">requests within the SLO</text>\n", y0 + h / 2, y0 + h / 2);
    /* Each target as a dashed line: a point on or above its own line met it. */
    for (size_t i = 0; i < s->n; i++) {
        double a = s->v[i].target;
        if (a < y_lo)
            continue;
        ksiss_sb_printf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\" "
                        "stroke-dasharray=\"3,3\"/>\n", x0, PY(a), x0 + w, PY(a));
        ksiss_sb_printf(&sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" fill=\"#999\">target %g</text>\n",
                        x0 + 4, PY(a) - 2, a);
    }
    size_t np = s->n ? s->v[0].rep.n : 0;
    for (size_t k = 0; k < np; k++) {
        const char *col = sweep_colors[k % (sizeof(sweep_colors) / sizeof(sweep_colors[0]))];
        ksiss_sb_printf(&sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", col);
        for (size_t i = 0; i < s->n; i++) {
            const ksiss_sim_result *r = &s->v[i].rep.v[k];
            ksiss_sb_printf(&sb, "%s%.1f,%.1f", i ? " " : "", PX(r->gpu_hours), PY(fmax(r->slo_attainment, y_lo)));
        }
        ksiss_sb_puts(&sb, "\"/>\n");
        for (size_t i = 0; i < s->n; i++) {
            const ksiss_sim_result *r = &s->v[i].rep.v[k];
            ksiss_sb_printf(&sb, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>", PX(r->gpu_hours),
                            PY(fmax(r->slo_attainment, y_lo)), col);
            ksiss_sb_put_xml(&sb, r->policy);
            ksiss_sb_printf(&sb, " at sloTarget %g: %.2f%% within the SLO, %.3f GPU-hours</title></circle>\n",
                            s->v[i].target, 100 * r->slo_attainment, r->gpu_hours);
        }
        ksiss_sb_printf(&sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x0 + w + 4,
                        y0 + 8 + 16.0 * k, col);
        ksiss_sb_printf(&sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">", x0 + w + 18,
                        y0 + 17 + 16.0 * k);
        ksiss_sb_put_xml(&sb, s->v[0].rep.v[k].policy);
        ksiss_sb_puts(&sb, "</text>\n");
    }
#undef PX
#undef PY
    ksiss_sb_puts(&sb, "</svg>\n");
    return ksiss_sb_take(&sb);
}
