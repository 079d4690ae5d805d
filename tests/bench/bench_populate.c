/* bench_populate.c: `ksiss-bench populate` creates N Knative Services in
 * the bench namespace, each with a Ready Revision, its PodAutoscaler and P
 * pods bound to fake GPU nodes (KWOK marks them Running), plus those nodes,
 * straight through the API with several keep-alive connections. The
 * objects are clones of real ones the Knative controller reconciled on the
 * local cluster (tests/bench/templates/, see capture.sh), with the
 * template's service name "benchtpl" replaced in every string; their status
 * (what the Knative controller writes) is set through /status. The Knative
 * controller must be stopped (it would reconcile the clones). Also
 * `count`: counts the objects of a collection (optionally by status.phase). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define TPL_NAME "benchtpl"

typedef struct {
    bench_api api;
    const char *ns;
    const char *prefix;
    long n_services, first, pods, pods_per_node, slices_per_node, n_nodes;
    json_t *svc, *rev, *pa, *pod, *node;
    char **pod_names;           /* [(i - first) * pods + k], for --pods-out */
    bool inline_status;         /* the CRDs have no status subresource: POST with status */
    long next;                  /* next service index to do (atomic) */
    long done, failed;          /* atomic */
    int64_t t0;
} populate;

/* ------------------------------------------------------------ helpers --- */

static char *replace_all(const char *s, const char *from, const char *to)
{
    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    size_t fl = strlen(from);
    const char *p = s, *hit;
    while ((hit = strstr(p, from))) {
        ksiss_sb_append(&sb, p, (size_t)(hit - p));
        ksiss_sb_puts(&sb, to);
        p = hit + fl;
    }
    ksiss_sb_puts(&sb, p);
    ksiss_sb_putc(&sb, '\0');
    sb.len--;
    return ksiss_sb_take(&sb);
}

/* Replaces `from` by `to` in every string value of v (in place). */
static void subst(json_t *v, const char *from, const char *to)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) {
            if (json_is_string(x) && strstr(json_string_value(x), from)) {
                char *r = replace_all(json_string_value(x), from, to);
                json_object_set_new(v, k, json_string(r));
                free(r);
            } else {
                subst(x, from, to);
            }
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (json_is_string(x) && strstr(json_string_value(x), from)) {
                char *r = replace_all(json_string_value(x), from, to);
                json_array_set_new(v, i, json_string(r));
                free(r);
            } else {
                subst(x, from, to);
            }
        }
    }
}

static json_t *obj(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, k, v);
    }
    return v;
}

/* What the API server sets and a new object must not carry. */
static void strip_server_fields(json_t *o)
{
    json_t *md = obj(o, "metadata");
    static const char *const drop[] = {"uid", "resourceVersion", "creationTimestamp", "managedFields", "ownerReferences",
                                       "generation", "selfLink", "finalizers", "generateName", "deletionTimestamp"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        json_object_del(md, drop[i]);
    json_object_del(json_object_get(md, "annotations"), "kubectl.kubernetes.io/last-applied-configuration");
}

static json_t *load_template(const char *dir, const char *file, char **err)
{
    char *path = ksiss_xasprintf("%s/%s", dir, file);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!json_is_object(o)) {
        *err = ksiss_xasprintf("%s: %s (line %d)", path, o ? "not a JSON object" : je.text, je.line);
        json_decref(o);
        o = NULL;
    } else {
        strip_server_fields(o);
    }
    free(path);
    return o;
}

static void set_scale_annotations(json_t *annotations, long n)
{
    char v[24];
    snprintf(v, sizeof(v), "%ld", n);
    if (json_object_get(annotations, "autoscaling.knative.dev/min-scale"))
        json_object_set_new(annotations, "autoscaling.knative.dev/min-scale", json_string(v));
    if (json_object_get(annotations, "autoscaling.knative.dev/max-scale"))
        json_object_set_new(annotations, "autoscaling.knative.dev/max-scale", json_string(v));
}

/* POST body, accepting an existing object (a rerun); then, when status is
 * non-NULL, a merge patch of the /status subresource. Returns 0 or -1
 * (reported). */
static int create(bench_conn *bc, const char *coll, const char *name, json_t *body, json_t *status)
{
    char *err = NULL;
    long code = bench_req_json(bc, "POST", coll, "application/json", body, NULL, &err);
    if (code != 201 && code != 409) {
        fprintf(stderr, "populate: POST %s (%s): HTTP %ld %s\n", coll, name, code, err ? err : "");
        free(err);
        return -1;
    }
    if (!status)
        return 0;
    char *path = ksiss_xasprintf("%s/%s/status", coll, name);
    json_t *patch = json_pack("{s:O}", "status", status);
    code = bench_req_json(bc, "PATCH", path, "application/merge-patch+json", patch, NULL, &err);
    json_decref(patch);
    if (code != 200)
        fprintf(stderr, "populate: PATCH %s: HTTP %ld %s\n", path, code, err ? err : "");
    free(path);
    free(err);
    return code == 200 ? 0 : -1;
}

/* Deterministic 5-character pod suffix, like the ReplicaSet's. */
static void pod_suffix(long i, long k, char out[6])
{
    static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned long x = (unsigned long)i * 7919u + (unsigned long)k * 104729u + 12345u;
    for (int j = 0; j < 5; j++) {
        out[j] = alnum[x % 27];
        x /= 27;
    }
    out[5] = '\0';
}

/* Takes (and removes) the "status" member of a copy. */
static json_t *take_status(json_t *o)
{
    json_t *s = json_incref(json_object_get(o, "status"));
    json_object_del(o, "status");
    return s;
}

/* ---------------------------------------------------------- one service --- */

/* create() with the status: in the POST itself when the CRD has no status
 * subresource (--inline-status), else through /status. */
static int create_with_status(populate *p, bench_conn *bc, const char *coll, const char *name, json_t *body,
                              json_t *status)
{
    if (p->inline_status && status) {
        json_object_set(body, "status", status);
        return create(bc, coll, name, body, NULL);
    }
    return create(bc, coll, name, body, status);
}

static int one_service(populate *p, bench_conn *bc, long i)
{
    char name[128];
    snprintf(name, sizeof(name), "%s-%05ld", p->prefix, i);
    int bad = 0;
    char *base_kn = ksiss_xasprintf("/apis/serving.knative.dev/v1/namespaces/%s", p->ns);
    char *coll;

    /* Service */
    json_t *svc = json_deep_copy(p->svc);
    subst(svc, TPL_NAME, name);
    json_t *st = take_status(svc);
    set_scale_annotations(obj(obj(obj(obj(svc, "spec"), "template"), "metadata"), "annotations"), p->pods);
    coll = ksiss_xasprintf("%s/services", base_kn);
    bad |= create_with_status(p, bc, coll, name, svc, st);
    free(coll);
    json_decref(svc);
    json_decref(st);

    /* Revision */
    json_t *rev = json_deep_copy(p->rev);
    subst(rev, TPL_NAME, name);
    st = take_status(rev);
    set_scale_annotations(obj(obj(rev, "metadata"), "annotations"), p->pods);
    if (st) {
        json_object_set_new(st, "actualReplicas", json_integer(p->pods));
        json_object_set_new(st, "desiredReplicas", json_integer(p->pods));
    }
    const char *rev_name = json_string_value(json_object_get(json_object_get(rev, "metadata"), "name"));
    char *rev_name_c = ksiss_xstrdup(rev_name ? rev_name : name);
    coll = ksiss_xasprintf("%s/revisions", base_kn);
    bad |= create_with_status(p, bc, coll, rev_name_c, rev, st);
    free(coll);
    json_decref(rev);
    json_decref(st);

    /* PodAutoscaler */
    json_t *pa = json_deep_copy(p->pa);
    subst(pa, TPL_NAME, name);
    st = take_status(pa);
    set_scale_annotations(obj(obj(pa, "metadata"), "annotations"), p->pods);
    if (st) {
        json_object_set_new(st, "actualScale", json_integer(p->pods));
        json_object_set_new(st, "desiredScale", json_integer(p->pods));
    }
    coll = ksiss_xasprintf("/apis/autoscaling.internal.knative.dev/v1alpha1/namespaces/%s/podautoscalers", p->ns);
    bad |= create_with_status(p, bc, coll, rev_name_c, pa, st);
    free(coll);
    json_decref(pa);
    json_decref(st);

    /* Pods, bound to their node (KWOK makes them Running) */
    coll = ksiss_xasprintf("/api/v1/namespaces/%s/pods", p->ns);
    for (long k = 0; k < p->pods; k++) {
        json_t *pod = json_deep_copy(p->pod);
        subst(pod, TPL_NAME, name);
        json_object_del(pod, "status");
        json_t *md = obj(pod, "metadata");
        const char *tn = json_string_value(json_object_get(md, "name"));
        char sfx[6];
        pod_suffix(i, k, sfx);
        char *pn;
        const char *dash = tn ? strrchr(tn, '-') : NULL;
        if (dash)
            pn = ksiss_xasprintf("%.*s-%s", (int)(dash - tn), tn, sfx);
        else
            pn = ksiss_xasprintf("%s-deployment-%s", rev_name_c, sfx);
        json_object_set_new(md, "name", json_string(pn));
        long slot = (i - p->first) * p->pods + k;
        p->pod_names[slot] = ksiss_xstrdup(pn);
        char node[64];
        snprintf(node, sizeof(node), "%s-gpu-%04ld", p->prefix, slot / p->pods_per_node);
        json_object_set_new(obj(pod, "spec"), "nodeName", json_string(node));
        bad |= create(bc, coll, pn, pod, NULL);
        free(pn);
        json_decref(pod);
    }
    free(coll);
    free(rev_name_c);
    free(base_kn);
    return bad ? -1 : 0;
}

/* Drops the projected service-account volume (the admission plugin adds
 * its own, with a fresh name) and the pod's status. */
static void prepare_pod_template(json_t *pod)
{
    json_t *spec = obj(pod, "spec");
    json_t *vols = json_object_get(spec, "volumes");
    for (size_t i = json_array_size(vols); i-- > 0;) {
        const char *n = json_string_value(json_object_get(json_array_get(vols, i), "name"));
        if (n && ksiss_str_has_prefix(n, "kube-api-access-"))
            json_array_remove(vols, i);
    }
    static const char *const lists[] = {"containers", "initContainers"};
    for (size_t l = 0; l < 2; l++) {
        size_t ci;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), ci, c) {
            json_t *vm = json_object_get(c, "volumeMounts");
            for (size_t i = json_array_size(vm); i-- > 0;) {
                const char *n = json_string_value(json_object_get(json_array_get(vm, i), "name"));
                if (n && ksiss_str_has_prefix(n, "kube-api-access-"))
                    json_array_remove(vm, i);
            }
        }
    }
    json_object_del(spec, "nodeName");
    json_object_del(pod, "status");
}

static void *worker(void *arg)
{
    populate *p = arg;
    bench_conn bc;
    char *err = NULL;
    if (bench_conn_init(&bc, p->api.server, p->api.ca_file, p->api.token_file, &err) != 0) {
        fprintf(stderr, "populate: %s\n", err);
        free(err);
        __atomic_add_fetch(&p->failed, 1, __ATOMIC_SEQ_CST);
        return NULL;
    }
    for (;;) {
        long i = __atomic_fetch_add(&p->next, 1, __ATOMIC_SEQ_CST);
        if (i >= p->first + p->n_services)
            break;
        if (one_service(p, &bc, i) != 0)
            __atomic_add_fetch(&p->failed, 1, __ATOMIC_SEQ_CST);
        long d = __atomic_add_fetch(&p->done, 1, __ATOMIC_SEQ_CST);
        if (d % 1000 == 0 || d == p->n_services) {
            double s = (double)(bench_now_ms() - p->t0) / 1000.0;
            fprintf(stderr, "populate: %ld/%ld services in %.1f s (%.0f/s)\n", d, p->n_services, s, d / (s > 0 ? s : 1));
        }
    }
    bench_conn_free(&bc);
    return NULL;
}

/* Nodes: the template node (an inventory node) with P pods' worth of
 * nvidia.com/mig-1g.10gb slices plus spares. */
static int create_nodes(populate *p, bench_conn *bc)
{
    for (long n = 0; n < p->n_nodes; n++) {
        char name[64];
        snprintf(name, sizeof(name), "%s-gpu-%04ld", p->prefix, n);
        json_t *node = json_deep_copy(p->node);
        json_t *md = obj(node, "metadata");
        json_object_set_new(md, "name", json_string(name));
        json_t *labels = obj(md, "labels");
        json_object_set_new(labels, "kubernetes.io/hostname", json_string(name));
        json_object_set_new(labels, "ksiss.dev/bench", json_string("true"));
        json_object_del(node, "status");
        char slices[24], pods[24];
        snprintf(slices, sizeof(slices), "%ld", p->slices_per_node);
        snprintf(pods, sizeof(pods), "%ld", p->pods_per_node + 60);
        json_object_set_new(labels, "nvidia.com/mig-1g.10gb.count", json_string(slices));
        char gpus[24];
        snprintf(gpus, sizeof(gpus), "%ld", (p->slices_per_node + 6) / 7);
        json_object_set_new(labels, "nvidia.com/gpu.count", json_string(gpus));
        json_t *res = json_pack("{s:s,s:s,s:s,s:s}", "cpu", "256", "memory", "2048Gi", "pods", pods,
                                "nvidia.com/mig-1g.10gb", slices);
        json_t *status = json_pack("{s:O,s:O}", "capacity", res, "allocatable", res);
        json_decref(res);
        int rc = create(bc, "/api/v1/nodes", name, node, status);
        json_decref(status);
        json_decref(node);
        if (rc != 0)
            return -1;
    }
    return 0;
}

int bench_populate(int argc, char **argv)
{
    populate p = {0};
    p.api.server = bench_arg(argc, argv, "--server");
    p.api.ca_file = bench_arg(argc, argv, "--ca");
    p.api.token_file = bench_arg(argc, argv, "--token-file");
    p.ns = bench_arg(argc, argv, "--namespace");
    p.prefix = bench_arg(argc, argv, "--prefix");
    const char *dir = bench_arg(argc, argv, "--templates");
    p.n_services = bench_arg_long(argc, argv, "--services", 0);
    p.first = bench_arg_long(argc, argv, "--first", 1);
    p.pods = bench_arg_long(argc, argv, "--pods", 2);
    p.pods_per_node = bench_arg_long(argc, argv, "--pods-per-node", 50);
    p.slices_per_node = bench_arg_long(argc, argv, "--slices-per-node", 56);
    long threads = bench_arg_long(argc, argv, "--threads", 8);
    const char *pods_out = bench_arg(argc, argv, "--pods-out");
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--inline-status"))
            p.inline_status = true;
    if (!p.api.server || !p.ns || !p.prefix || !dir || p.n_services < 1 || p.pods < 1 || p.pods > 20 ||
        p.pods_per_node < 1 || p.slices_per_node < p.pods_per_node || threads < 1 || threads > 64) {
        fprintf(stderr, "usage: ksiss-bench populate --server URL [--ca FILE] [--token-file FILE] --templates DIR\n"
                        "         --namespace NS --prefix NAME --services N [--first 1] [--pods 2]\n"
                        "         [--pods-per-node 50] [--slices-per-node 56 (>= pods per node)] [--threads 8]\n"
                        "         [--pods-out FILE (lines SERVICE POD...)]\n"
                        "         [--inline-status (the Knative CRDs' status subresource was removed)]\n");
        return 2;
    }
    char *err = NULL;
    static const char *const files[] = {"service.json", "revision.json", "podautoscaler.json", "pod.json", "node.json"};
    json_t **slots[] = {&p.svc, &p.rev, &p.pa, &p.pod, &p.node};
    for (size_t i = 0; i < 5; i++) {
        *slots[i] = load_template(dir, files[i], &err);
        if (!*slots[i]) {
            fprintf(stderr, "populate: template %s\n", err);
            free(err);
            return 1;
        }
    }
    prepare_pod_template(p.pod);
    p.n_nodes = (p.n_services * p.pods + p.pods_per_node - 1) / p.pods_per_node;
    p.next = p.first;
    p.pod_names = ksiss_xcalloc((size_t)(p.n_services * p.pods), sizeof(*p.pod_names));
    p.t0 = bench_now_ms();
    bench_conn bc;
    if (bench_conn_init(&bc, p.api.server, p.api.ca_file, p.api.token_file, &err) != 0) {
        fprintf(stderr, "populate: %s\n", err);
        free(err);
        return 1;
    }
    json_t *nsobj = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name", p.ns);
    int rc = create(&bc, "/api/v1/namespaces", p.ns, nsobj, NULL);
    json_decref(nsobj);
    if (rc == 0)
        rc = create_nodes(&p, &bc);
    bench_conn_free(&bc);
    if (rc != 0) {
        fprintf(stderr, "populate: namespace or nodes not created\n");
        return 1;
    }
    fprintf(stderr, "populate: %ld fake GPU nodes (%ld x nvidia.com/mig-1g.10gb each) in %.1f s\n", p.n_nodes,
            p.slices_per_node, (double)(bench_now_ms() - p.t0) / 1000.0);
    pthread_t th[64];
    long started = 0;
    for (long t = 0; t < threads; t++)
        if (pthread_create(&th[started], NULL, worker, &p) == 0)
            started++;
    for (long t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    for (size_t i = 0; i < 5; i++)
        json_decref(*slots[i]);
    FILE *f = pods_out ? fopen(pods_out, "w") : NULL;
    if (pods_out && !f) {
        fprintf(stderr, "populate: cannot write %s\n", pods_out);
        p.failed++;
    }
    for (long i = 0; i < p.n_services; i++) {
        if (f) {
            fprintf(f, "%s-%05ld", p.prefix, p.first + i);
            for (long k = 0; k < p.pods; k++)
                fprintf(f, " %s", p.pod_names[i * p.pods + k] ? p.pod_names[i * p.pods + k] : "-");
            fputc('\n', f);
        }
        for (long k = 0; k < p.pods; k++)
            free(p.pod_names[i * p.pods + k]);
    }
    if (f && fclose(f) != 0)
        p.failed++;
    free(p.pod_names);
    double s = (double)(bench_now_ms() - p.t0) / 1000.0;
    printf("populate: %ld services x (Service, Revision, PodAutoscaler, %ld pods), %ld nodes in %.1f s; %ld failed\n",
           p.n_services, p.pods, p.n_nodes, s, p.failed);
    return p.failed || !started ? 1 : 0;
}

/* ------------------------------------------------------------- count --- */

int bench_count(int argc, char **argv)
{
    const char *server = bench_arg(argc, argv, "--server");
    const char *path = bench_arg(argc, argv, "--path");
    const char *phase = bench_arg(argc, argv, "--phase");
    if (!server || !path) {
        fprintf(stderr, "usage: ksiss-bench count --server URL [--ca FILE] [--token-file FILE] --path COLLECTION "
                        "[--phase PHASE]\n");
        return 2;
    }
    bench_conn bc;
    char *err = NULL;
    if (bench_conn_init(&bc, server, bench_arg(argc, argv, "--ca"), bench_arg(argc, argv, "--token-file"), &err) != 0) {
        fprintf(stderr, "count: %s\n", err);
        free(err);
        return 1;
    }
    long n = 0;
    char *cont = NULL;
    int rc = 0;
    do {
        char *p = cont ? ksiss_xasprintf("%s?limit=1000&continue=%s", path, cont)
                       : ksiss_xasprintf("%s?limit=1000", path);
        json_t *out = NULL;
        long code = bench_req_json(&bc, "GET", p, NULL, NULL, &out, &err);
        free(p);
        free(cont);
        cont = NULL;
        if (code != 200 || !out) {
            fprintf(stderr, "count: GET %s: HTTP %ld %s\n", path, code, err ? err : "");
            json_decref(out);
            rc = 1;
            break;
        }
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(out, "items"), i, it) {
            const char *ph = json_string_value(json_object_get(json_object_get(it, "status"), "phase"));
            if (!phase || (ph && !strcmp(ph, phase)))
                n++;
        }
        const char *c = json_string_value(json_object_get(json_object_get(out, "metadata"), "continue"));
        if (c && *c) {
            CURL *e = curl_easy_init();
            char *esc = curl_easy_escape(e, c, 0);
            cont = ksiss_xstrdup(esc);
            curl_free(esc);
            curl_easy_cleanup(e);
        }
        json_decref(out);
    } while (cont);
    free(err);
    bench_conn_free(&bc);
    if (rc == 0)
        printf("%ld\n", n);
    return rc;
}
