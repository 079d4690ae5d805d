/* scoreboard.c: the evaluation suite's scoreboard (`make sim-suite`,
 * docs/simulator.md "The evaluation suite"). Reads the suite's manifest
 * (one case a line, tab-separated: name, class real|spike, the name of the
 * unjittered base case or "-", the `ksiss simulate --json` file, a short
 * description, and optionally three more JSON files or "-": `ksiss`
 * learning its capacity without perGpu, from a perGpu 2x too high and from
 * one 2x too low), judges `ksiss` on each case with core/sim_score.c, and
 * writes a terminal table, OUTDIR/scoreboard.json, OUTDIR/scoreboard.svg
 * (attainment against cost per case, every policy a point) and a one-line
 * summary. Deterministic: the same files give the same bytes.
 * usage: sim-scoreboard MANIFEST OUTDIR   (exit 0 report written, 1 bad input) */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sim_score.h"
#include "core/util.h"

#define MAX_CASES 1000
#define N_LEARN 3   /* no profile, 2x optimistic, 2x pessimistic */

static const char *const learn_name[N_LEARN] = { "no_profile", "profile_2x_high", "profile_2x_low" };

typedef struct {
    char name[96], cls_name[16], base_name[96], json[512], desc[160];
    double unattainable;    /* share no deployment serves within the SLO; NAN if the JSON has none */
    char learn_json[N_LEARN][512];
    ksiss_score_case c;
    ksiss_score_verdict v;
    ksiss_score_point warm;             /* ksiss with the profile, after the warm-up */
    ksiss_score_point learn[N_LEARN];   /* ksiss learning, after the warm-up */
    ksiss_score_learn lv[N_LEARN];
} suite_case;

static suite_case cases[MAX_CASES];
static size_t n_cases;

static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    char *s = line;
    for (;;) {
        if (n == max)
            return -1;
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t)
            break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

/* ksiss's figures after the warm-up in a `ksiss simulate --json` file. */
static int load_warm(const char *file, ksiss_score_point *out, const char *manifest, int line)
{
    json_error_t err;
    json_t *root = json_load_file(file, 0, &err);
    if (!root) {
        fprintf(stderr, "%s:%d: %s: %s\n", manifest, line, file, err.text);
        return -1;
    }
    json_t *w = json_object_get(json_object_get(json_object_get(root, "policies"), "ksiss"), "after_warmup");
    json_t *a = json_object_get(w, "slo_attainment"), *g = json_object_get(w, "gpu_hours");
    int rc = 0;
    if (!json_is_number(a) || !json_is_number(g)) {
        fprintf(stderr, "%s:%d: %s: policies.ksiss.after_warmup lacks slo_attainment or gpu_hours\n", manifest, line,
                file);
        rc = -1;
    } else {
        out->present = true;
        out->attainment = json_number_value(a);
        out->cost = json_number_value(g);
    }
    json_decref(root);
    return rc;
}

static int load_json(suite_case *sc, const char *manifest, int line)
{
    json_error_t err;
    json_t *root = json_load_file(sc->json, 0, &err);
    if (!root) {
        fprintf(stderr, "%s:%d: %s: %s\n", manifest, line, sc->json, err.text);
        return -1;
    }
    json_t *un = json_object_get(root, "unattainable");
    sc->unattainable = json_is_number(un) ? json_number_value(un) : NAN;
    json_t *pols = json_object_get(root, "policies");
    if (!json_is_object(pols)) {
        fprintf(stderr, "%s:%d: %s: no \"policies\" object\n", manifest, line, sc->json);
        json_decref(root);
        return -1;
    }
    for (int i = 0; i < KSISS_SCORE_NPOL; i++) {
        json_t *p = json_object_get(pols, ksiss_score_policy[i]);
        if (!p)
            continue;
        json_t *a = json_object_get(p, "slo_attainment"), *g = json_object_get(p, "gpu_hours");
        if (!json_is_number(a) || !json_is_number(g)) {
            fprintf(stderr, "%s:%d: %s: policy %s lacks slo_attainment or gpu_hours\n", manifest, line, sc->json,
                    ksiss_score_policy[i]);
            json_decref(root);
            return -1;
        }
        sc->c.p[i].present = true;
        sc->c.p[i].attainment = json_number_value(a);
        sc->c.p[i].cost = json_number_value(g);
    }
    json_decref(root);
    return 0;
}

static int read_manifest(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "sim-scoreboard: %s: %s\n", path, strerror(errno));
        return -1;
    }
    char line[2048];
    int ln = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        ln++;
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#')
            continue;
        char *fl[5 + N_LEARN];
        int nf = split_tabs(line, fl, 5 + N_LEARN);
        if (nf != 5 && nf != 5 + N_LEARN) {
            fprintf(stderr, "%s:%d: expected 5 tab-separated fields: name class base json description, and "
                            "optionally 3 more: the no-profile, 2x-high and 2x-low json\n", path, ln);
            rc = -1;
            break;
        }
        if (n_cases == MAX_CASES) {
            fprintf(stderr, "%s:%d: more than %d cases\n", path, ln, MAX_CASES);
            rc = -1;
            break;
        }
        suite_case *sc = &cases[n_cases];
        memset(sc, 0, sizeof(*sc));
        copy(sc->name, sizeof(sc->name), fl[0]);
        copy(sc->cls_name, sizeof(sc->cls_name), fl[1]);
        copy(sc->base_name, sizeof(sc->base_name), fl[2]);
        copy(sc->json, sizeof(sc->json), fl[3]);
        copy(sc->desc, sizeof(sc->desc), fl[4]);
        for (int k = 0; k < N_LEARN; k++)
            copy(sc->learn_json[k], sizeof(sc->learn_json[k]), nf > 5 ? fl[5 + k] : "-");
        if (ksiss_score_class_parse(sc->cls_name, &sc->c.cls) != 0) {
            fprintf(stderr, "%s:%d: class \"%s\": expected real or spike\n", path, ln, sc->cls_name);
            rc = -1;
            break;
        }
        for (size_t i = 0; i < n_cases; i++)
            if (!strcmp(cases[i].name, sc->name)) {
                fprintf(stderr, "%s:%d: case \"%s\" named twice\n", path, ln, sc->name);
                rc = -1;
            }
        if (rc != 0 || load_json(sc, path, ln) != 0) {
            rc = -1;
            break;
        }
        for (int k = 0; k < N_LEARN && rc == 0; k++)
            if (strcmp(sc->learn_json[k], "-") &&
                (load_warm(sc->json, &sc->warm, path, ln) != 0 ||
                 load_warm(sc->learn_json[k], &sc->learn[k], path, ln) != 0))
                rc = -1;
        if (rc != 0)
            break;
        if (strcmp(sc->base_name, "-")) {
            size_t i;
            for (i = 0; i < n_cases && strcmp(cases[i].name, sc->base_name); i++)
                ;
            if (i == n_cases) {
                fprintf(stderr, "%s:%d: base case \"%s\" not listed before \"%s\"\n", path, ln, sc->base_name,
                        sc->name);
                rc = -1;
                break;
            }
            sc->c.base = cases[i].c.p[KSISS_SCORE_KSISS];
        }
        n_cases++;
    }
    fclose(f);
    if (rc == 0 && n_cases == 0) {
        fprintf(stderr, "%s: no case\n", path);
        rc = -1;
    }
    return rc;
}

/* "99.77%/1.54x" (cost against the oracle) or "99.77%/0.923" without one. */
static void cell(char *buf, size_t cap, const suite_case *sc, int pol)
{
    const ksiss_score_point *p = &sc->c.p[pol], *o = &sc->c.p[KSISS_SCORE_ORACLE];
    if (!p->present)
        snprintf(buf, cap, "-");
    else if (o->present && o->cost > 0)
        snprintf(buf, cap, "%.2f%%/%.2fx", 100 * p->attainment, p->cost / o->cost);
    else
        snprintf(buf, cap, "%.2f%%/%.3f", 100 * p->attainment, p->cost);
}

typedef struct {
    size_t meets, dominated, floor, jitter, jitter_cases, real, over_aim;
    size_t learn_checked[N_LEARN], learn_ok[N_LEARN];
} summary;

static summary summarize(void)
{
    summary s = { 0 };
    for (size_t i = 0; i < n_cases; i++) {
        const ksiss_score_verdict *v = &cases[i].v;
        s.meets += v->meets;
        s.dominated += v->dominated_by >= 0;
        s.floor += !v->floor_ok;
        s.jitter_cases += v->jitter_checked;
        s.jitter += v->jitter_checked && !v->jitter_ok;
        for (int k = 0; k < N_LEARN; k++) {
            s.learn_checked[k] += cases[i].lv[k].checked;
            s.learn_ok[k] += cases[i].lv[k].ok;
        }
        if (cases[i].c.cls == KSISS_SCORE_REAL) {
            s.real++;
            s.over_aim += v->over_cost_aim;
        }
    }
    return s;
}

static void summary_line(FILE *f, const summary *s)
{
    fprintf(f, "sim-suite: ksiss meets the rules on %zu of %zu cases (dominated on %zu, below its attainment floor on "
               "%zu, unstable under jitter on %zu of %zu); real cases above 1.5x the oracle's GPU-hours: %zu of %zu\n",
            s->meets, n_cases, s->dominated, s->floor, s->jitter, s->jitter_cases, s->over_aim, s->real);
    if (s->learn_checked[0] + s->learn_checked[1] + s->learn_checked[2] > 0)
        fprintf(f, "sim-suite: learned capacity within 0.5 points and 10%% GPU-hours of the true profile after the "
                   "10-minute warm-up: without perGpu on %zu of %zu, from perGpu 2x too high on %zu of %zu, 2x too "
                   "low on %zu of %zu\n",
                s->learn_ok[0], s->learn_checked[0], s->learn_ok[1], s->learn_checked[1], s->learn_ok[2],
                s->learn_checked[2]);
}

/* "-0.12/+4.1%" (points, cost) or "-". */
static void learn_cell(char *buf, size_t cap, const ksiss_score_learn *l)
{
    if (!l->checked)
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%+.2f/%+.1f%%%s", 100 * l->points, 100 * l->cost, l->ok ? "" : "!");
}

static void print_table(void)
{
    printf("%-26s %-5s %-16s %-16s %-16s %-16s %-8s %-15s %-15s %-15s %s\n", "case", "class", "ksiss", "horizontal",
           "static", "seed", "oracle", "no profile", "perGpu x2", "perGpu /2", "verdict (attainment/cost vs oracle)");
    for (size_t i = 0; i < n_cases; i++) {
        suite_case *sc = &cases[i];
        char k[32], h[32], s[32], d[32], o[16];
        cell(k, sizeof(k), sc, KSISS_SCORE_KSISS);
        cell(h, sizeof(h), sc, KSISS_SCORE_HORIZONTAL);
        cell(s, sizeof(s), sc, KSISS_SCORE_STATIC);
        cell(d, sizeof(d), sc, KSISS_SCORE_SEED);
        if (sc->c.p[KSISS_SCORE_ORACLE].present)
            snprintf(o, sizeof(o), "%.2f%%", 100 * sc->c.p[KSISS_SCORE_ORACLE].attainment);
        else
            snprintf(o, sizeof(o), "-");
        char lc[N_LEARN][40];
        for (int q = 0; q < N_LEARN; q++)
            learn_cell(lc[q], sizeof(lc[q]), &sc->lv[q]);
        printf("%-26s %-5s %-16s %-16s %-16s %-16s %-8s %-15s %-15s %-15s %s", sc->name, sc->cls_name, k, h, s, d, o,
               lc[0], lc[1], lc[2], sc->v.meets ? "ok" : sc->v.why);
        if (sc->v.jitter_checked)
            printf(" (jitter: cost %+.2f%%, %+.2f points)", 100 * sc->v.jitter_cost, 100 * sc->v.jitter_points);
        if (sc->v.over_cost_aim)
            printf(" [cost above 1.5x]");
        if (sc->unattainable > 0)
            printf(" [%.2f%% unattainable]", 100 * sc->unattainable);
        printf("\n");
    }
}

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static int write_json(const char *path, const summary *s)
{
    json_t *root = json_object(), *arr = json_array();
    for (size_t i = 0; i < n_cases; i++) {
        suite_case *sc = &cases[i];
        json_t *c = json_object(), *pols = json_object(), *v = json_object();
        json_object_set_new(c, "name", json_string(sc->name));
        json_object_set_new(c, "class", json_string(sc->cls_name));
        json_object_set_new(c, "description", json_string(sc->desc));
        json_object_set_new(c, "base", strcmp(sc->base_name, "-") ? json_string(sc->base_name) : json_null());
        json_object_set_new(c, "unattainable", num(sc->unattainable));
        for (int p = 0; p < KSISS_SCORE_NPOL; p++) {
            const ksiss_score_point *pt = &sc->c.p[p];
            if (!pt->present)
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "slo_attainment", num(pt->attainment));
            json_object_set_new(o, "gpu_hours", num(pt->cost));
            const ksiss_score_point *orc = &sc->c.p[KSISS_SCORE_ORACLE];
            json_object_set_new(o, "cost_vs_oracle", num(orc->present && orc->cost > 0 ? pt->cost / orc->cost : NAN));
            json_object_set_new(pols, ksiss_score_policy[p], o);
        }
        json_object_set_new(c, "policies", pols);
        json_object_set_new(v, "meets", json_boolean(sc->v.meets));
        json_object_set_new(v, "why", json_string(sc->v.why));
        json_object_set_new(v, "dominated_by",
                            sc->v.dominated_by >= 0 ? json_string(ksiss_score_policy[sc->v.dominated_by]) : json_null());
        json_object_set_new(v, "floor", num(sc->v.floor));
        json_object_set_new(v, "floor_ok", json_boolean(sc->v.floor_ok));
        json_object_set_new(v, "cost_vs_oracle", num(sc->v.cost_vs_oracle));
        json_object_set_new(v, "over_cost_aim", json_boolean(sc->v.over_cost_aim));
        if (sc->v.jitter_checked) {
            json_object_set_new(v, "jitter_ok", json_boolean(sc->v.jitter_ok));
            json_object_set_new(v, "jitter_cost_change", num(sc->v.jitter_cost));
            json_object_set_new(v, "jitter_attainment_change", num(sc->v.jitter_points));
        }
        json_object_set_new(c, "ksiss", v);
        json_t *lj = json_object();
        for (int k = 0; k < N_LEARN; k++) {
            if (!sc->lv[k].checked)
                continue;
            json_t *o = json_object();
            json_object_set_new(o, "slo_attainment_after_warmup", num(sc->learn[k].attainment));
            json_object_set_new(o, "gpu_hours_after_warmup", num(sc->learn[k].cost));
            json_object_set_new(o, "attainment_change", num(sc->lv[k].points));
            json_object_set_new(o, "cost_change", num(sc->lv[k].cost));
            json_object_set_new(o, "within_bound", json_boolean(sc->lv[k].ok));
            json_object_set_new(lj, learn_name[k], o);
        }
        json_object_set_new(c, "learned_capacity", lj);
        json_array_append_new(arr, c);
    }
    json_t *sm = json_object();
    json_object_set_new(sm, "cases", json_integer((json_int_t)n_cases));
    json_object_set_new(sm, "ksiss_meets_rules", json_integer((json_int_t)s->meets));
    json_object_set_new(sm, "dominated", json_integer((json_int_t)s->dominated));
    json_object_set_new(sm, "below_floor", json_integer((json_int_t)s->floor));
    json_object_set_new(sm, "jitter_cases", json_integer((json_int_t)s->jitter_cases));
    json_object_set_new(sm, "jitter_unstable", json_integer((json_int_t)s->jitter));
    json_object_set_new(sm, "real_cases", json_integer((json_int_t)s->real));
    json_object_set_new(sm, "real_over_cost_aim", json_integer((json_int_t)s->over_aim));
    for (int k = 0; k < N_LEARN; k++) {
        char key[64];
        snprintf(key, sizeof(key), "learned_%s_within_bound", learn_name[k]);
        json_object_set_new(sm, key, json_integer((json_int_t)s->learn_ok[k]));
        snprintf(key, sizeof(key), "learned_%s_cases", learn_name[k]);
        json_object_set_new(sm, key, json_integer((json_int_t)s->learn_checked[k]));
    }
    json_object_set_new(root, "summary", sm);
    json_object_set_new(root, "cases", arr);
    int rc = json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "sim-scoreboard: cannot write %s: %s\n", path, strerror(errno));
    return rc;
}

/* Writes s XML-escaped (the library's escaper, through a buffer). */
static void xml_text(FILE *f, const char *s)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_put_xml(&sb, s);
    fputs(ksiss_sb_str(&sb), f);
    ksiss_sb_free(&sb);
}

/* One panel per case: attainment (y) against GPU-hours relative to the
 * oracle (x), every policy a coloured point; the ksiss floor as a line. */
static int write_svg(const char *path)
{
    static const char *colour[KSISS_SCORE_NPOL] = { "#d62728", "#7f7f7f", "#1f77b4", "#2ca02c", "#000000" };
    enum { COLS = 6, PW = 200, PH = 150, ML = 38, MT = 22, MB = 26, MR = 8, HEAD = 56 };
    int rows = (int)((n_cases + COLS - 1) / COLS);
    int cw = ML + PW + MR, ch = MT + PH + MB;
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sim-scoreboard: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" "
               "font-size=\"10\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            COLS * cw, HEAD + rows * ch);
    fprintf(f, "<text x=\"8\" y=\"18\" font-size=\"14\">ksiss simulate evaluation suite: SLO attainment (y) against "
               "GPU-hours / oracle's (x), per case</text>\n");
    for (int p = 0; p < KSISS_SCORE_NPOL; p++)
        fprintf(f, "<circle cx=\"%d\" cy=\"38\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"42\">%s</text>\n",
                14 + p * 110, colour[p], 22 + p * 110, ksiss_score_policy[p]);
    fprintf(f, "<line x1=\"560\" y1=\"38\" x2=\"580\" y2=\"38\" stroke=\"#d62728\" stroke-dasharray=\"3,2\"/>"
               "<text x=\"585\" y=\"42\">ksiss's attainment floor; a red title: ksiss misses a rule</text>\n");
    for (size_t i = 0; i < n_cases; i++) {
        const suite_case *sc = &cases[i];
        double ox = (double)(i % COLS) * cw + ML, oy = HEAD + (double)(i / COLS) * ch + MT;
        double ocost = sc->c.p[KSISS_SCORE_ORACLE].present ? sc->c.p[KSISS_SCORE_ORACLE].cost : NAN;
        /* x: 0 .. the largest ratio (at least 2); y: the lowest attainment (at most 90%) .. 100%. */
        double xmax = 2, ymin = 0.9;
        for (int p = 0; p < KSISS_SCORE_NPOL; p++) {
            const ksiss_score_point *pt = &sc->c.p[p];
            if (!pt->present)
                continue;
            double x = isfinite(ocost) && ocost > 0 ? pt->cost / ocost : pt->cost;
            if (x > xmax)
                xmax = x;
            if (pt->attainment < ymin)
                ymin = pt->attainment;
        }
        xmax = ceil(xmax * 2) / 2;
        ymin = floor(ymin * 20) / 20;
        fprintf(f, "<g>\n<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">", ox, oy - 6, sc->v.meets ? "black" : "#d62728");
        xml_text(f, sc->name);
        fprintf(f, "</text>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n",
                ox, oy, PW, PH);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">100%%</text><text x=\"%.0f\" y=\"%.0f\" "
                   "text-anchor=\"end\">%.0f%%</text>\n",
                ox - 3, oy + 8, ox - 3, oy + PH, 100 * ymin);
        fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">0</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1fx</text>\n",
                ox, oy + PH + 12, ox + PW, oy + PH + 12, xmax);
        if (isfinite(sc->v.floor) && sc->v.floor > ymin) {
            double y = oy + PH - (sc->v.floor - ymin) / (1 - ymin) * PH;
            fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#d62728\" "
                       "stroke-dasharray=\"3,2\"/>\n", ox, y, ox + PW, y);
        }
        /* The oracle first, ksiss last (on top). */
        static const int order[KSISS_SCORE_NPOL] = { KSISS_SCORE_ORACLE, KSISS_SCORE_SEED, KSISS_SCORE_STATIC,
                                                     KSISS_SCORE_HORIZONTAL, KSISS_SCORE_KSISS };
        for (int j = 0; j < KSISS_SCORE_NPOL; j++) {
            int p = order[j];
            const ksiss_score_point *pt = &sc->c.p[p];
            if (!pt->present)
                continue;
            double xr = isfinite(ocost) && ocost > 0 ? pt->cost / ocost : pt->cost;
            double x = ox + xr / xmax * PW, y = oy + PH - (pt->attainment - ymin) / (1 - ymin) * PH;
            fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" fill-opacity=\"0.8\"><title>%s: %.2f%%, "
                       "%.3f GPU-hours</title></circle>\n",
                    x, y, colour[p], ksiss_score_policy[p], 100 * pt->attainment, pt->cost);
        }
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
    if (fclose(f) != 0) {
        fprintf(stderr, "sim-scoreboard: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: sim-scoreboard MANIFEST OUTDIR\n");
        return 2;
    }
    if (read_manifest(argv[1]) != 0)
        return 1;
    for (size_t i = 0; i < n_cases; i++) {
        ksiss_score_eval(&cases[i].c, &cases[i].v);
        for (int k = 0; k < N_LEARN; k++)
            ksiss_score_learned(&cases[i].warm, &cases[i].learn[k], &cases[i].lv[k]);
    }
    summary s = summarize();
    print_table();
    printf("\n");
    summary_line(stdout, &s);
    char path[1024];
    snprintf(path, sizeof(path), "%s/scoreboard.json", argv[2]);
    if (write_json(path, &s) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/scoreboard.svg", argv[2]);
    if (write_svg(path) != 0)
        return 1;
    snprintf(path, sizeof(path), "%s/summary.txt", argv[2]);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "sim-scoreboard: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    summary_line(f, &s);
    fclose(f);
    printf("scoreboard: %s/scoreboard.json, %s/scoreboard.svg\n", argv[2], argv[2]);
    return 0;
}
