/* cmd_check_config.c: `ksiss check-config [--catalog FILE] [--configmap NAME]
 * FILE`: validates an autoscaler ConfigMap (or a bare data mapping) and
 * prints a normalized summary with every effective value, or every
 * problem as FILE:LINE:COLUMN: message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/config.h"
#include "core/gpu_resolve.h"
#include "core/tiers.h"
#include "core/util.h"

#define MAX_CONFIG_BYTES (64u << 20)

static const char usage[] =
    "usage: ksiss check-config [--catalog FILE] [--configmap NAME] FILE\n"
    "\n"
    "Checks an autoscaler configuration: a ConfigMap manifest (the first\n"
    "ConfigMap of the file, or the one named NAME) or a bare mapping of its\n"
    "data section, in the original list format or the extended format\n"
    "(docs/configuration.md). FILE '-' reads standard input.\n"
    "\n"
    "  --catalog FILE     extend the GPU tier catalogue first (docs/catalog.md)\n"
    "  --configmap NAME   the ConfigMap to check when the file holds several\n"
    "\n"
    "Valid: prints one line per service and one per metric with every\n"
    "effective value (defaults included), exit 0. Invalid: every problem on\n"
    "stderr as FILE:LINE:COLUMN: message, exit 1. Usage error: exit 2.\n"
    "Unreadable file: exit 3.\n";

/* Reads FILE or stdin ("-"). */
static char *read_input(const char *path, size_t *len, char **err)
{
    if (strcmp(path, "-") != 0)
        return ksiss_read_file(path, MAX_CONFIG_BYTES, len, err);
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, MAX_CONFIG_BYTES);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (ksiss_sb_append(&sb, chunk, n) != 0) {
            *err = ksiss_xasprintf("-: larger than %u bytes", MAX_CONFIG_BYTES);
            ksiss_sb_free(&sb);
            return NULL;
        }
    }
    if (ferror(stdin)) {
        *err = ksiss_xstrdup("-: read error");
        ksiss_sb_free(&sb);
        return NULL;
    }
    *len = sb.len;
    ksiss_sb_append(&sb, "", 0);
    char *s = ksiss_sb_take(&sb);
    return s ? s : ksiss_xstrdup("");
}

/* Diagnostics in file order: by file, line, column, then as found. */
static int cmp_diag(const void *a, const void *b)
{
    const ksiss_diag *x = *(const ksiss_diag *const *)a, *y = *(const ksiss_diag *const *)b;
    int c = strcmp(x->file, y->file);
    if (c)
        return c;
    if (x->pos.line != y->pos.line)
        return x->pos.line < y->pos.line ? -1 : 1;
    if (x->pos.col != y->pos.col)
        return x->pos.col < y->pos.col ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void print_diags(const ksiss_diags *d)
{
    const ksiss_diag **v = ksiss_xcalloc(d->n ? d->n : 1, sizeof(*v));
    for (size_t i = 0; i < d->n; i++)
        v[i] = &d->v[i];
    qsort(v, d->n, sizeof(*v), cmp_diag);
    for (size_t i = 0; i < d->n; i++) {
        char *s = ksiss_diag_format(v[i]);
        fprintf(stderr, "%s\n", s);
        free(s);
    }
    free(v);
    if (d->dropped)
        fprintf(stderr, "... and %zu more problems\n", d->dropped);
}

/* A query on one line (newlines and tabs as spaces, other control bytes
 * escaped); caller frees. */
static char *one_line(const char *s)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\t' || c == '\r')
            ksiss_sb_putc(&sb, ' ');
        else if (c < 0x20 || c == 0x7f)
            ksiss_sb_printf(&sb, "\\x%02x", c);
        else
            ksiss_sb_putc(&sb, (char)c);
    }
    char *r = ksiss_sb_take(&sb);
    return r ? r : ksiss_xstrdup("");
}

static void print_service(const ksiss_catalog *cat, const ksiss_service_cfg *s)
{
    char *cu = ksiss_format_duration(s->cooldown_up_ms), *cd = ksiss_format_duration(s->cooldown_down_ms);
    char *su = ksiss_format_duration(s->stabilization_up_ms), *sd = ksiss_format_duration(s->stabilization_down_ms);
    char *st = ksiss_format_duration(s->stale_after_ms);
    if (ksiss_gpu_model_inferred(s)) {
        /* The original's format names no model: found at run time
         * (gpu_resolve.h); the ladder is that model's. */
        size_t n = ksiss_gpu_legacy_ladder(cat, "A100-40GB", NULL, 0);
        const ksiss_tier **a100 = ksiss_xcalloc(n ? n : 1, sizeof(*a100));
        n = ksiss_gpu_legacy_ladder(cat, "A100-40GB", a100, n);
        printf("service %s: format legacy, gpu from the running revision at run time (the GPU resource it "
               "requests, the nvidia.com/gpu.product label of its nodes), tiers the model's ladder (A100-40GB: [",
               s->name);
        for (size_t i = 0; i < n; i++)
            printf("%s%s", i ? ", " : "", a100[i]->name);
        printf("]; other models: ksiss tiers --gpu MODEL)");
        free(a100);
    } else {
        printf("service %s: format %s, gpu %s, tiers [", s->name, s->legacy ? "legacy" : "extended",
               s->gpu_model ? s->gpu_model : cat->default_model);
        for (size_t i = 0; i < s->n_ladder; i++)
            printf("%s%s", i ? ", " : "", s->ladder[i]->name);
        printf("]");
    }
    printf(", replicas %d..%d, modelMemoryGiB ", s->min_replicas, s->max_replicas);
    if (s->model_memory_gib > 0)
        printf("%g", s->model_memory_gib);
    else
        printf("unknown");
    printf(", cooldown up %s down %s, stabilization up %s down %s, staleAfter %s, sloTarget %g, policy %s\n", cu, cd,
           su, sd, st, s->slo_target, s->policy);
    free(cu);
    free(cd);
    free(su);
    free(sd);
    free(st);
    for (size_t i = 0; i < s->n_metrics; i++) {
        const ksiss_metric_cfg *m = &s->metrics[i];
        char *q = one_line(m->query ? m->query : "");
        printf("  metric %s/%s: slo %g, direction %s, aggregate %s, scaleUpFactor %g, scaleDownFactor %g, query %s\n",
               s->name, m->name, m->slo, ksiss_direction_name(m->direction), ksiss_aggregate_name(m->aggregate),
               m->scale_up_factor, m->scale_down_factor, q);
        free(q);
    }
    if (s->has_load) {
        char *q = one_line(s->load.query);
        if (s->load.learn)
            printf("  load %s: capacity learned per tier (%s)\n", s->name,
                   s->load.per_gpu > 0 ? "starting from perGpu" : "no perGpu: starting from nothing");
        printf("  load %s: perGpu %g, throughput %s, targetUtilization %g, query %s\n", s->name, s->load.per_gpu,
               s->load.throughput == KSISS_THROUGHPUT_PREFILL ? "prefill" : "decode", s->load.target_utilization, q);
        free(q);
    }
}

int ksiss_cmd_check_config(int argc, char **argv)
{
    if (ksiss_cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return KSISS_EXIT_OK;
    }
    const char *catalog = NULL, *cm_name = NULL, *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *val = NULL;
        if (!strcmp(a, "--catalog") || !strcmp(a, "--configmap")) {
            slot = a[3] == 'a' ? &catalog : &cm_name;
            if (i + 1 >= argc) {
                fprintf(stderr, "ksiss check-config: %s needs a value\n%s", a, usage);
                return KSISS_EXIT_USAGE;
            }
            val = argv[++i];
        } else if (ksiss_str_has_prefix(a, "--catalog=")) {
            slot = &catalog;
            val = a + 10;
        } else if (ksiss_str_has_prefix(a, "--configmap=")) {
            slot = &cm_name;
            val = a + 12;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "ksiss check-config: unknown option %s\n%s", a, usage);
            return KSISS_EXIT_USAGE;
        } else if (file) {
            fprintf(stderr, "ksiss check-config: one FILE only (got %s and %s)\n%s", file, a, usage);
            return KSISS_EXIT_USAGE;
        } else {
            file = a;
            continue;
        }
        if (*slot || !*val) {
            fprintf(stderr, "ksiss check-config: %s given twice or empty\n%s", a, usage);
            return KSISS_EXIT_USAGE;
        }
        *slot = val;
    }
    if (!file) {
        fprintf(stderr, "ksiss check-config: FILE is missing\n%s", usage);
        return KSISS_EXIT_USAGE;
    }

    ksiss_catalog cat;
    ksiss_catalog_builtin(&cat);
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = KSISS_EXIT_OK;
    char *err = NULL;
    size_t len = 0;
    if (catalog) {
        char *ctext = read_input(catalog, &len, &err);
        if (!ctext) {
            fprintf(stderr, "ksiss check-config: %s\n", err);
            free(err);
            ksiss_catalog_free(&cat);
            return KSISS_EXIT_RUNTIME;
        }
        int crc = ksiss_catalog_extend(&cat, ctext, len, catalog, 0, 0, &d);
        free(ctext);
        if (crc != 0) {
            print_diags(&d);
            ksiss_diags_free(&d);
            ksiss_catalog_free(&cat);
            return KSISS_EXIT_PROBLEM;
        }
    }
    char *text = read_input(file, &len, &err);
    if (!text) {
        fprintf(stderr, "ksiss check-config: %s\n", err);
        free(err);
        ksiss_catalog_free(&cat);
        ksiss_diags_free(&d);
        return KSISS_EXIT_RUNTIME;
    }
    ksiss_config cfg;
    const char *shown = strcmp(file, "-") ? file : "<stdin>";
    int prc = ksiss_config_parse(text, len, shown, cm_name, &cat, &cfg, &d);
    print_diags(&d);
    if (prc != 0) {
        rc = KSISS_EXIT_PROBLEM;
    } else {
        size_t n_metrics = 0;
        for (size_t i = 0; i < cfg.n_services; i++) {
            print_service(&cat, &cfg.services[i]);
            n_metrics += cfg.services[i].n_metrics;
        }
        printf("%s: valid: %zu service%s, %zu metric%s\n", shown, cfg.n_services, cfg.n_services == 1 ? "" : "s",
               n_metrics, n_metrics == 1 ? "" : "s");
    }
    ksiss_config_free(&cfg);
    free(text);
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
    return rc;
}
