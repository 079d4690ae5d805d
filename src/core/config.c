/* config.c: the autoscaler ConfigMap parser (config.h): finds the data
 * mapping in a ConfigMap manifest or a bare file, parses each service in
 * the original's list format or our extended mapping format (values
 * embedded in `|` blocks keep positions in the user's file), applies the
 * catalogue extension `ksiss.catalog` first, and checks every field,
 * collecting every problem as a positioned diagnostic. */
#include <jansson.h>

#include "core/config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/policy.h"
#include "core/promql.h"
#include "core/util.h"
#include "core/yaml_tree.h"

#define CATALOG_KEY "ksiss.catalog"
#define MAX_REPLICAS_LIMIT 1000
#define MAX_DURATION_MS (24LL * 3600 * 1000)
#define MAX_MODEL_MEMORY_GIB 1.0e6
/* SLOs and per-GPU loads outside this range are typos (or unit mix-ups)
 * and would make pressure ratios overflow or vanish. */
#define MIN_FIGURE 1e-9
#define MAX_FIGURE 1e15
#define MAX_METRICS 100         /* per service: more is a mistake, and bounds the duplicate check */
#define MAX_LADDER 64           /* tier names listed per service */

typedef struct {
    ksiss_catalog *cat;
    ksiss_diags *d;
    const char *file;
    bool bad;               /* an error (not a warning) was reported */
} ctx;

static void err(ctx *c, ksiss_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(ctx *c, ksiss_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    ksiss_diags_add(c->d, c->file, pos, "%s", msg);
    free(msg);
    c->bad = true;
}

/* Runs a typed getter and remembers a failure. */
#define GET(call) ((call) == 0 ? 0 : (c->bad = true, -1))

const char *ksiss_direction_name(ksiss_direction dir)
{
    return dir == KSISS_HIGHER_IS_BETTER ? "higher" : "lower";
}

const char *ksiss_aggregate_name(ksiss_aggregate a)
{
    switch (a) {
    case KSISS_AGG_AVG: return "avg";
    case KSISS_AGG_SUM: return "sum";
    default: return "max";
    }
}

/* Kubernetes DNS-1035 label: what a Knative Service name must be. */
static bool dns1035_label(const char *s, size_t len)
{
    if (len == 0 || len > 63 || len != strlen(s))
        return false;
    if (!(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
            return false;
    }
    return s[len - 1] != '-';
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

/* ---- metrics ---- */

static const char *const metric_keys[] = {
    "name", "query", "slo", "scaleUpFactor", "scaleDownFactor", "direction", "aggregate", NULL,
};

/* "a, b, c" from a NULL-terminated list of names (caller frees). */
static char *join_names(const char *const *names)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    for (int i = 0; names[i]; i++)
        ksiss_sb_printf(&sb, "%s%s", i ? ", " : "", names[i]);
    return ksiss_sb_take(&sb);
}

static int parse_enum(ctx *c, const ksiss_ynode *n, const char *what, const char *const *names, int *out)
{
    const char *s;
    if (GET(ksiss_y_string(n, c->file, what, &s, c->d)) != 0)
        return -1;
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i])) {
            *out = i;
            return 0;
        }
    char *ex = ksiss_y_excerpt(n), *all = join_names(names);
    err(c, n->pos, "%s: %s is not one of %s", what, ex, all);
    free(all);
    free(ex);
    return -1;
}

static void parse_metric(ctx *c, const char *svc, size_t idx, const ksiss_ynode *n, ksiss_metric_cfg *m)
{
    memset(m, 0, sizeof(*m));
    m->pos = n->pos;
    m->scale_up_factor = 1.0;
    m->scale_down_factor = 0.5;
    m->direction = KSISS_LOWER_IS_BETTER;
    m->aggregate = KSISS_AGG_MAX;
    if (n->kind != KSISS_Y_MAP) {
        err(c, n->pos, "service \"%s\": metric %zu: expected a mapping with name, query, slo, got %s",
            svc, idx + 1, ksiss_y_kind_name(n));
        m->name = ksiss_xasprintf("metric-%zu", idx + 1);
        return;
    }
    const ksiss_ynode *name = ksiss_ymap_get(n, "name");
    const char *name_s = NULL;
    char *what = NULL;
    if (name && ksiss_y_string(name, c->file, "name", &name_s, c->d) == 0 && !blank(name_s)) {
        m->name = ksiss_xstrdup(name_s);
        char *ex = ksiss_y_excerpt(name);
        what = ksiss_xasprintf("service \"%s\": metric %s", svc, ex);
        free(ex);
    } else {
        if (name && name_s)
            err(c, name->pos, "service \"%s\": metric %zu: name is empty", svc, idx + 1);
        else if (name)
            c->bad = true;   /* the getter said why */
        m->name = ksiss_xasprintf("metric-%zu", idx + 1);
        what = ksiss_xasprintf("service \"%s\": metric %zu", svc, idx + 1);
    }
    if (ksiss_y_check_keys(n, c->file, what, metric_keys, c->d))
        c->bad = true;

    char *f = NULL;
    const ksiss_ynode *q = ksiss_ymap_get(n, "query");
    if (!q) {
        err(c, n->pos, "%s: query is missing", what);
    } else {
        const char *qs;
        f = ksiss_xasprintf("%s: query", what);
        if (GET(ksiss_y_string(q, c->file, f, &qs, c->d)) == 0) {
            if (blank(qs))
                err(c, q->pos, "%s: is empty", f);
            else
                m->query = ksiss_xstrdup(qs);
        }
        free(f);
    }

    const ksiss_ynode *slo = ksiss_ymap_get(n, "slo");
    if (!slo) {
        err(c, n->pos, "%s: slo is missing", what);
    } else {
        f = ksiss_xasprintf("%s: slo", what);
        if (GET(ksiss_y_double(slo, c->file, f, &m->slo, c->d)) == 0 && !(m->slo > 0))
            err(c, slo->pos, "%s: must be a positive number, got %g", f, m->slo);
        else if (m->slo > 0 && (m->slo < MIN_FIGURE || m->slo > MAX_FIGURE))
            err(c, slo->pos, "%s: %g is outside [%g, %g]", f, m->slo, MIN_FIGURE, MAX_FIGURE);
        free(f);
    }

    const ksiss_ynode *up = ksiss_ymap_get(n, "scaleUpFactor");
    if (up) {
        f = ksiss_xasprintf("%s: scaleUpFactor", what);
        if (GET(ksiss_y_double(up, c->file, f, &m->scale_up_factor, c->d)) == 0 &&
            (m->scale_up_factor < 1.0 || m->scale_up_factor > 1.0e6))
            err(c, up->pos, "%s: must be at least 1 (scale up when the metric is that many times worse than its slo), got %g",
                f, m->scale_up_factor);
        free(f);
    }
    const ksiss_ynode *down = ksiss_ymap_get(n, "scaleDownFactor");
    if (down) {
        f = ksiss_xasprintf("%s: scaleDownFactor", what);
        if (GET(ksiss_y_double(down, c->file, f, &m->scale_down_factor, c->d)) == 0 &&
            (!(m->scale_down_factor > 0) || m->scale_down_factor > 1.0))
            err(c, down->pos, "%s: must be in (0, 1] (scale down when the metric is that fraction of its slo), got %g",
                f, m->scale_down_factor);
        free(f);
    }

    static const char *const dirs[] = {"lower", "higher", NULL};
    static const char *const aggs[] = {"max", "avg", "sum", NULL};
    const ksiss_ynode *dir = ksiss_ymap_get(n, "direction");
    if (dir) {
        int v;
        f = ksiss_xasprintf("%s: direction", what);
        if (parse_enum(c, dir, f, dirs, &v) == 0)
            m->direction = v ? KSISS_HIGHER_IS_BETTER : KSISS_LOWER_IS_BETTER;
        free(f);
    }
    const ksiss_ynode *agg = ksiss_ymap_get(n, "aggregate");
    if (agg) {
        int v;
        f = ksiss_xasprintf("%s: aggregate", what);
        if (parse_enum(c, agg, f, aggs, &v) == 0)
            m->aggregate = v == 1 ? KSISS_AGG_AVG : v == 2 ? KSISS_AGG_SUM : KSISS_AGG_MAX;
        free(f);
    }
    free(what);
}

static void parse_metrics(ctx *c, const char *svc, const ksiss_ynode *list, ksiss_service_cfg *s)
{
    if (list->kind != KSISS_Y_SEQ) {
        err(c, list->pos, "service \"%s\": metrics: expected a list of metrics, got %s", svc,
            ksiss_y_kind_name(list));
        return;
    }
    if (list->n == 0) {
        err(c, list->pos, "service \"%s\": metrics: the list is empty", svc);
        return;
    }
    if (list->n > MAX_METRICS) {
        err(c, list->items[MAX_METRICS]->pos, "service \"%s\": metrics: more than %d metrics", svc, MAX_METRICS);
        return;
    }
    s->metrics = ksiss_xcalloc(list->n, sizeof(*s->metrics));
    for (size_t i = 0; i < list->n; i++) {
        parse_metric(c, svc, i, list->items[i], &s->metrics[s->n_metrics]);
        ksiss_metric_cfg *m = &s->metrics[s->n_metrics++];
        for (size_t j = 0; j + 1 < s->n_metrics; j++)
            if (!strcmp(s->metrics[j].name, m->name))
                err(c, m->pos, "service \"%s\": metric \"%s\" is defined twice (first at line %d)", svc,
                    m->name, s->metrics[j].pos.line);
    }
}

/* ---- load ---- */

static const char *const load_keys[] = {"query", "perGpu", "throughput", "targetUtilization", "learn",
                                        "learnQueries", NULL};

const char *const ksiss_learn_query_keys[KSISS_LQ_N] = {"ttft", "promptTokens", "requests", "running", "tpot",
                                                         "promptHistogram", "prefillPerToken"};

/* The series vLLM and TGI export for the learned capacity, over the pods
 * of the service's latest ready revision (Knative names them
 * <revision>-deployment-...): a tier change's new revision is read apart
 * from the old one it replaces (docs/policy.md "Learned capacity"). */
#define POD_OF_REV "pod=~\"{revision}-deployment-.*\""
#define SEL "{namespace=\"{namespace}\"," POD_OF_REV "}"
static const char *const vllm_queries[KSISS_LQ_N] = {
    "sum(rate(vllm:time_to_first_token_seconds_sum" SEL "[1m])) / sum(rate(vllm:time_to_first_token_seconds_count" SEL "[1m]))",
    "sum(rate(vllm:prompt_tokens_total" SEL "[1m])) / sum(rate(vllm:request_success_total" SEL "[1m]))",
    "sum(rate(vllm:request_success_total" SEL "[1m]))",
    "avg(vllm:num_requests_running" SEL ")",
    /* vllm:inter_token_latency_seconds since 0.11; the old name was hidden
     * in 0.12 and removed in 0.13. Per pod, the new series or else the
     * old: a service whose pods run both versions reads all of them, and
     * 0.11's pods (both names, the same values) count once. */
    "sum(rate(vllm:inter_token_latency_seconds_sum" SEL "[1m]) or rate(vllm:time_per_output_token_seconds_sum" SEL "[1m]))"
    " / sum(rate(vllm:inter_token_latency_seconds_count" SEL "[1m]) or rate(vllm:time_per_output_token_seconds_count" SEL "[1m]))",
    "sum by (le) (rate(vllm:request_prompt_tokens_bucket" SEL "[1m]))",
    /* the time from a request's scheduling to its first token over its
     * prompt, both counted when it finishes (one set of requests) */
    "sum(rate(vllm:request_prefill_time_seconds_sum" SEL "[1m])) / sum(rate(vllm:request_prompt_tokens_sum" SEL "[1m]))",
};
/* TGI has no TTFT histogram: the queue time plus the prefill forward pass
 * stand for it. Its input-length histogram has linear buckets (100 up to
 * max_input_tokens, then +Inf), read as they are. */
static const char *const tgi_queries[KSISS_LQ_N] = {
    "sum(rate(tgi_request_queue_duration_sum" SEL "[1m])) / sum(rate(tgi_request_queue_duration_count" SEL "[1m]))"
    " + sum(rate(tgi_batch_forward_duration_sum{namespace=\"{namespace}\"," POD_OF_REV ",method=\"prefill\"}[1m]))"
    " / sum(rate(tgi_batch_forward_duration_count{namespace=\"{namespace}\"," POD_OF_REV ",method=\"prefill\"}[1m]))",
    "sum(rate(tgi_request_input_length_sum" SEL "[1m])) / sum(rate(tgi_request_input_length_count" SEL "[1m]))",
    "sum(rate(tgi_request_success" SEL "[1m]))",
    "avg(tgi_batch_current_size" SEL ")",
    "sum(rate(tgi_request_mean_time_per_token_duration_sum" SEL "[1m])) / sum(rate(tgi_request_mean_time_per_token_duration_count" SEL "[1m]))",
    "sum by (le) (rate(tgi_request_input_length_bucket" SEL "[1m]))",
    /* the prefill forward passes' seconds over the prompts they took */
    "sum(rate(tgi_batch_forward_duration_sum{namespace=\"{namespace}\"," POD_OF_REV ",method=\"prefill\"}[1m]))"
    " / sum(rate(tgi_request_input_length_sum" SEL "[1m]))",
};
#undef SEL
#undef POD_OF_REV

static const char *const learn_query_keys_all[] = {"server", "ttft", "promptTokens", "requests", "running", "tpot",
                                                   "promptHistogram", "prefillPerToken", NULL};

bool ksiss_learn_per_revision(const ksiss_load_cfg *l)
{
    return l->per_revision;
}

static bool queries_per_revision(const ksiss_load_cfg *l)
{
    bool any = false;
    for (size_t i = 0; i < KSISS_LQ_N; i++) {
        const char *q = l->learn_queries[i];
        if (!q || !*q)
            continue;
        if (!(ksiss_promql_placeholders(q) & KSISS_PROMQL_PH_REVISION))
            return false;
        any = true;
    }
    return any;
}

void ksiss_learn_queries_default(ksiss_load_cfg *l)
{
    if (l->server && l->learn_queries[KSISS_LQ_TTFT])
        return;     /* parsed for learning (the TTFT query is never left out) */
    bool tgi = l->server && !strcmp(l->server, "tgi");
    if (!l->server)
        l->server = ksiss_xstrdup("vllm");
    for (int i = 0; i < KSISS_LQ_N; i++)
        if (!l->learn_queries[i])
            l->learn_queries[i] = ksiss_xstrdup((tgi ? tgi_queries : vllm_queries)[i]);
    l->per_revision = queries_per_revision(l);
}

/* learnQueries: {server: vllm|tgi, ttft: Q, promptTokens: Q, ...}; the
 * server's defaults for the rest. */
static bool parse_learn_queries(ctx *c, const char *what, const ksiss_ynode *n, ksiss_load_cfg *l)
{
    bool ok = true;
    if (n && n->kind == KSISS_Y_MAP && !l->learn) {
        /* nothing learned: only the prompt-length histogram is read (the
         * tiers too slow for the prompts, docs/policy.md) */
        for (int i = 0; i < KSISS_LQ_N; i++) {
            const ksiss_ynode *q = i == KSISS_LQ_PROMPT_HIST ? NULL : ksiss_ymap_get(n, ksiss_learn_query_keys[i]);
            if (q) {
                err(c, q->pos, "%s: learnQueries: %s is given but nothing is learned (perGpu is set and learn is not "
                    "true): only server and promptHistogram are read then", what, ksiss_learn_query_keys[i]);
                ok = false;
            }
        }
    }
    const ksiss_ynode *srv = n ? ksiss_ymap_get(n, "server") : NULL;
    int server = 0;
    char *f;
    if (n && n->kind != KSISS_Y_MAP) {
        char *all = join_names(learn_query_keys_all);
        err(c, n->pos, "%s: learnQueries: expected a mapping of %s, got %s", what, all, ksiss_y_kind_name(n));
        free(all);
        return false;
    }
    if (n) {
        f = ksiss_xasprintf("%s: learnQueries", what);
        if (ksiss_y_check_keys(n, c->file, f, learn_query_keys_all, c->d))
            ok = false;
        free(f);
    }
    if (srv) {
        static const char *const servers[] = {"vllm", "tgi", NULL};
        f = ksiss_xasprintf("%s: learnQueries: server", what);
        if (parse_enum(c, srv, f, servers, &server) != 0)
            ok = false;
        free(f);
    }
    l->server = ksiss_xstrdup(server ? "tgi" : "vllm");
    for (int i = 0; i < KSISS_LQ_N; i++) {
        const ksiss_ynode *q = n ? ksiss_ymap_get(n, ksiss_learn_query_keys[i]) : NULL;
        const char *qs = (server ? tgi_queries : vllm_queries)[i];
        if (q) {
            f = ksiss_xasprintf("%s: learnQueries: %s", what, ksiss_learn_query_keys[i]);
            if (GET(ksiss_y_string(q, c->file, f, &qs, c->d)) != 0) {
                ok = false;
                qs = NULL;
            } else if ((i == KSISS_LQ_PROMPT_HIST || i == KSISS_LQ_PREFILL) && blank(qs)) {
                qs = NULL;      /* "": none (k keeps its fallback prior; TTFT is split by the queue's model) */
            } else if (blank(qs)) {
                err(c, q->pos, "%s: is empty", f);
                ok = false;
                qs = NULL;
            }
            free(f);
        }
        if (!l->learn && i != KSISS_LQ_PROMPT_HIST)
            qs = NULL;
        l->learn_queries[i] = qs ? ksiss_xstrdup(qs) : NULL;
    }
    l->per_revision = queries_per_revision(l);
    return ok;
}

static void parse_load(ctx *c, const char *svc, const ksiss_ynode *n, ksiss_service_cfg *s)
{
    ksiss_load_cfg *l = &s->load;
    memset(l, 0, sizeof(*l));
    l->pos = n->pos;
    l->throughput = KSISS_THROUGHPUT_DECODE;
    l->target_utilization = KSISS_DEFAULT_TARGET_UTILIZATION;
    if (n->kind != KSISS_Y_MAP) {
        err(c, n->pos, "service \"%s\": load: expected a mapping with query and perGpu, got %s", svc,
            ksiss_y_kind_name(n));
        return;
    }
    char *what = ksiss_xasprintf("service \"%s\": load", svc);
    if (ksiss_y_check_keys(n, c->file, what, load_keys, c->d))
        c->bad = true;
    char *f;
    bool ok = true;
    const ksiss_ynode *q = ksiss_ymap_get(n, "query");
    if (!q) {
        err(c, n->pos, "%s: query is missing", what);
        ok = false;
    } else {
        const char *qs;
        f = ksiss_xasprintf("%s: query", what);
        if (GET(ksiss_y_string(q, c->file, f, &qs, c->d)) != 0) {
            ok = false;
        } else if (blank(qs)) {
            err(c, q->pos, "%s: is empty", f);
            ok = false;
        } else {
            l->query = ksiss_xstrdup(qs);
        }
        free(f);
    }
    const ksiss_ynode *pg = ksiss_ymap_get(n, "perGpu");
    if (!pg) {
        /* No profile: each tier's capacity is learned (issue 17). */
        l->learn = true;
    } else {
        f = ksiss_xasprintf("%s: perGpu", what);
        if (GET(ksiss_y_double(pg, c->file, f, &l->per_gpu, c->d)) != 0) {
            ok = false;
        } else if (!(l->per_gpu > 0)) {
            err(c, pg->pos, "%s: must be a positive number, got %g", f, l->per_gpu);
            ok = false;
        } else if (l->per_gpu < MIN_FIGURE || l->per_gpu > MAX_FIGURE) {
            err(c, pg->pos, "%s: %g is outside [%g, %g]", f, l->per_gpu, MIN_FIGURE, MAX_FIGURE);
            ok = false;
        }
        free(f);
    }
    const ksiss_ynode *tp = ksiss_ymap_get(n, "throughput");
    if (tp) {
        static const char *const kinds[] = {"decode", "prefill", NULL};
        int v;
        f = ksiss_xasprintf("%s: throughput", what);
        if (parse_enum(c, tp, f, kinds, &v) == 0)
            l->throughput = v ? KSISS_THROUGHPUT_PREFILL : KSISS_THROUGHPUT_DECODE;
        else
            ok = false;
        free(f);
    }
    const ksiss_ynode *tu = ksiss_ymap_get(n, "targetUtilization");
    if (tu) {
        f = ksiss_xasprintf("%s: targetUtilization", what);
        if (GET(ksiss_y_double(tu, c->file, f, &l->target_utilization, c->d)) != 0) {
            ok = false;
        } else if (!(l->target_utilization > 0) || l->target_utilization > 1) {
            err(c, tu->pos, "%s: must be in (0, 1], got %g", f, l->target_utilization);
            ok = false;
        }
        free(f);
    }
    const ksiss_ynode *ln = ksiss_ymap_get(n, "learn");
    if (ln) {
        bool v;
        f = ksiss_xasprintf("%s: learn", what);
        if (GET(ksiss_y_bool(ln, c->file, f, &v, c->d)) != 0) {
            ok = false;
        } else if (!v && !pg) {
            err(c, ln->pos, "%s: is false but perGpu is missing: give perGpu, or let the capacity be learned", f);
            ok = false;
        } else {
            l->learn = v;
        }
        free(f);
    }
    /* Without learning the prompt-length histogram is still read: the
     * tiers too slow for the prompts (a prompt-token load only). */
    const ksiss_ynode *lq = ksiss_ymap_get(n, "learnQueries");
    if (lq && !l->learn && l->throughput != KSISS_THROUGHPUT_PREFILL) {
        err(c, lq->pos, "%s: learnQueries is given but nothing is learned (perGpu is set and learn is not true)",
            what);
        ok = false;
    } else if ((l->learn || l->throughput == KSISS_THROUGHPUT_PREFILL) && !parse_learn_queries(c, what, lq, l)) {
        ok = false;
    }
    s->has_load = ok;
    free(what);
}

/* ---- durations ---- */

static void parse_duration(ctx *c, const ksiss_ynode *n, const char *what, bool positive, int64_t *out)
{
    int64_t v;
    if (GET(ksiss_y_duration_ms(n, c->file, what, &v, c->d)) != 0)
        return;
    if (v > MAX_DURATION_MS) {
        char *ex = ksiss_y_excerpt(n);
        err(c, n->pos, "%s: %s is longer than 24h", what, ex);
        free(ex);
        return;
    }
    if (positive && v == 0) {
        err(c, n->pos, "%s: must be longer than 0", what);
        return;
    }
    *out = v;
}

static void parse_up_down(ctx *c, const char *svc, const char *field, const ksiss_ynode *n,
                          int64_t *up_ms, int64_t *down_ms)
{
    static const char *const keys[] = {"up", "down", NULL};
    char *what = ksiss_xasprintf("service \"%s\": %s", svc, field);
    if (n->kind != KSISS_Y_MAP) {
        err(c, n->pos, "%s: expected a mapping such as {up: 30s, down: 5m}, got %s", what, ksiss_y_kind_name(n));
        free(what);
        return;
    }
    if (ksiss_y_check_keys(n, c->file, what, keys, c->d))
        c->bad = true;
    const ksiss_ynode *up = ksiss_ymap_get(n, "up");
    const ksiss_ynode *down = ksiss_ymap_get(n, "down");
    char *f;
    if (up) {
        f = ksiss_xasprintf("%s.up", what);
        parse_duration(c, up, f, false, up_ms);
        free(f);
    }
    if (down) {
        f = ksiss_xasprintf("%s.down", what);
        parse_duration(c, down, f, false, down_ms);
        free(f);
    }
    free(what);
}

/* ---- tiers ---- */

static void set_default_ladder(ctx *c, ksiss_service_cfg *s)
{
    size_t n = ksiss_catalog_ladder(c->cat, s->gpu_model, NULL, 0);
    free(s->ladder);
    s->ladder = ksiss_xcalloc(n ? n : 1, sizeof(*s->ladder));
    s->n_ladder = ksiss_catalog_ladder(c->cat, s->gpu_model, s->ladder, n);
    if (s->n_ladder > n)
        s->n_ladder = n;
}

static const char *model_name(const ctx *c, const ksiss_service_cfg *s)
{
    return s->gpu_model ? s->gpu_model : c->cat->default_model;
}

/* The closest tier name of the model, for "did you mean". */
static char *suggest_tier(ctx *c, const ksiss_service_cfg *s, const char *name)
{
    char *names = ksiss_catalog_tier_names(c->cat, s->gpu_model);
    if (!names)
        return NULL;
    size_t cnt = 1;
    for (const char *p = names; *p; p++)
        cnt += *p == ',';
    const char **v = ksiss_xcalloc(cnt + 1, sizeof(*v));
    size_t k = 0;
    char *save = names;
    for (char *p = names;; p++) {
        if (*p == ',' || *p == '\0') {
            bool end = *p == '\0';
            *p = '\0';
            while (*save == ' ')
                save++;
            v[k++] = save;
            save = p + 1;
            if (end)
                break;
        }
    }
    v[k] = NULL;
    const char *best = ksiss_did_you_mean(name, v);
    char *res = best ? ksiss_xstrdup(best) : NULL;
    free(v);
    free(names);
    return res;
}

static void parse_tiers(ctx *c, const char *svc, const ksiss_ynode *n, ksiss_service_cfg *s)
{
    if (n->kind != KSISS_Y_SEQ) {
        err(c, n->pos, "service \"%s\": tiers: expected a list of tier names such as [mig-3g.40gb, gpu], got %s",
            svc, ksiss_y_kind_name(n));
        return;
    }
    if (n->n == 0) {
        err(c, n->pos, "service \"%s\": tiers: the list is empty", svc);
        return;
    }
    if (n->n > MAX_LADDER) {
        err(c, n->items[MAX_LADDER]->pos, "service \"%s\": tiers: more than %d tiers", svc, MAX_LADDER);
        return;
    }
    const ksiss_tier **ladder = ksiss_xcalloc(n->n, sizeof(*ladder));
    const ksiss_ynode **where = ksiss_xcalloc(n->n, sizeof(*where));
    size_t k = 0;
    bool ok = true;
    for (size_t i = 0; i < n->n; i++) {
        const ksiss_ynode *it = n->items[i];
        const char *name;
        char *what = ksiss_xasprintf("service \"%s\": tiers[%zu]", svc, i);
        if (GET(ksiss_y_string(it, c->file, what, &name, c->d)) != 0) {
            ok = false;
            free(what);
            continue;
        }
        const ksiss_tier *t = it->scalar_len == strlen(name) ? ksiss_catalog_tier(c->cat, s->gpu_model, name) : NULL;
        if (!t) {
            char *ex = ksiss_y_excerpt(it);
            char *sugg = suggest_tier(c, s, name);
            if (sugg) {
                err(c, it->pos, "service \"%s\": tiers: unknown tier %s for GPU %s (did you mean \"%s\"?)", svc, ex,
                    model_name(c, s), sugg);
            } else {
                char *names = ksiss_catalog_tier_names(c->cat, s->gpu_model);
                err(c, it->pos, "service \"%s\": tiers: unknown tier %s for GPU %s (known: %s)", svc, ex,
                    model_name(c, s), names ? names : "none");
                free(names);
            }
            free(sugg);
            free(ex);
            ok = false;
            free(what);
            continue;
        }
        free(what);
        bool dup = false;
        for (size_t j = 0; j < k; j++) {
            if (ladder[j] == t) {
                err(c, it->pos, "service \"%s\": tiers: %s is listed twice", svc, t->name);
                dup = true;
            }
        }
        if (dup) {
            ok = false;
            continue;
        }
        if (k > 0 && ladder[k - 1]->rank > t->rank) {
            err(c, it->pos,
                "service \"%s\": tiers: %s is smaller than %s before it: list the ladder smallest first",
                svc, t->name, ladder[k - 1]->name);
            ok = false;
        }
        where[k] = it;
        ladder[k++] = t;
    }
    if (ok) {
        free(s->ladder);
        s->ladder = ladder;
        s->n_ladder = k;
    } else {
        free(ladder);
    }
    free(where);
}

/* Drops the tiers that cannot hold the model's memory (warning for each
 * one the user listed); an error when none is left. */
static void apply_model_memory(ctx *c, const char *svc, bool listed, const ksiss_ynode *mem_node,
                               ksiss_service_cfg *s)
{
    if (!(s->model_memory_gib > 0) || !s->ladder)
        return;
    size_t w = 0;
    for (size_t i = 0; i < s->n_ladder; i++) {
        const ksiss_tier *t = s->ladder[i];
        if (t->mem_gib >= s->model_memory_gib) {
            s->ladder[w++] = t;
        } else if (listed) {
            ksiss_diags_add(c->d, c->file, mem_node->pos,
                            "warning: service \"%s\": tier %s (%g GiB) cannot hold modelMemoryGiB %g: left out of the ladder",
                            svc, t->name, t->mem_gib, s->model_memory_gib);
        }
    }
    s->n_ladder = w;
    if (w == 0)
        err(c, mem_node->pos, "service \"%s\": modelMemoryGiB: no tier of the ladder holds %g GiB", svc,
            s->model_memory_gib);
}

/* ---- services ---- */

static const char *const service_keys[] = {
    "metrics", "load", "tiers", "gpu", "minReplicas", "maxReplicas", "modelMemoryGiB",
    "cooldown", "stabilization", "staleAfter", "policy", "sloTarget", NULL,
};

static void service_defaults(ksiss_service_cfg *s, bool legacy)
{
    s->legacy = legacy;
    s->min_replicas = 1;
    s->max_replicas = legacy ? 1 : 8;
    s->cooldown_up_ms = KSISS_DEFAULT_COOLDOWN_UP_MS;
    s->cooldown_down_ms = KSISS_DEFAULT_COOLDOWN_DOWN_MS;
    s->stabilization_up_ms = KSISS_DEFAULT_STABILIZATION_UP_MS;
    s->stabilization_down_ms = KSISS_DEFAULT_STABILIZATION_DOWN_MS;
    s->stale_after_ms = KSISS_DEFAULT_STALE_AFTER_MS;
    s->slo_target = KSISS_DEFAULT_SLO_TARGET;
    s->policy = ksiss_xstrdup("ksiss");
}

static void parse_extended(ctx *c, const char *svc, const ksiss_ynode *n, ksiss_service_cfg *s)
{
    char *what = ksiss_xasprintf("service \"%s\"", svc);
    if (ksiss_y_check_keys(n, c->file, what, service_keys, c->d))
        c->bad = true;

    const ksiss_ynode *gpu = ksiss_ymap_get(n, "gpu");
    if (gpu) {
        const char *g;
        char *f = ksiss_xasprintf("%s: gpu", what);
        if (GET(ksiss_y_string(gpu, c->file, f, &g, c->d)) == 0) {
            const ksiss_gpu_model *m = ksiss_catalog_find_model(c->cat, g);
            if (m) {
                s->gpu_model = ksiss_xstrdup(m->name);
            } else {
                char *names = ksiss_catalog_model_names(c->cat);
                char *ex = ksiss_y_excerpt(gpu);
                err(c, gpu->pos, "%s: unknown GPU model %s (known: %s)", f, ex, names ? names : "none");
                free(ex);
                free(names);
            }
        }
        free(f);
    }

    const ksiss_ynode *metrics = ksiss_ymap_get(n, "metrics");
    const ksiss_ynode *load = ksiss_ymap_get(n, "load");
    if (metrics)
        parse_metrics(c, svc, metrics, s);
    if (load)
        parse_load(c, svc, load, s);
    if (!metrics && !load)
        err(c, n->pos, "%s: needs metrics: (a list of SLO metrics) or load:", what);

    set_default_ladder(c, s);
    const ksiss_ynode *tiers = ksiss_ymap_get(n, "tiers");
    if (tiers && (!gpu || s->gpu_model))
        parse_tiers(c, svc, tiers, s);
    if (s->n_ladder == 0)
        err(c, (tiers ? tiers : n)->pos, "%s: GPU %s has no tier on its default ladder: list the tiers to use", what,
            model_name(c, s));

    int64_t v;
    const ksiss_ynode *minr = ksiss_ymap_get(n, "minReplicas");
    const ksiss_ynode *maxr = ksiss_ymap_get(n, "maxReplicas");
    bool reps_ok = true;
    char *f;
    if (minr) {
        f = ksiss_xasprintf("%s: minReplicas", what);
        if (GET(ksiss_y_int(minr, c->file, f, 0, MAX_REPLICAS_LIMIT, &v, c->d)) == 0)
            s->min_replicas = (int)v;
        else
            reps_ok = false;
        free(f);
    }
    if (maxr) {
        f = ksiss_xasprintf("%s: maxReplicas", what);
        if (GET(ksiss_y_int(maxr, c->file, f, 1, MAX_REPLICAS_LIMIT, &v, c->d)) == 0)
            s->max_replicas = (int)v;
        else
            reps_ok = false;
        free(f);
    }
    if (reps_ok && s->min_replicas > s->max_replicas)
        err(c, (minr ? minr : maxr ? maxr : n)->pos, "%s: minReplicas %d is larger than maxReplicas %d%s", what,
            s->min_replicas, s->max_replicas, maxr ? "" : " (the default)");

    const ksiss_ynode *mem = ksiss_ymap_get(n, "modelMemoryGiB");
    if (mem) {
        double gib;
        f = ksiss_xasprintf("%s: modelMemoryGiB", what);
        if (GET(ksiss_y_double(mem, c->file, f, &gib, c->d)) == 0) {
            if (gib < 0 || gib > MAX_MODEL_MEMORY_GIB) {
                err(c, mem->pos, "%s: must be between 0 and %g, got %g", f, MAX_MODEL_MEMORY_GIB, gib);
            } else {
                s->model_memory_gib = gib;
                apply_model_memory(c, svc, tiers != NULL, mem, s);
            }
        }
        free(f);
    }

    const ksiss_ynode *cd = ksiss_ymap_get(n, "cooldown");
    if (cd)
        parse_up_down(c, svc, "cooldown", cd, &s->cooldown_up_ms, &s->cooldown_down_ms);
    /* With a load signal the need is measured directly, so a shorter
     * down window is safe (docs/policy.md); without one, HPA's 5 minutes. */
    if (s->has_load)
        s->stabilization_down_ms = KSISS_DEFAULT_STABILIZATION_DOWN_LOAD_MS;
    const ksiss_ynode *st = ksiss_ymap_get(n, "stabilization");
    if (st)
        parse_up_down(c, svc, "stabilization", st, &s->stabilization_up_ms, &s->stabilization_down_ms);
    const ksiss_ynode *stale = ksiss_ymap_get(n, "staleAfter");
    if (stale) {
        f = ksiss_xasprintf("%s: staleAfter", what);
        parse_duration(c, stale, f, true, &s->stale_after_ms);
        free(f);
    }

    const ksiss_ynode *tgt = ksiss_ymap_get(n, "sloTarget");
    if (tgt) {
        double t;
        f = ksiss_xasprintf("%s: sloTarget", what);
        if (GET(ksiss_y_double(tgt, c->file, f, &t, c->d)) == 0) {
            /* A share of requests, strictly between 0 and 1: 1 would leave
             * no room for a single slow request (no deployment guarantees
             * that), 0 asks nothing; 99 is a percentage written by mistake. */
            if (!(t > 0 && t < 1))
                err(c, tgt->pos, "%s: the share of requests that should meet the SLO, above 0 and below 1 "
                                 "(0.99: 99%%), got %g", f, t);
            else
                s->slo_target = t;
        }
        free(f);
    }

    const ksiss_ynode *pol = ksiss_ymap_get(n, "policy");
    if (pol) {
        const char *p;
        f = ksiss_xasprintf("%s: policy", what);
        if (GET(ksiss_y_string(pol, c->file, f, &p, c->d)) == 0) {
            if (ksiss_policy_find(p) && pol->scalar_len == strlen(p)) {
                free(s->policy);
                s->policy = ksiss_xstrdup(p);
            } else {
                ksiss_strbuf sb;
                ksiss_sb_init(&sb, 0);
                for (size_t i = 0; ksiss_policies[i].name; i++)
                    ksiss_sb_printf(&sb, "%s%s", i ? ", " : "", ksiss_policies[i].name);
                char *ex = ksiss_y_excerpt(pol);
                err(c, pol->pos, "%s: unknown policy %s (known: %s)", f, ex, ksiss_sb_str(&sb));
                free(ex);
                ksiss_sb_free(&sb);
            }
        }
        free(f);
    }
    free(what);
}

/* Parses one service from its value's tree (a list: the original's
 * format; a mapping: ours). */
static void parse_service_node(ctx *c, const ksiss_ynode *root, ksiss_service_cfg *s)
{
    const char *svc = s->name;
    if (root->kind == KSISS_Y_SEQ) {
        service_defaults(s, true);
        parse_metrics(c, svc, root, s);
        set_default_ladder(c, s);
    } else if (root->kind == KSISS_Y_MAP) {
        service_defaults(s, false);
        parse_extended(c, svc, root, s);
    } else {
        service_defaults(s, false);
        char *ex = ksiss_y_excerpt(root);
        err(c, root->pos, "service \"%s\": expected a list of metrics or a mapping with metrics:, got %s", svc,
            ksiss_y_is_null(root) ? "nothing" : ex);
        free(ex);
    }
}

/* Parses text embedded in a string value and hands its single document
 * to parse_service_node. */
static void parse_service_text(ctx *c, const char *text, size_t len, int line_off, int col_off,
                               ksiss_pos keypos, ksiss_service_cfg *s)
{
    ksiss_ynode **docs = NULL;
    size_t n = 0;
    if (ksiss_yaml_parse(text, len, c->file, line_off, col_off, &docs, &n, c->d) != 0)
        c->bad = true;
    if (n == 0) {
        service_defaults(s, false);
        if (!docs && !c->bad)   /* no syntax error: the text was empty */
            err(c, keypos, "service \"%s\": the value is empty: expected a list of metrics or a mapping", s->name);
        ksiss_ynodes_free(docs, n);
        return;
    }
    if (n > 1)
        err(c, docs[1]->pos, "service \"%s\": the value holds more than one YAML document", s->name);
    parse_service_node(c, docs[0], s);
    ksiss_ynodes_free(docs, n);
}

/* Where the text of a string value sits in the file. */
static void embed_offsets(const ksiss_ynode *v, int *line_off, int *col_off)
{
    if (v->style == KSISS_YS_LITERAL || v->style == KSISS_YS_FOLDED) {
        *line_off = v->block_line;
        *col_off = v->block_indent;
    } else {
        *line_off = v->pos.line - 1;
        *col_off = v->pos.col - 1 + (v->quoted ? 1 : 0);
    }
}

static void service_from_value(ctx *c, const ksiss_ynode *key, const ksiss_ynode *v, bool in_configmap,
                               ksiss_service_cfg *s)
{
    if (v->kind == KSISS_Y_SCALAR && !ksiss_y_is_null(v)) {
        int lo, co;
        embed_offsets(v, &lo, &co);
        parse_service_text(c, v->scalar, v->scalar_len, lo, co, key->pos, s);
        return;
    }
    if (in_configmap && v->kind != KSISS_Y_SCALAR) {
        service_defaults(s, false);
        err(c, v->pos,
            "service \"%s\": ConfigMap data values must be strings: write \"%s: |\" and indent the %s under it",
            s->name, s->name, v->kind == KSISS_Y_SEQ ? "list" : "mapping");
        return;
    }
    parse_service_node(c, v, s);
}

static void add_service(ksiss_config *out, size_t *cap, ksiss_service_cfg *s)
{
    if (out->n_services == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        out->services = ksiss_xrealloc(out->services, *cap * sizeof(*out->services));
    }
    out->services[out->n_services++] = *s;
}

static bool reserved(const ksiss_ynode *k)
{
    return k->scalar_len == strlen(k->scalar) && ksiss_str_has_prefix(k->scalar, "ksiss.");
}

/* Parses a data mapping (ConfigMap `data` or a bare file). */
static void parse_data_map(ctx *c, const ksiss_ynode *data, bool in_configmap, ksiss_config *out)
{
    size_t cap = 0;
    /* The catalogue first: services' tiers may name what it adds. */
    for (size_t i = 0; i < data->n; i++) {
        const ksiss_ynode *k = data->keys[i], *v = data->items[i];
        if (!reserved(k))
            continue;
        if (strcmp(k->scalar, CATALOG_KEY) != 0) {
            char *ex = ksiss_y_excerpt(k);
            err(c, k->pos, "unknown reserved key %s (keys starting with \"ksiss.\" are reserved; known: %s)", ex,
                CATALOG_KEY);
            free(ex);
            continue;
        }
        int rc;
        if (v->kind == KSISS_Y_SCALAR && !ksiss_y_is_null(v)) {
            int lo, co;
            embed_offsets(v, &lo, &co);
            rc = ksiss_catalog_extend(c->cat, v->scalar, v->scalar_len, c->file, lo, co, c->d);
        } else if (!in_configmap && v->kind == KSISS_Y_MAP) {
            rc = ksiss_catalog_extend_node(c->cat, v, c->file, c->d);
        } else {
            err(c, v->pos, "%s: expected a catalogue document (a string holding a mapping with models: or tiers:)",
                CATALOG_KEY);
            rc = 0;
        }
        if (rc != 0)
            c->bad = true;
    }
    for (size_t i = 0; i < data->n; i++) {
        const ksiss_ynode *k = data->keys[i], *v = data->items[i];
        if (reserved(k))
            continue;
        ksiss_service_cfg s;
        memset(&s, 0, sizeof(s));
        s.pos = k->pos;
        if (!dns1035_label(k->scalar, k->scalar_len)) {
            char *ex = ksiss_y_excerpt(k);
            err(c, k->pos,
                "service %s: not a valid Knative Service name (lower-case letters, digits and '-', starting with a "
                "letter, at most 63 characters)",
                ex);
            free(ex);
        }
        s.name = ksiss_xstrdup(k->scalar);
        service_from_value(c, k, v, in_configmap, &s);
        add_service(out, &cap, &s);
    }
}

static bool is_kind(const ksiss_ynode *doc, const char *kind)
{
    const ksiss_ynode *k = ksiss_ymap_get(doc, "kind");
    return k && k->kind == KSISS_Y_SCALAR && !strcmp(k->scalar, kind);
}

static const char *doc_name(const ksiss_ynode *doc)
{
    const ksiss_ynode *n = ksiss_ymap_get(ksiss_ymap_get(doc, "metadata"), "name");
    return n && n->kind == KSISS_Y_SCALAR ? n->scalar : NULL;
}

int ksiss_config_parse(const char *text, size_t len, const char *file,
                       const char *configmap_name, ksiss_catalog *cat,
                       ksiss_config *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    ctx c = {cat, d, file, false};
    ksiss_ynode **docs = NULL;
    size_t n = 0;
    if (ksiss_yaml_parse(text, len, file, 0, 0, &docs, &n, d) != 0)
        c.bad = true;
    if (!docs) {
        if (!c.bad)
            err(&c, (ksiss_pos){0, 0}, "the file is empty: expected a ConfigMap or a mapping of services");
        return -1;
    }
    /* A ConfigMap (the named one, or the first), else a bare mapping. */
    const ksiss_ynode *cm = NULL, *bare = NULL;
    size_t n_cm = 0, n_real = 0;
    for (size_t i = 0; i < n; i++) {
        const ksiss_ynode *doc = docs[i];
        if (ksiss_y_is_null(doc))
            continue;
        n_real++;
        if (doc->kind == KSISS_Y_MAP && is_kind(doc, "ConfigMap")) {
            n_cm++;
            const char *nm = doc_name(doc);
            if (!cm && (!configmap_name || (nm && !strcmp(nm, configmap_name))))
                cm = doc;
        } else if (!bare && doc->kind == KSISS_Y_MAP && !ksiss_ymap_get(doc, "kind") &&
                   !ksiss_ymap_get(doc, "apiVersion")) {
            bare = doc;
        }
    }
    if (cm) {
        const ksiss_ynode *data = ksiss_ymap_get(cm, "data");
        if (data && data->kind == KSISS_Y_MAP)
            parse_data_map(&c, data, true, out);
        else if (data && !ksiss_y_is_null(data))
            err(&c, data->pos, "ConfigMap data: expected a mapping of service names to their metrics, got %s",
                ksiss_y_kind_name(data));
    } else if (configmap_name && n_cm > 0) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        for (size_t i = 0; i < n; i++)
            if (docs[i]->kind == KSISS_Y_MAP && is_kind(docs[i], "ConfigMap"))
                ksiss_sb_printf(&sb, "%s%s", sb.len ? ", " : "", doc_name(docs[i]) ? doc_name(docs[i]) : "(unnamed)");
        err(&c, (ksiss_pos){0, 0}, "no ConfigMap named \"%s\" (found: %s)", configmap_name, ksiss_sb_str(&sb));
        ksiss_sb_free(&sb);
    } else if (bare && n_real == 1) {
        /* `data:` alone (a ConfigMap's data section cut out with its key)
         * is the data mapping itself, unless it reads as a service. */
        const ksiss_ynode *inner = ksiss_ymap_get(bare, "data");
        if (bare->n == 1 && inner && inner->kind == KSISS_Y_MAP && !ksiss_ymap_get(inner, "metrics") &&
            !ksiss_ymap_get(inner, "load"))
            bare = inner;
        parse_data_map(&c, bare, false, out);
    } else if (n_real == 0) {
        err(&c, (ksiss_pos){0, 0}, "the file is empty: expected a ConfigMap or a mapping of services");
    } else {
        const ksiss_ynode *first = NULL;
        for (size_t i = 0; i < n && !first; i++)
            if (!ksiss_y_is_null(docs[i]))
                first = docs[i];
        if (first->kind != KSISS_Y_MAP)
            err(&c, first->pos, "expected a ConfigMap or a mapping of service names to their metrics, got %s",
                ksiss_y_kind_name(first));
        else
            err(&c, first->pos, "no ConfigMap in this file (a bare mapping of services must be the only document)");
    }
    ksiss_ynodes_free(docs, n);
    return c.bad ? -1 : 0;
}

int ksiss_config_parse_configmap_json(const struct json_t *configmap, const char *source, ksiss_catalog *cat,
                                      ksiss_config *out, ksiss_diags *d)
{
    const json_t *data = json_object_get(configmap, "data");
    size_t n = json_object_size(data), i = 0;
    const char **keys = ksiss_xcalloc(n ? n : 1, sizeof(*keys));
    const char **values = ksiss_xcalloc(n ? n : 1, sizeof(*values));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)data, k, v)
        if (json_is_string(v) && i < n) {
            keys[i] = k;
            values[i++] = json_string_value(v);
        }
    int rc = ksiss_config_parse_data(keys, values, i, source, cat, out, d);
    free(keys);
    free(values);
    return rc;
}

int ksiss_config_parse_data(const char *const *keys, const char *const *values, size_t n,
                            const char *source, ksiss_catalog *cat,
                            ksiss_config *out, ksiss_diags *d)
{
    memset(out, 0, sizeof(*out));
    bool bad = false;
    size_t cap = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const char *key = keys[i] ? keys[i] : "";
            const char *val = values[i] ? values[i] : "";
            bool res = ksiss_str_has_prefix(key, "ksiss.");
            if ((pass == 0) != res)
                continue;
            char *file = ksiss_xasprintf("%s key %s", source ? source : "configmap", key);
            ctx c = {cat, d, file, false};
            if (res) {
                if (strcmp(key, CATALOG_KEY) != 0)
                    err(&c, (ksiss_pos){0, 0}, "unknown reserved key (keys starting with \"ksiss.\" are reserved; known: %s)",
                        CATALOG_KEY);
                else if (ksiss_catalog_extend(cat, val, strlen(val), file, 0, 0, d) != 0)
                    c.bad = true;
            } else {
                ksiss_service_cfg s;
                memset(&s, 0, sizeof(s));
                s.name = ksiss_xstrdup(key);
                if (!dns1035_label(key, strlen(key)))
                    err(&c, (ksiss_pos){0, 0},
                        "not a valid Knative Service name (lower-case letters, digits and '-', starting with a "
                        "letter, at most 63 characters)");
                parse_service_text(&c, val, strlen(val), 0, 0, (ksiss_pos){0, 0}, &s);
                add_service(out, &cap, &s);
            }
            bad = bad || c.bad;
            free(file);
        }
    }
    return bad ? -1 : 0;
}

void ksiss_config_free(ksiss_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_services; i++) {
        ksiss_service_cfg *s = &cfg->services[i];
        for (size_t j = 0; j < s->n_metrics; j++) {
            free(s->metrics[j].name);
            free(s->metrics[j].query);
        }
        free(s->metrics);
        free(s->load.query);
        free(s->load.server);
        for (int q = 0; q < KSISS_LQ_N; q++)
            free(s->load.learn_queries[q]);
        free(s->gpu_model);
        free(s->ladder);
        free(s->policy);
        free(s->name);
    }
    free(cfg->services);
    memset(cfg, 0, sizeof(*cfg));
}

const ksiss_service_cfg *ksiss_config_find(const ksiss_config *cfg, const char *name, bool *by_prefix)
{
    if (by_prefix)
        *by_prefix = false;
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_services; i++)
        if (!strcmp(cfg->services[i].name, name))
            return &cfg->services[i];
    const char *dash = strchr(name, '-');
    if (!dash)
        return NULL;
    size_t plen = (size_t)(dash - name);
    for (size_t i = 0; i < cfg->n_services; i++) {
        const char *s = cfg->services[i].name;
        if (strlen(s) == plen && !strncmp(s, name, plen)) {
            if (by_prefix)
                *by_prefix = true;
            return &cfg->services[i];
        }
    }
    return NULL;
}
