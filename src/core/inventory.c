/* inventory.c: free GPU units per (GPU model, resource) from Node and Pod
 * objects. Pure: the shell hands in what its informers cached. */
#include "core/inventory.h"

#include <stdlib.h>
#include <string.h>

#include "core/json_path.h"
#include "core/util.h"

#define INV_WARNINGS_MAX 200

static void warn(ksiss_inventory *inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(ksiss_inventory *inv, const char *fmt, ...)
{
    if (inv->n_warnings >= INV_WARNINGS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *m = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    inv->warnings = ksiss_xrealloc(inv->warnings, (inv->n_warnings + 1) * sizeof *inv->warnings);
    inv->warnings[inv->n_warnings++] = m;
}

/* An extended-resource quantity: a plain non-negative integer string
 * ("2"), or a JSON integer. -1 for anything else ("1.5", "2k", "-1"). */
static long long quantity(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) >= 0 ? (long long)json_integer_value(v) : -1;
    const char *s = json_string_value(v);
    int64_t n;
    if (!s || ksiss_parse_int64(s, &n) < 0 || n < 0)
        return -1;
    return (long long)n;
}

/* A container's units of `resource`: its request, else its limit. */
static long long container_units(const json_t *c, const char *resource)
{
    const json_t *r = json_object_get(c, "resources");
    const json_t *q = json_object_get(json_object_get(r, "requests"), resource);
    if (!q)
        q = json_object_get(json_object_get(r, "limits"), resource);
    if (!q)
        return 0;
    return quantity(q);
}

static long long add_sat(long long a, long long b)
{
    if (a > (1LL << 60) - b)
        return 1LL << 60;
    return a + b;
}

long long ksiss_pod_request(const json_t *pod, const char *resource)
{
    const json_t *spec = json_object_get(pod, "spec");
    long long sum = 0, init_max = 0, sidecars = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(spec, "containers"), i, c) {
        long long u = container_units(c, resource);
        if (u < 0)
            return -1;
        sum = add_sat(sum, u);
    }
    json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
        long long u = container_units(c, resource);
        if (u < 0)
            return -1;
        const char *rp = json_string_value(json_object_get(c, "restartPolicy"));
        if (rp && !strcmp(rp, "Always")) {
            sidecars = add_sat(sidecars, u);        /* runs alongside the app containers */
        } else {
            /* An init container runs with the sidecars started before it. */
            long long with = add_sat(u, sidecars);
            if (with > init_max)
                init_max = with;
        }
    }
    long long total = add_sat(sum, sidecars);
    if (init_max > total)
        total = init_max;
    const json_t *ov = json_object_get(json_object_get(spec, "overhead"), resource);
    if (ov) {
        long long u = quantity(ov);
        if (u < 0)
            return -1;
        total = add_sat(total, u);
    }
    return total;
}

static bool node_ready(const json_t *node)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *s = json_string_value(json_object_get(c, "status"));
        if (t && !strcmp(t, "Ready"))
            return s && !strcmp(s, "True");
    }
    return false;
}

static ksiss_inventory_res *node_res(ksiss_inventory_node *n, const char *resource)
{
    for (size_t i = 0; i < n->n_res; i++)
        if (!strcmp(n->res[i].resource, resource))
            return &n->res[i];
    return NULL;
}

/* The resource name the policy knows a node's resource by: with the
 * single MIG strategy, nvidia.com/gpu is a slice named by the product. */
static const char *policy_resource(const ksiss_inventory_node *n, const ksiss_tier *single_mig, const char *r)
{
    if (single_mig && !strcmp(r, "nvidia.com/gpu"))
        return single_mig->resource;
    (void)n;
    return r;
}

static void read_node(const ksiss_catalog *cat, const json_t *node, ksiss_inventory_node *n,
                      const ksiss_tier **single_mig, ksiss_inventory *inv)
{
    const json_t *meta = json_object_get(node, "metadata");
    const json_t *labels = json_object_get(meta, "labels");
    const char *name = json_string_value(json_object_get(meta, "name"));
    n->name = ksiss_xstrdup(name ? name : "");
    n->ready = node_ready(node);
    n->schedulable = !json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
    const char *product = json_string_value(json_object_get(labels, "nvidia.com/gpu.product"));
    n->product = ksiss_xstrdup(product);
    *single_mig = NULL;
    if (product) {
        /* A "-MIG-<profile>" suffix first: the model alone would lose the slice. */
        char *err = NULL;
        const ksiss_tier *t = ksiss_catalog_product_mig_tier(cat, product, &err);
        free(err);
        const ksiss_gpu_model *m = NULL;
        if (t) {
            *single_mig = t;
            m = ksiss_catalog_model(cat, t->gpu_model);
        } else {
            m = ksiss_catalog_find_model(cat, product);
        }
        n->gpu_model = m ? m->name : NULL;
    }
    const char *rep = json_string_value(json_object_get(labels, "nvidia.com/gpu.replicas"));
    int64_t r;
    if (rep && ksiss_parse_int64(rep, &r) == 0 && r >= 0 && r <= 1000)
        n->replicas = (int)r;
    else if (rep)
        warn(inv, "node %s: label nvidia.com/gpu.replicas=\"%s\" is not a count; ignored", n->name, rep);

    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)json_object_get(json_object_get(node, "status"), "allocatable"), key, v) {
        if (!ksiss_is_gpu_resource(key))
            continue;
        long long q = quantity(v);
        if (q < 0) {
            warn(inv, "node %s: allocatable %s is not a whole number; counted as 0", n->name, key);
            q = 0;
        }
        const char *pr = policy_resource(n, *single_mig, key);
        ksiss_inventory_res *x = node_res(n, pr);
        if (!x) {
            n->res = ksiss_xrealloc(n->res, (n->n_res + 1) * sizeof *n->res);
            x = &n->res[n->n_res++];
            memset(x, 0, sizeof *x);
            x->resource = ksiss_xstrdup(pr);
        }
        x->allocatable = add_sat(x->allocatable, q);
    }
    if (n->n_res > 0 && !n->gpu_model)
        warn(inv, "node %s: GPU product %s%s%s is not in the catalogue; its GPUs are not counted", n->name,
             product ? "\"" : "", product ? product : "label nvidia.com/gpu.product missing", product ? "\"" : "");
}

static ksiss_inventory_entry *entry(ksiss_inventory *inv, const char *model, const char *resource)
{
    for (size_t i = 0; i < inv->n_entries; i++)
        if (!strcmp(inv->entries[i].gpu_model, model) && !strcmp(inv->entries[i].resource, resource))
            return &inv->entries[i];
    inv->entries = ksiss_xrealloc(inv->entries, (inv->n_entries + 1) * sizeof *inv->entries);
    ksiss_inventory_entry *e = &inv->entries[inv->n_entries++];
    memset(e, 0, sizeof *e);
    e->gpu_model = model;
    e->resource = ksiss_xstrdup(resource);
    return e;
}

static int cmp_entry(const void *a, const void *b)
{
    const ksiss_inventory_entry *x = a, *y = b;
    int c = strcmp(x->gpu_model, y->gpu_model);
    return c ? c : strcmp(x->resource, y->resource);
}

static bool pod_terminated(const json_t *pod)
{
    const char *phase = ksiss_json_str(pod, "status", "phase", NULL);
    return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
}

/* Records which node a Knative revision's pod is bound to. */
static void add_placement(ksiss_inventory *inv, const json_t *pod, size_t node)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const char *rev = json_string_value(json_object_get(json_object_get(meta, "labels"), "serving.knative.dev/revision"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    if (!rev || !ns)
        return;
    if ((inv->n_placements & (inv->n_placements - 1)) == 0)     /* 0, 1, 2, 4, ...: double */
        inv->placements = ksiss_xrealloc(inv->placements,
                                         (inv->n_placements ? 2 * inv->n_placements : 1) * sizeof *inv->placements);
    inv->placements[inv->n_placements++] = (ksiss_inventory_placement){ksiss_xstrdup(ns), ksiss_xstrdup(rev), node};
}

static int cmp_placement(const void *a, const void *b)
{
    const ksiss_inventory_placement *x = a, *y = b;
    int c = strcmp(x->ns, y->ns);
    if (!c)
        c = strcmp(x->revision, y->revision);
    return c ? c : (x->node < y->node ? -1 : x->node > y->node);
}

/* The first node (in the order given) named name, or NULL. */
static ksiss_inventory_node *node_named(const ksiss_inventory_builder *b, const char *name, size_t *idx)
{
    const ksiss_inventory *inv = b->inv;
    size_t lo = 0, hi = inv->n_nodes;
    while (lo < hi) {       /* lower bound by (name, index) */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(b->by_name[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == inv->n_nodes || strcmp(b->by_name[lo].name, name) != 0)
        return NULL;
    *idx = b->by_name[lo].idx;
    return &inv->nodes[*idx];
}

static int cmp_node_name(const void *a, const void *b)
{
    const ksiss_inventory_node_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

int ksiss_inventory_begin(ksiss_inventory_builder *b, const ksiss_catalog *cat, const json_t *nodes,
                          ksiss_inventory *out)
{
    memset(b, 0, sizeof *b);
    memset(out, 0, sizeof *out);
    b->cat = cat;
    b->inv = out;
    if (nodes && !json_is_array(nodes))
        return -1;
    size_t nn = nodes ? json_array_size(nodes) : 0;
    b->cap = nn ? nn : 1;
    out->nodes = ksiss_xcalloc(b->cap, sizeof *out->nodes);
    b->single = ksiss_xcalloc(b->cap, sizeof *b->single);
    for (size_t i = 0; i < nn; i++) {
        const json_t *node = json_array_get(nodes, i);
        if (!json_is_object(node)) {
            warn(out, "node list item %zu is not an object; skipped", i);
            continue;
        }
        ksiss_inventory_add_node(b, node);
    }
    return 0;
}

void ksiss_inventory_add_node(ksiss_inventory_builder *b, const json_t *node)
{
    ksiss_inventory *out = b->inv;
    if (!json_is_object(node) || b->by_name)     /* after the first pod: refused (the index is made) */
        return;
    if (out->n_nodes == b->cap) {
        b->cap *= 2;
        out->nodes = ksiss_xrealloc(out->nodes, b->cap * sizeof *out->nodes);
        b->single = ksiss_xrealloc(b->single, b->cap * sizeof *b->single);
    }
    ksiss_inventory_node *n = &out->nodes[out->n_nodes];
    memset(n, 0, sizeof *n);
    b->single[out->n_nodes] = NULL;
    read_node(b->cat, node, n, &b->single[out->n_nodes], out);
    out->n_nodes++;
    /* A usable node of a known model offers its resources. */
    if (!n->ready || !n->schedulable || !n->gpu_model)
        return;
    for (size_t r = 0; r < n->n_res; r++) {
        ksiss_inventory_entry *e = entry(out, n->gpu_model, n->res[r].resource);
        e->allocatable = add_sat(e->allocatable, n->res[r].allocatable);
    }
}

/* Node indexes sorted by (name, index): a pod finds the first node of its
 * name by binary search. Made once, before the first pod. */
static void index_nodes(ksiss_inventory_builder *b)
{
    ksiss_inventory *out = b->inv;
    b->by_name = ksiss_xcalloc(out->n_nodes ? out->n_nodes : 1, sizeof *b->by_name);
    for (size_t i = 0; i < out->n_nodes; i++)
        b->by_name[i] = (ksiss_inventory_node_ref){out->nodes[i].name, i};
    if (out->n_nodes > 1)
        qsort(b->by_name, out->n_nodes, sizeof *b->by_name, cmp_node_name);
}

void ksiss_inventory_add_pod(ksiss_inventory_builder *b, const json_t *pod)
{
    ksiss_inventory *out = b->inv;
    if (!b->by_name)
        index_nodes(b);
    if (!json_is_object(pod))
        return;
    const char *phase = ksiss_json_str(pod, "status", "phase", NULL);
    const char *node_name = ksiss_json_str(pod, "spec", "nodeName", NULL);
    if (node_name && *node_name) {
        /* A bound, non-terminated pod: its requests on its node. */
        size_t k;
        ksiss_inventory_node *n = pod_terminated(pod) ? NULL : node_named(b, node_name, &k);
        if (!n)
            return;
        add_placement(out, pod, k);
        bool usable = n->ready && n->schedulable && n->gpu_model;
        /* Every GPU resource the node has, under the pod's spelling. */
        for (size_t r = 0; r < n->n_res; r++) {
            const char *asked = n->res[r].resource;
            long long u = ksiss_pod_request(pod, asked);
            if (b->single[k] && !strcmp(asked, b->single[k]->resource)) {
                long long g = ksiss_pod_request(pod, "nvidia.com/gpu");
                u = (u < 0 || g < 0) ? -1 : add_sat(u, g);
            }
            if (u < 0) {
                warn(out, "pod %s/%s: request for %s is not a whole number; ignored",
                     ksiss_json_str(pod, "metadata", "namespace", NULL) ? ksiss_json_str(pod, "metadata", "namespace", NULL) : "",
                     ksiss_json_str(pod, "metadata", "name", NULL) ? ksiss_json_str(pod, "metadata", "name", NULL) : "?", asked);
                continue;
            }
            n->res[r].requested = add_sat(n->res[r].requested, u);
            if (usable) {
                ksiss_inventory_entry *e = entry(out, n->gpu_model, asked);
                e->requested = add_sat(e->requested, u);
            }
        }
        return;
    }
    /* Pending unbound pods claim units: against the model their
     * nodeSelector names, or (unknown where they will land) against every
     * model offering the resource, which is the cautious reading. */
    if (!phase || strcmp(phase, "Pending") != 0)
        return;
    const char *sel = json_string_value(
        json_object_get(json_object_get(json_object_get(pod, "spec"), "nodeSelector"), "nvidia.com/gpu.product"));
    const ksiss_gpu_model *sel_model = sel ? ksiss_catalog_find_model(b->cat, sel) : NULL;
    for (size_t e = 0; e < out->n_entries; e++) {
        ksiss_inventory_entry *en = &out->entries[e];
        if (sel && (!sel_model || strcmp(sel_model->name, en->gpu_model) != 0))
            continue;
        long long u = ksiss_pod_request(pod, en->resource);
        if (u > 0)
            en->pending = add_sat(en->pending, u);
    }
}

void ksiss_inventory_end(ksiss_inventory_builder *b)
{
    ksiss_inventory *out = b->inv;
    for (size_t e = 0; e < out->n_entries; e++) {
        ksiss_inventory_entry *en = &out->entries[e];
        long long f = en->allocatable - en->requested - en->pending;
        en->free = f > 0 ? f : 0;
    }
    if (out->n_entries > 1)
        qsort(out->entries, out->n_entries, sizeof *out->entries, cmp_entry);
    if (out->n_placements > 1)
        qsort(out->placements, out->n_placements, sizeof *out->placements, cmp_placement);
    free(b->single);
    free(b->by_name);
    memset(b, 0, sizeof *b);
}

int ksiss_inventory_compute(const ksiss_catalog *cat, const json_t *nodes, const json_t *pods, ksiss_inventory *out)
{
    if (pods && !json_is_array(pods)) {
        memset(out, 0, sizeof *out);
        return -1;
    }
    ksiss_inventory_builder b;
    if (ksiss_inventory_begin(&b, cat, nodes, out) != 0)
        return -1;
    size_t i;
    const json_t *pod;
    json_array_foreach(pods, i, pod)
        ksiss_inventory_add_pod(&b, pod);
    ksiss_inventory_end(&b);
    return 0;
}

void ksiss_inventory_free(ksiss_inventory *inv)
{
    if (!inv)
        return;
    for (size_t i = 0; i < inv->n_nodes; i++) {
        ksiss_inventory_node *n = &inv->nodes[i];
        free(n->name);
        free(n->product);
        for (size_t r = 0; r < n->n_res; r++)
            free(n->res[r].resource);
        free(n->res);
    }
    free(inv->nodes);
    for (size_t i = 0; i < inv->n_entries; i++)
        free(inv->entries[i].resource);
    free(inv->entries);
    for (size_t i = 0; i < inv->n_warnings; i++)
        free(inv->warnings[i]);
    free(inv->warnings);
    for (size_t i = 0; i < inv->n_placements; i++) {
        free(inv->placements[i].ns);
        free(inv->placements[i].revision);
    }
    free(inv->placements);
    memset(inv, 0, sizeof *inv);
}

size_t ksiss_inventory_free_gpus(const ksiss_inventory *inv, ksiss_free_gpu *out, size_t max)
{
    for (size_t i = 0; i < inv->n_entries && i < max; i++) {
        out[i].resource = inv->entries[i].resource;
        out[i].gpu_model = inv->entries[i].gpu_model;
        out[i].free_units = inv->entries[i].free;
    }
    return inv->n_entries;
}

const ksiss_inventory_entry *ksiss_inventory_find(const ksiss_inventory *inv, const char *gpu_model,
                                                  const char *resource)
{
    for (size_t i = 0; i < inv->n_entries; i++)
        if ((!gpu_model || !strcmp(inv->entries[i].gpu_model, gpu_model)) &&
            !strcmp(inv->entries[i].resource, resource))
            return &inv->entries[i];
    return NULL;
}

size_t ksiss_inventory_revision_nodes(const ksiss_inventory *inv, const char *ns, const char *revision,
                                      const ksiss_inventory_node **out, size_t max)
{
    if (!inv || !ns || !revision)
        return 0;
    size_t lo = 0, hi = inv->n_placements;
    while (lo < hi) {       /* the first placement of (ns, revision) */
        size_t mid = lo + (hi - lo) / 2;
        const ksiss_inventory_placement *p = &inv->placements[mid];
        int c = strcmp(p->ns, ns);
        if (!c)
            c = strcmp(p->revision, revision);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t i = lo; i < inv->n_placements; i++) {
        const ksiss_inventory_placement *p = &inv->placements[i];
        if (strcmp(p->ns, ns) != 0 || strcmp(p->revision, revision) != 0)
            break;
        if (i > lo && p->node == inv->placements[i - 1].node)
            continue;       /* sorted: the same node's pods are adjacent */
        if (out && n < max)
            out[n] = &inv->nodes[p->node];
        n++;
    }
    return n;
}
