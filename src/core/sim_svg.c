/* sim_svg.c: the simulator's plot as a self-contained SVG document (no
 * gnuplot needed at run time): per policy, load against capacity, GPUs
 * held, tier and instances, and the SLO latency against its target, over
 * time. Pure: renders into a string. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim.h"
#include "core/util.h"

#define W_TOTAL 980
#define LEFT 80
#define RIGHT 20
#define CHART_H 110
#define GAP 28
#define HEADER 34

typedef struct {
    ksiss_strbuf *sb;
    double x0, y0, w, h;    /* plot area */
    double t_max;
    double ymin, ymax;
    bool log;
} chart;

static double cx(const chart *c, double t)
{
    return c->x0 + (c->t_max > 0 ? t / c->t_max : 0) * c->w;
}

static double cy(const chart *c, double v)
{
    double a, b, x;
    if (c->log) {
        a = log10(c->ymin);
        b = log10(c->ymax);
        x = log10(fmax(v, c->ymin));
    } else {
        a = c->ymin;
        b = c->ymax;
        x = v;
    }
    double f = b > a ? (x - a) / (b - a) : 0;
    f = fmin(fmax(f, 0), 1);
    return c->y0 + c->h - f * c->h;
}

static void frame(const chart *c, const char *title)
{
    ksiss_strbuf *sb = c->sb;
    ksiss_sb_printf(sb, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" stroke=\"#bbb\"/>\n",
                    c->x0, c->y0, c->w, c->h);
    ksiss_sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#333\">", c->x0 + 4, c->y0 + 12);
    ksiss_sb_put_xml(sb, title);
    ksiss_sb_puts(sb, "</text>\n");
    /* y labels: bottom, top (and middle for linear) */
    double vals[3] = { c->ymin, c->log ? sqrt(c->ymin * c->ymax) : (c->ymin + c->ymax) / 2, c->ymax };
    for (int i = 0; i < 3; i++) {
        double y = cy(c, vals[i]);
        ksiss_sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">%.3g</text>\n",
                        c->x0 - 4, y + 3, vals[i]);
        ksiss_sb_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                        c->x0, y, c->x0 + c->w, y);
    }
    /* x ticks every 10 minutes (or fewer for long traces) */
    double step = 600;
    while (c->t_max / step > 12)
        step *= 2;
    for (double t = 0; t <= c->t_max + 1e-9; t += step) {
        double x = cx(c, t);
        ksiss_sb_printf(sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", x, c->y0, x,
                        c->y0 + c->h);
        ksiss_sb_printf(sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"9\" text-anchor=\"middle\" fill=\"#777\">%.0f min</text>\n",
                        x, c->y0 + c->h + 10, t / 60);
    }
}

typedef double (*getter)(const ksiss_sim_sample *s);

static void series(const chart *c, const ksiss_sim_result *r, getter g, const char *color, bool step, double width)
{
    ksiss_strbuf *sb = c->sb;
    bool open = false;
    double last_y = 0;
    for (size_t i = 0; i < r->n_samples; i++) {
        double v = g(&r->samples[i]);
        if (!isfinite(v)) {
            if (open)
                ksiss_sb_puts(sb, "\"/>\n");
            open = false;
            continue;
        }
        double x = cx(c, r->samples[i].t_s), y = cy(c, v);
        if (!open) {
            ksiss_sb_printf(sb, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" points=\"", color, width);
            open = true;
        } else if (step) {
            ksiss_sb_printf(sb, "%.1f,%.1f ", x, last_y);
        }
        ksiss_sb_printf(sb, "%.1f,%.1f ", x, y);
        last_y = y;
    }
    if (open)
        ksiss_sb_puts(sb, "\"/>\n");
}

static void legend(const chart *c, int slot, const char *color, const char *label)
{
    double x = c->x0 + c->w - 150 * (slot + 1) + 10;
    ksiss_sb_printf(c->sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
                    x, c->y0 + 9, x + 16, c->y0 + 9, color);
    ksiss_sb_printf(c->sb, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#333\">", x + 20, c->y0 + 12);
    ksiss_sb_put_xml(c->sb, label);
    ksiss_sb_puts(c->sb, "</text>\n");
}

static double g_demand(const ksiss_sim_sample *s) { return s->demand_tps; }
static double g_served(const ksiss_sim_sample *s) { return s->served_tps; }
static double g_capacity(const ksiss_sim_sample *s) { return s->capacity_tps; }
static double g_gpu(const ksiss_sim_sample *s) { return s->gpu_eq; }
static double g_rank(const ksiss_sim_sample *s) { return s->tier_rank >= 0 ? s->tier_rank : NAN; }
static double g_replicas(const ksiss_sim_sample *s) { return s->replicas; }
static double g_latency(const ksiss_sim_sample *s) { return s->latency_s; }

static double max_of(const ksiss_sim_report *r, getter g)
{
    double m = 0;
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = 0; k < r->v[i].n_samples; k++) {
            double v = g(&r->v[i].samples[k]);
            if (isfinite(v) && v > m)
                m = v;
        }
    return m;
}

/* The document's head: the SVG element W_TOTAL wide and height high, a
 * white background and the title. */
static void put_head(ksiss_strbuf *sb, double height, const char *title)
{
    ksiss_sb_printf(sb, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
                        "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\">\n"
                        "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                    W_TOTAL, height, W_TOTAL, height);
    ksiss_sb_puts(sb, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">");
    ksiss_sb_put_xml(sb, title);
    ksiss_sb_puts(sb, "</text>\n");
}

char *ksiss_sim_svg(const ksiss_sim_report *r, const char *title)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    double per_policy = HEADER + 4 * (CHART_H + GAP);
    double height = 40 + per_policy * (double)r->n;
    put_head(&sb, height, title ? title : "ksiss simulate");

    double t_max = r->horizon_s;
    for (size_t i = 0; i < r->n; i++)
        for (size_t k = 0; k < r->v[i].n_samples; k++)
            t_max = fmax(t_max, r->v[i].samples[k].t_s);
    double tok_max = fmax(fmax(max_of(r, g_demand), max_of(r, g_served)), max_of(r, g_capacity));
    double gpu_max = fmax(max_of(r, g_gpu), 1);
    double rank_max = fmax(fmax(max_of(r, g_rank), max_of(r, g_replicas)), 1);
    double lat_max = fmax(max_of(r, g_latency), r->slo_s * 2);
    double lat_min = fmin(r->slo_s / 100, 0.01);

    for (size_t i = 0; i < r->n; i++) {
        const ksiss_sim_result *res = &r->v[i];
        double top = 40 + per_policy * (double)i;
        ksiss_sb_printf(&sb, "<text x=\"10\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", top + 20);
        ksiss_sb_put_xml(&sb, res->policy);
        ksiss_sb_printf(&sb, "</text><text x=\"130\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">"
                             "SLO met %.2f%%, %.3f GPU-hours, %ld transitions, p95 %.3g s, p99 %.3g s%s",
                        top + 20, 100 * res->slo_attainment, res->gpu_hours, res->transitions, res->p95_latency_s,
                        res->p99_latency_s, res->deployment ? ", start/fixed: " : "");
        ksiss_sb_put_xml(&sb, res->deployment ? res->deployment : "");
        ksiss_sb_puts(&sb, "</text>\n");
        double y = top + HEADER;
        chart c = { &sb, LEFT, y, W_TOTAL - LEFT - RIGHT, CHART_H, t_max, fmax(tok_max / 100, 10),
                    fmax(tok_max * 1.2, 100), true };
        frame(&c, r->plot_prompt_tokens ? "prompt tokens/s (log)" : "generated tokens/s (log)");
        series(&c, res, g_demand, "#999", false, 1.0);
        series(&c, res, g_served, "#1f77b4", false, 1.2);
        series(&c, res, g_capacity, "#2ca02c", true, 1.5);
        legend(&c, 0, "#2ca02c", "capacity");
        legend(&c, 1, "#1f77b4", "served");
        legend(&c, 2, "#999", "offered");
        c.y0 += CHART_H + GAP;
        c.log = false;
        c.ymin = 0;
        c.ymax = gpu_max * 1.05;
        frame(&c, "GPUs held (cost-weighted GPU equivalents)");
        series(&c, res, g_gpu, "#ff7f0e", true, 1.5);
        c.y0 += CHART_H + GAP;
        c.ymax = rank_max + 1;
        frame(&c, "tier (rank in the GPU model's ladder) and instances");
        series(&c, res, g_rank, "#9467bd", true, 1.5);
        series(&c, res, g_replicas, "#8c564b", true, 1.0);
        legend(&c, 0, "#8c564b", "instances");
        legend(&c, 1, "#9467bd", "tier rank");
        c.y0 += CHART_H + GAP;
        c.ymin = lat_min;
        c.ymax = lat_max * 1.2;
        c.log = true;
        char *lt = ksiss_xasprintf("%s over the window, seconds (log); dashed: SLO %g s",
                                   ksiss_sim_signal_name(r->slo_signal), r->slo_s);
        frame(&c, lt);
        free(lt);
        double sy = cy(&c, r->slo_s);
        ksiss_sb_printf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" "
                             "stroke-dasharray=\"5,4\"/>\n", c.x0, sy, c.x0 + c.w, sy);
        series(&c, res, g_latency, "#d62728", false, 1.2);
    }
    ksiss_sb_puts(&sb, "</svg>\n");
    return ksiss_sb_take(&sb);
}

static double g_learned(const ksiss_sim_sample *s) { return s->learned_tps; }
static double g_bound(const ksiss_sim_sample *s) { return s->learned_bound_tps; }
static double g_true(const ksiss_sim_sample *s) { return s->true_tps; }

char *ksiss_sim_learning_svg(const ksiss_sim_report *r, const char *title, double warmup_s)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->v[i].learned;
    if (n == 0)
        return NULL;
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    double per_run = HEADER + 2 * CHART_H + GAP;
    double height = 40 + per_run * (double)n;
    put_head(&sb, height, title ? title : "ksiss simulate: learned capacity");
    double t_max = r->horizon_s;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const ksiss_sim_result *res = &r->v[i];
        if (!res->learned)
            continue;
        double vmax = 0;
        for (size_t j = 0; j < res->n_samples; j++) {
            const ksiss_sim_sample *s = &res->samples[j];
            double v[3] = { s->learned_tps, s->learned_bound_tps, s->true_tps };
            for (int q = 0; q < 3; q++)
                if (isfinite(v[q]) && v[q] > vmax)
                    vmax = v[q];
            t_max = fmax(t_max, s->t_s);
        }
        double top = 40 + per_run * (double)k++;
        ksiss_sb_printf(&sb, "<text x=\"10\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\">", top + 20);
        ksiss_sb_put_xml(&sb, res->policy);
        ksiss_sb_printf(&sb, "</text><text x=\"130\" y=\"%.1f\" font-size=\"12\" fill=\"#333\">"
                             "SLO met %.2f%%, %.3f GPU-hours; after the %.0f-minute warm-up %.2f%%, %.3f GPU-hours"
                             "</text>\n",
                        top + 20, 100 * res->slo_attainment, res->gpu_hours, warmup_s / 60,
                        100 * res->slo_attainment_warm, res->gpu_hours_warm);
        chart c = { &sb, LEFT, top + HEADER, W_TOTAL - LEFT - RIGHT, 2 * CHART_H, t_max, 0,
                    fmax(vmax * 1.15, 1), false };
        frame(&c, r->plot_prompt_tokens ? "one instance of the current tier: prompt tokens/s within the SLO"
                                         : "one instance of the current tier: generated tokens/s within the SLO");
        double wx = cx(&c, warmup_s);
        ksiss_sb_printf(&sb, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
                             "stroke-dasharray=\"4,4\"/>\n", wx, c.y0, wx, c.y0 + c.h);
        series(&c, res, g_true, "#2ca02c", true, 2.0);
        series(&c, res, g_learned, "#1f77b4", true, 1.2);
        series(&c, res, g_bound, "#d62728", true, 1.2);
        legend(&c, 0, "#d62728", "bound (planned with)");
        legend(&c, 1, "#1f77b4", "estimate");
        legend(&c, 2, "#2ca02c", "true (serving model)");
    }
    ksiss_sb_puts(&sb, "</svg>\n");
    return ksiss_sb_take(&sb);
}
