/* check_manifests.c: static checks of the deploy manifests and of the
 * Grafana dashboard, needing no cluster (`make check-deploy`):
 *   check_manifests manifests DIR RBAC_TABLE [--image-user UID]
 *     one namespace in every object, RBAC exactly as the table (no '*'),
 *     ConfigMap present and named as the Deployment says, Lease and Events
 *     rights, securityContext, probes, resources, Service and ServiceMonitor
 *     wiring;
 *   check_manifests dashboard FILE [--metrics EXPOSITION_FILE]
 *     every metric name in the dashboard's PromQL is one the exporter
 *     exposes (its /metrics text, rendered in-process from the exporter's
 *     own registry unless a scraped file is given), and every label used
 *     in a matcher, a `by (...)` list or a legend is one of that metric's;
 *   check_manifests list-metrics
 *     prints the exporter's metric families, as /metrics declares them;
 *   check_manifests env|args DEPLOYMENT_FILE
 *     prints the Deployment container's literal env (NAME=VALUE) or args.
 * Every problem is printed as FILE[:LINE:COL]: message; exit 1 when any. */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/diag.h"
#include "core/util.h"
#include "core/yaml_tree.h"
#include "shell/metrics.h"

#define MAX_FILE_BYTES (8u << 20)

static int n_problems;

static void problem(const char *file, ksiss_pos pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(const char *file, ksiss_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = ksiss_xvasprintf(fmt, ap);
    va_end(ap);
    if (pos.line > 0)
        fprintf(stderr, "%s:%d:%d: %s\n", file, pos.line, pos.col, msg);
    else
        fprintf(stderr, "%s: %s\n", file, msg);
    free(msg);
    n_problems++;
}

/* ------------------------------------------------------------------ */
/* Manifests                                                            */

typedef struct {
    char *file;                 /* owned */
    ksiss_ynode *root;          /* owned by the docs array of its file */
} object;

typedef struct {
    object *v;
    size_t n, cap;
    ksiss_ynode ***docs;        /* per file, to free */
    size_t *n_docs;
    size_t n_files;
} objects;

static const char *scalar_at(const ksiss_ynode *n, const char *const *path)
{
    for (; n && *path; path++)
        n = ksiss_ymap_get(n, *path);
    return n && n->kind == KSISS_Y_SCALAR && !ksiss_y_is_null(n) ? n->scalar : NULL;
}
#define SCALAR(n, ...) scalar_at((n), (const char *const[]){__VA_ARGS__, NULL})

static const ksiss_ynode *node_at(const ksiss_ynode *n, const char *const *path)
{
    for (; n && *path; path++)
        n = ksiss_ymap_get(n, *path);
    return n;
}
#define NODE(n, ...) node_at((n), (const char *const[]){__VA_ARGS__, NULL})

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void load_dir(objects *o, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        problem(dir, (ksiss_pos){0, 0}, "cannot open the directory");
        return;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (ksiss_str_has_suffix(e->d_name, ".yaml") || ksiss_str_has_suffix(e->d_name, ".yml") ||
            ksiss_str_has_suffix(e->d_name, ".json")) {
            names = ksiss_xrealloc(names, (n + 1) * sizeof(*names));
            names[n++] = ksiss_xstrdup(e->d_name);
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n; i++) {
        char *path = ksiss_xasprintf("%s/%s", dir, names[i]);
        free(names[i]);
        size_t len = 0;
        char *err = NULL;
        char *text = ksiss_read_file(path, MAX_FILE_BYTES, &len, &err);
        if (!text) {
            problem(path, (ksiss_pos){0, 0}, "%s", err);
            free(err);
            free(path);
            continue;
        }
        ksiss_diags dg;
        ksiss_diags_init(&dg);
        ksiss_ynode **docs = NULL;
        size_t nd = 0;
        if (ksiss_yaml_parse(text, len, path, 0, 0, &docs, &nd, &dg) != 0) {
            for (size_t k = 0; k < dg.n; k++) {
                char *m = ksiss_diag_format(&dg.v[k]);
                fprintf(stderr, "%s\n", m);
                free(m);
                n_problems++;
            }
        }
        ksiss_diags_free(&dg);
        free(text);
        o->docs = ksiss_xrealloc(o->docs, (o->n_files + 1) * sizeof(*o->docs));
        o->n_docs = ksiss_xrealloc(o->n_docs, (o->n_files + 1) * sizeof(*o->n_docs));
        o->docs[o->n_files] = docs;
        o->n_docs[o->n_files++] = nd;
        for (size_t k = 0; k < nd; k++) {
            if (ksiss_y_is_null(docs[k]))
                continue;
            if (docs[k]->kind != KSISS_Y_MAP || !SCALAR(docs[k], "kind") || !SCALAR(docs[k], "apiVersion") ||
                !SCALAR(docs[k], "metadata", "name")) {
                problem(path, docs[k]->pos, "not a Kubernetes object (apiVersion, kind and metadata.name needed): "
                        "`kubectl apply -f` would refuse the directory");
                continue;
            }
            if (o->n == o->cap) {
                o->cap = o->cap ? 2 * o->cap : 16;
                o->v = ksiss_xrealloc(o->v, o->cap * sizeof(*o->v));
            }
            o->v[o->n].file = ksiss_xstrdup(path);
            o->v[o->n++].root = docs[k];
        }
        free(path);
    }
    free(names);
}

static void objects_free(objects *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].file);
    free(o->v);
    for (size_t i = 0; i < o->n_files; i++)
        ksiss_ynodes_free(o->docs[i], o->n_docs[i]);
    free(o->docs);
    free(o->n_docs);
}

static const char *kind_of(const object *ob) { return SCALAR(ob->root, "kind"); }
static const char *name_of(const object *ob) { return SCALAR(ob->root, "metadata", "name"); }

static const object *find(const objects *o, const char *kind, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(kind_of(&o->v[i]), kind) && (!name || !strcmp(name_of(&o->v[i]), name)))
            return &o->v[i];
    return NULL;
}

static bool cluster_scoped(const char *kind)
{
    static const char *const k[] = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                                    "PriorityClass", NULL};
    for (size_t i = 0; k[i]; i++)
        if (!strcmp(kind, k[i]))
            return true;
    return false;
}

/* The one namespace: the Namespace object's name; every namespaced object,
 * every binding subject and ServiceMonitor selector must use it. */
static const char *check_namespace(const objects *o)
{
    const char *ns = NULL;
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(kind_of(&o->v[i]), "Namespace"))
            continue;
        if (ns)
            problem(o->v[i].file, o->v[i].root->pos, "a second Namespace (%s): K-SISS uses one namespace (%s)",
                    name_of(&o->v[i]), ns);
        else
            ns = name_of(&o->v[i]);
    }
    if (!ns) {
        problem("deploy", (ksiss_pos){0, 0}, "no Namespace object");
        return NULL;
    }
    for (size_t i = 0; i < o->n; i++) {
        const object *ob = &o->v[i];
        const ksiss_ynode *md = NODE(ob->root, "metadata");
        const char *ons = SCALAR(ob->root, "metadata", "namespace");
        if (!strcmp(kind_of(ob), "ConfigMap")) {
            /* read by `ksiss run` from its managed namespace (NAMESPACE):
             * checked against the Deployment in check_deployment */
        } else if (cluster_scoped(kind_of(ob))) {
            if (ons)
                problem(ob->file, md->pos, "%s %s is cluster-scoped but names namespace %s", kind_of(ob), name_of(ob),
                        ons);
        } else if (!ons) {
            problem(ob->file, md->pos, "%s %s has no metadata.namespace (must be %s, not whatever kubectl's context is)",
                    kind_of(ob), name_of(ob), ns);
        } else if (strcmp(ons, ns)) {
            problem(ob->file, NODE(md, "namespace")->pos, "%s %s is in namespace %s, the Namespace object is %s",
                    kind_of(ob), name_of(ob), ons, ns);
        }
        const ksiss_ynode *subj = NODE(ob->root, "subjects");
        for (size_t k = 0; subj && subj->kind == KSISS_Y_SEQ && k < subj->n; k++) {
            const char *sns = SCALAR(subj->items[k], "namespace");
            if (!sns || strcmp(sns, ns))
                problem(ob->file, subj->items[k]->pos, "%s %s: subject's namespace is %s, not %s", kind_of(ob),
                        name_of(ob), sns ? sns : "(none)", ns);
        }
        const ksiss_ynode *mn = NODE(ob->root, "spec", "namespaceSelector", "matchNames");
        for (size_t k = 0; mn && mn->kind == KSISS_Y_SEQ && k < mn->n; k++)
            if (mn->items[k]->kind != KSISS_Y_SCALAR || strcmp(mn->items[k]->scalar, ns))
                problem(ob->file, mn->items[k]->pos, "%s %s selects a namespace other than %s", kind_of(ob),
                        name_of(ob), ns);
    }
    return ns;
}

/* RBAC: one grant = scope ("cluster" or "namespace"), group, resource, verb. */
typedef struct {
    char *scope, *group, *resource, *verb;
    bool seen;
} grant;

typedef struct {
    grant *v;
    size_t n, cap;
} grants;

static void grants_add(grants *g, const char *scope, const char *group, const char *resource, const char *verb)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->v[i].scope, scope) && !strcmp(g->v[i].group, group) && !strcmp(g->v[i].resource, resource) &&
            !strcmp(g->v[i].verb, verb))
            return;
    if (g->n == g->cap) {
        g->cap = g->cap ? 2 * g->cap : 32;
        g->v = ksiss_xrealloc(g->v, g->cap * sizeof(*g->v));
    }
    g->v[g->n++] = (grant){ksiss_xstrdup(scope), ksiss_xstrdup(group), ksiss_xstrdup(resource), ksiss_xstrdup(verb),
                           false};
}

static void grants_free(grants *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].scope);
        free(g->v[i].group);
        free(g->v[i].resource);
        free(g->v[i].verb);
    }
    free(g->v);
}

static grant *grants_find(grants *g, const grant *w)
{
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->v[i].scope, w->scope) && !strcmp(g->v[i].group, w->group) &&
            !strcmp(g->v[i].resource, w->resource) && !strcmp(g->v[i].verb, w->verb))
            return &g->v[i];
    return NULL;
}

/* Table lines: "SCOPE GROUP RESOURCE VERB,VERB,..." with GROUP "core" for
 * the core group; '#' starts a comment. */
static int read_table(const char *path, grants *out)
{
    size_t len = 0;
    char *err = NULL;
    char *text = ksiss_read_file(path, MAX_FILE_BYTES, &len, &err);
    if (!text) {
        problem(path, (ksiss_pos){0, 0}, "%s", err);
        free(err);
        return -1;
    }
    int line = 0;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        char *l = ksiss_xstrndup(p, ll);
        line++;
        char *hash = strchr(l, '#');
        if (hash)
            *hash = '\0';
        char *f[4] = {0};
        int nf = 0;
        for (char *s = l; *s && nf < 5;) {
            while (*s && isspace((unsigned char)*s))
                *s++ = '\0';
            if (!*s)
                break;
            if (nf < 4)
                f[nf] = s;
            nf++;
            while (*s && !isspace((unsigned char)*s))
                s++;
        }
        if (nf == 4) {
            const char *group = strcmp(f[1], "core") ? f[1] : "";
            for (char *v = f[3]; *v;) {
                char *c = strchr(v, ',');
                if (c)
                    *c = '\0';
                if (*v)
                    grants_add(out, f[0], group, f[2], v);
                if (!c)
                    break;
                v = c + 1;
            }
        } else if (nf != 0) {
            problem(path, (ksiss_pos){line, 1}, "expected SCOPE GROUP RESOURCE VERBS, got %d fields", nf);
        }
        free(l);
        p = eol ? eol + 1 : p + ll;
    }
    free(text);
    return 0;
}

static bool is_star(const ksiss_ynode *n)
{
    return n && n->kind == KSISS_Y_SCALAR && strchr(n->scalar, '*');
}

static void rules_to_grants(const object *ob, const char *scope, grants *g)
{
    const ksiss_ynode *rules = NODE(ob->root, "rules");
    if (!rules || rules->kind != KSISS_Y_SEQ) {
        problem(ob->file, ob->root->pos, "%s %s has no rules list", kind_of(ob), name_of(ob));
        return;
    }
    for (size_t r = 0; r < rules->n; r++) {
        const ksiss_ynode *rule = rules->items[r];
        static const char *const lists[] = {"apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"};
        for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
            const ksiss_ynode *l = NODE(rule, lists[k]);
            for (size_t i = 0; l && l->kind == KSISS_Y_SEQ && i < l->n; i++)
                if (is_star(l->items[i]))
                    problem(ob->file, l->items[i]->pos, "%s %s: '%s' in %s: grant exactly what the code uses",
                            kind_of(ob), name_of(ob), l->items[i]->scalar, lists[k]);
        }
        if (NODE(rule, "nonResourceURLs"))
            problem(ob->file, rule->pos, "%s %s: nonResourceURLs are not used by K-SISS", kind_of(ob), name_of(ob));
        const ksiss_ynode *gs = NODE(rule, "apiGroups"), *rs = NODE(rule, "resources"), *vs = NODE(rule, "verbs");
        if (!gs || gs->kind != KSISS_Y_SEQ || !rs || rs->kind != KSISS_Y_SEQ || !vs || vs->kind != KSISS_Y_SEQ) {
            problem(ob->file, rule->pos, "%s %s: a rule needs apiGroups, resources and verbs lists", kind_of(ob),
                    name_of(ob));
            continue;
        }
        for (size_t a = 0; a < gs->n; a++)
            for (size_t b = 0; b < rs->n; b++)
                for (size_t c = 0; c < vs->n; c++)
                    if (gs->items[a]->kind == KSISS_Y_SCALAR && rs->items[b]->kind == KSISS_Y_SCALAR &&
                        vs->items[c]->kind == KSISS_Y_SCALAR)
                        grants_add(g, scope, gs->items[a]->scalar, rs->items[b]->scalar, vs->items[c]->scalar);
    }
}

/* The roles bound to the ServiceAccount `sa`, compared with the table. */
static void check_rbac(const objects *o, const char *ns, const char *sa, const char *table)
{
    grants want = {0}, have = {0};
    if (read_table(table, &want) != 0)
        return;
    size_t bound = 0;
    for (size_t i = 0; i < o->n; i++) {
        const object *ob = &o->v[i];
        bool crb = !strcmp(kind_of(ob), "ClusterRoleBinding"), rb = !strcmp(kind_of(ob), "RoleBinding");
        if (!crb && !rb)
            continue;
        const ksiss_ynode *subj = NODE(ob->root, "subjects");
        bool for_sa = false;
        for (size_t k = 0; subj && subj->kind == KSISS_Y_SEQ && k < subj->n; k++) {
            const char *sk = SCALAR(subj->items[k], "kind"), *sn = SCALAR(subj->items[k], "name");
            if (sk && sn && !strcmp(sk, "ServiceAccount") && !strcmp(sn, sa))
                for_sa = true;
            else
                problem(ob->file, subj->items[k]->pos, "%s %s binds %s %s: only the ServiceAccount %s should be bound",
                        kind_of(ob), name_of(ob), sk ? sk : "?", sn ? sn : "?", sa);
        }
        if (!for_sa)
            continue;
        const char *rk = SCALAR(ob->root, "roleRef", "kind"), *rn = SCALAR(ob->root, "roleRef", "name");
        const object *role = rk && rn ? find(o, rk, rn) : NULL;
        if (!role) {
            problem(ob->file, ob->root->pos, "%s %s refers to %s %s, which is not in the manifests", kind_of(ob),
                    name_of(ob), rk ? rk : "?", rn ? rn : "?");
            continue;
        }
        bound++;
        /* A ClusterRole bound by a RoleBinding grants only in that namespace. */
        rules_to_grants(role, crb ? "cluster" : "namespace", &have);
    }
    if (!bound)
        problem("deploy", (ksiss_pos){0, 0}, "nothing binds a role to the ServiceAccount %s", sa);
    for (size_t i = 0; i < have.n; i++) {
        grant *w = grants_find(&want, &have.v[i]);
        if (!w)
            problem(table, (ksiss_pos){0, 0},
                    "the manifests grant %s %s%s%s %s, which the code does not use (not in this table)",
                    have.v[i].scope, have.v[i].group, *have.v[i].group ? "/" : "", have.v[i].resource,
                    have.v[i].verb);
        else
            w->seen = true;
        if (!strcmp(have.v[i].resource, "secrets"))
            problem("deploy", (ksiss_pos){0, 0}, "K-SISS must not read Secrets");
    }
    for (size_t i = 0; i < want.n; i++)
        if (!want.v[i].seen)
            problem(table, (ksiss_pos){0, 0}, "the code needs %s %s%s%s %s, which the manifests do not grant",
                    want.v[i].scope, want.v[i].group, *want.v[i].group ? "/" : "", want.v[i].resource,
                    want.v[i].verb);
    (void)ns;
    grants_free(&want);
    grants_free(&have);
}

static bool scalar_is(const ksiss_ynode *n, const char *v)
{
    return n && n->kind == KSISS_Y_SCALAR && !strcmp(n->scalar, v);
}

static bool seq_has(const ksiss_ynode *n, const char *v)
{
    for (size_t i = 0; n && n->kind == KSISS_Y_SEQ && i < n->n; i++)
        if (scalar_is(n->items[i], v))
            return true;
    return false;
}

static const ksiss_ynode *env_var(const ksiss_ynode *container, const char *name)
{
    const ksiss_ynode *env = NODE(container, "env");
    for (size_t i = 0; env && env->kind == KSISS_Y_SEQ && i < env->n; i++)
        if (scalar_is(NODE(env->items[i], "name"), name))
            return env->items[i];
    return NULL;
}

/* Port number a probe / Service targets: a number, or a named container port. */
static long resolve_port(const ksiss_ynode *container, const ksiss_ynode *port)
{
    if (!port || port->kind != KSISS_Y_SCALAR)
        return -1;
    int64_t v;
    if (ksiss_parse_int64(port->scalar, &v) == 0)
        return (long)v;
    const ksiss_ynode *ports = NODE(container, "ports");
    for (size_t i = 0; ports && ports->kind == KSISS_Y_SEQ && i < ports->n; i++)
        if (scalar_is(NODE(ports->items[i], "name"), port->scalar)) {
            const char *cp = SCALAR(ports->items[i], "containerPort");
            if (cp && ksiss_parse_int64(cp, &v) == 0)
                return (long)v;
        }
    return -1;
}

static void check_probe(const object *ob, const ksiss_ynode *c, const char *which, const char *path)
{
    const ksiss_ynode *p = NODE(c, which);
    if (!p) {
        problem(ob->file, c->pos, "Deployment %s: container has no %s (on %s, port 8080)", name_of(ob), which, path);
        return;
    }
    const char *pp = SCALAR(p, "httpGet", "path");
    if (!pp || strcmp(pp, path))
        problem(ob->file, p->pos, "Deployment %s: %s must GET %s (got %s)", name_of(ob), which, path, pp ? pp : "none");
    if (resolve_port(c, NODE(p, "httpGet", "port")) != 8080)
        problem(ob->file, p->pos, "Deployment %s: %s must target port 8080, where `ksiss run` listens", name_of(ob),
                which);
}

/* Value of a securityContext field: the container's, else the pod's. */
static const ksiss_ynode *sc_field(const ksiss_ynode *pod_sc, const ksiss_ynode *c_sc, const char *f)
{
    const ksiss_ynode *v = NODE(c_sc, f);
    return v ? v : NODE(pod_sc, f);
}

static void check_deployment(const objects *o, const char *ns, const char *image_user, const char **sa_out,
                             const ksiss_ynode **container_out, const ksiss_ynode **pod_labels_out)
{
    const object *ob = find(o, "Deployment", NULL);
    if (!ob) {
        problem("deploy", (ksiss_pos){0, 0}, "no Deployment");
        return;
    }
    const char *dn = name_of(ob);
    const char *rep = SCALAR(ob->root, "spec", "replicas");
    int64_t r = 0;
    if (!rep || ksiss_parse_int64(rep, &r) != 0 || r < 2)
        problem(ob->file, ob->root->pos, "Deployment %s: replicas must be at least 2 (leader election, hand-over)", dn);
    const ksiss_ynode *pod = NODE(ob->root, "spec", "template", "spec");
    if (!pod) {
        problem(ob->file, ob->root->pos, "Deployment %s has no pod template", dn);
        return;
    }
    *pod_labels_out = NODE(ob->root, "spec", "template", "metadata", "labels");
    const char *sa = SCALAR(pod, "serviceAccountName");
    if (!sa)
        problem(ob->file, pod->pos, "Deployment %s: serviceAccountName missing (it would run as `default`)", dn);
    else if (!find(o, "ServiceAccount", sa))
        problem(ob->file, NODE(pod, "serviceAccountName")->pos, "Deployment %s: ServiceAccount %s is not in the manifests",
                dn, sa);
    *sa_out = sa;
    const ksiss_ynode *cs = NODE(pod, "containers");
    if (!cs || cs->kind != KSISS_Y_SEQ || cs->n != 1) {
        problem(ob->file, pod->pos, "Deployment %s: expected exactly one container", dn);
        return;
    }
    const ksiss_ynode *c = cs->items[0];
    *container_out = c;
    const ksiss_ynode *psc = NODE(pod, "securityContext"), *csc = NODE(c, "securityContext");
    if (!scalar_is(sc_field(psc, csc, "runAsNonRoot"), "true"))
        problem(ob->file, c->pos, "Deployment %s: securityContext.runAsNonRoot must be true", dn);
    const ksiss_ynode *uid = sc_field(psc, csc, "runAsUser");
    int64_t u = 0;
    if (!uid || uid->kind != KSISS_Y_SCALAR || ksiss_parse_int64(uid->scalar, &u) != 0 || u <= 0)
        problem(ob->file, c->pos, "Deployment %s: securityContext.runAsUser must be a numeric non-root uid", dn);
    else if (image_user && strcmp(uid->scalar, image_user))
        problem(ob->file, uid->pos, "Deployment %s: runAsUser %s differs from the Dockerfile's USER %s", dn,
                uid->scalar, image_user);
    if (!scalar_is(NODE(csc, "allowPrivilegeEscalation"), "false"))
        problem(ob->file, c->pos, "Deployment %s: securityContext.allowPrivilegeEscalation must be false", dn);
    if (!scalar_is(NODE(csc, "readOnlyRootFilesystem"), "true"))
        problem(ob->file, c->pos, "Deployment %s: securityContext.readOnlyRootFilesystem must be true", dn);
    if (!seq_has(NODE(csc, "capabilities", "drop"), "ALL"))
        problem(ob->file, c->pos, "Deployment %s: securityContext.capabilities.drop must contain ALL", dn);
    if (NODE(csc, "capabilities", "add"))
        problem(ob->file, c->pos, "Deployment %s: no capabilities may be added", dn);
    if (scalar_is(NODE(csc, "privileged"), "true"))
        problem(ob->file, c->pos, "Deployment %s: privileged container", dn);
    const ksiss_ynode *sp = sc_field(psc, csc, "seccompProfile");
    if (!scalar_is(NODE(sp, "type"), "RuntimeDefault"))
        problem(ob->file, c->pos, "Deployment %s: seccompProfile.type must be RuntimeDefault", dn);
    check_probe(ob, c, "livenessProbe", "/healthz");
    check_probe(ob, c, "readinessProbe", "/readyz");
    static const char *const res[][2] = {{"requests", "cpu"}, {"requests", "memory"}, {"limits", "cpu"},
                                          {"limits", "memory"}};
    for (size_t i = 0; i < 4; i++)
        if (!SCALAR(c, "resources", res[i][0], res[i][1]))
            problem(ob->file, c->pos, "Deployment %s: resources.%s.%s missing", dn, res[i][0], res[i][1]);
    /* With a read-only root, only emptyDir volumes are writable; nothing else
     * should be mounted (the service-account token is projected by Kubernetes). */
    const ksiss_ynode *vols = NODE(pod, "volumes");
    for (size_t i = 0; vols && vols->kind == KSISS_Y_SEQ && i < vols->n; i++)
        if (!NODE(vols->items[i], "emptyDir"))
            problem(ob->file, vols->items[i]->pos, "Deployment %s: volume %s is not an emptyDir", dn,
                    SCALAR(vols->items[i], "name") ? SCALAR(vols->items[i], "name") : "?");
    /* Downward API for leader election. */
    static const char *const downward[][2] = {{"POD_NAME", "metadata.name"}, {"POD_NAMESPACE", "metadata.namespace"}};
    for (size_t i = 0; i < 2; i++) {
        const char *fp = SCALAR(env_var(c, downward[i][0]), "valueFrom", "fieldRef", "fieldPath");
        if (!fp || strcmp(fp, downward[i][1]))
            problem(ob->file, c->pos, "Deployment %s: env %s must come from the downward API (%s)", dn, downward[i][0],
                    downward[i][1]);
    }
    /* Only the variables `ksiss run` reads (COMPATIBILITY.md + downward API). */
    static const char *const known[] = {"METRICS_SCRAPE_INTERVAL", "NAMESPACE", "IGNORE_LIST", "CONFIG_MAP_NAME",
                                        "PROMETHEUS_URL", "DEFAULT_CPU", "DEFAULT_MEMORY", "POD_NAME",
                                        "POD_NAMESPACE", NULL};
    const ksiss_ynode *env = NODE(c, "env");
    for (size_t i = 0; env && env->kind == KSISS_Y_SEQ && i < env->n; i++) {
        const char *n = SCALAR(env->items[i], "name");
        bool ok = false;
        for (size_t k = 0; n && known[k]; k++)
            ok = ok || !strcmp(n, known[k]);
        if (!ok)
            problem(ob->file, env->items[i]->pos, "Deployment %s: env %s is not read by ksiss run", dn, n ? n : "?");
    }
    if (!SCALAR(env_var(c, "PROMETHEUS_URL"), "value"))
        problem(ob->file, c->pos, "Deployment %s: PROMETHEUS_URL must be set", dn);
    /* The ConfigMap it reads is in the manifests. */
    const char *cm = SCALAR(env_var(c, "CONFIG_MAP_NAME"), "value");
    if (!cm)
        cm = "autoscaler-config";
    const char *managed = SCALAR(env_var(c, "NAMESPACE"), "value");
    if (!managed)
        managed = "default";
    if (ns && !strcmp(managed, ns))
        problem(ob->file, c->pos, "Deployment %s: NAMESPACE (the managed namespace) is K-SISS's own %s: "
                "Knative Services do not belong there", dn, ns);
    const object *cmo = find(o, "ConfigMap", cm);
    if (!cmo) {
        problem(ob->file, c->pos, "Deployment %s reads ConfigMap %s, which is not in the manifests", dn, cm);
    } else {
        const char *cns = SCALAR(cmo->root, "metadata", "namespace");
        if (!cns || strcmp(cns, managed))
            problem(cmo->file, NODE(cmo->root, "metadata")->pos,
                    "ConfigMap %s is in namespace %s, but ksiss run reads it from its managed namespace %s "
                    "(the Deployment's NAMESPACE)", cm, cns ? cns : "(none)", managed);
        if (!NODE(cmo->root, "data") || NODE(cmo->root, "data")->kind != KSISS_Y_MAP)
            problem(cmo->file, cmo->root->pos, "ConfigMap %s has no data mapping", cm);
    }
}

static bool labels_match(const ksiss_ynode *selector, const ksiss_ynode *labels)
{
    if (!selector || selector->kind != KSISS_Y_MAP || selector->n == 0)
        return false;
    for (size_t i = 0; i < selector->n; i++) {
        const ksiss_ynode *v = ksiss_ymap_get(labels, selector->keys[i]->scalar);
        if (!v || v->kind != KSISS_Y_SCALAR || selector->items[i]->kind != KSISS_Y_SCALAR ||
            strcmp(v->scalar, selector->items[i]->scalar))
            return false;
    }
    return true;
}

static void check_service(const objects *o, const ksiss_ynode *container, const ksiss_ynode *pod_labels)
{
    const object *svc = find(o, "Service", NULL);
    if (!svc) {
        problem("deploy", (ksiss_pos){0, 0}, "no Service for /metrics");
        return;
    }
    if (!labels_match(NODE(svc->root, "spec", "selector"), pod_labels))
        problem(svc->file, svc->root->pos, "Service %s: its selector does not select the Deployment's pods",
                name_of(svc));
    const ksiss_ynode *ports = NODE(svc->root, "spec", "ports");
    const char *port_name = NULL;
    for (size_t i = 0; ports && ports->kind == KSISS_Y_SEQ && i < ports->n; i++) {
        const ksiss_ynode *tp = NODE(ports->items[i], "targetPort");
        if (!tp)
            tp = NODE(ports->items[i], "port");
        if (container && resolve_port(container, tp) == 8080)
            port_name = SCALAR(ports->items[i], "name");
    }
    if (!port_name)
        problem(svc->file, svc->root->pos, "Service %s: no named port targets the container's 8080 (/metrics)",
                name_of(svc));
    const object *sm = find(o, "ServiceMonitor", NULL);
    if (!sm)
        return;
    if (!labels_match(NODE(sm->root, "spec", "selector", "matchLabels"), NODE(svc->root, "metadata", "labels")))
        problem(sm->file, sm->root->pos, "ServiceMonitor %s does not select Service %s", name_of(sm), name_of(svc));
    const ksiss_ynode *eps = NODE(sm->root, "spec", "endpoints");
    bool ok = false;
    for (size_t i = 0; eps && eps->kind == KSISS_Y_SEQ && i < eps->n; i++) {
        if (port_name && scalar_is(NODE(eps->items[i], "port"), port_name))
            ok = true;
        if (!scalar_is(NODE(eps->items[i], "honorLabels"), "true"))
            problem(sm->file, eps->items[i]->pos,
                    "ServiceMonitor %s: honorLabels must be true (else K-SISS's namespace/service labels become "
                    "exported_namespace/exported_service)", name_of(sm));
    }
    if (!ok)
        problem(sm->file, sm->root->pos, "ServiceMonitor %s: no endpoint scrapes the Service's port %s", name_of(sm),
                port_name ? port_name : "?");
}

static int cmd_manifests(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    const char *dir = argv[1], *table = argv[2], *image_user = NULL;
    for (int i = 3; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--image-user"))
            image_user = argv[i + 1];
    objects o = {0};
    load_dir(&o, dir);
    char *opt = ksiss_xasprintf("%s/optional", dir);
    load_dir(&o, opt);
    free(opt);
    const char *ns = check_namespace(&o);
    const char *sa = NULL;
    const ksiss_ynode *container = NULL, *pod_labels = NULL;
    check_deployment(&o, ns, image_user, &sa, &container, &pod_labels);
    if (sa)
        check_rbac(&o, ns, sa, table);
    check_service(&o, container, pod_labels);
    printf("check_manifests: %zu objects in %s checked, %d problem%s\n", o.n, dir, n_problems,
           n_problems == 1 ? "" : "s");
    objects_free(&o);
    return n_problems ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Dashboard                                                            */

/* Metric families from an exposition text: "# TYPE name type" lines. */
typedef struct {
    char **names;
    char **types;
    size_t n;
} families;

static void families_free(families *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        free(f->types[i]);
    }
    free(f->names);
    free(f->types);
}

static void families_parse(const char *text, families *f)
{
    for (const char *p = text; p && *p;) {
        const char *eol = strchr(p, '\n');
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > 7 && !strncmp(p, "# TYPE ", 7)) {
            const char *n = p + 7, *sp = memchr(n, ' ', ll - 7);
            if (sp) {
                f->names = ksiss_xrealloc(f->names, (f->n + 1) * sizeof(*f->names));
                f->types = ksiss_xrealloc(f->types, (f->n + 1) * sizeof(*f->types));
                f->names[f->n] = ksiss_xstrndup(n, (size_t)(sp - n));
                f->types[f->n++] = ksiss_xstrndup(sp + 1, (size_t)(p + ll - sp - 1));
            }
        }
        p = eol ? eol + 1 : NULL;
    }
}

/* The family a sample name belongs to (histogram suffixes), or -1. */
static long family_of(const families *f, const char *name)
{
    for (size_t i = 0; i < f->n; i++) {
        if (!strcmp(f->names[i], name))
            return (long)i;
        if (!strcmp(f->types[i], "histogram") || !strcmp(f->types[i], "summary")) {
            size_t nl = strlen(f->names[i]);
            static const char *const suf[] = {"_bucket", "_sum", "_count"};
            for (size_t k = 0; k < 3; k++)
                if (!strncmp(name, f->names[i], nl) && !strcmp(name + nl, suf[k]))
                    return (long)i;
        }
    }
    return -1;
}

/* Labels of a family from the exporter's table (NULL-terminated, borrowed),
 * or NULL when the table does not know it. */
static const char *const *family_labels(const char *family)
{
    for (int i = 0; i < KSISS_M_COUNT; i++)
        if (!strcmp(ksiss_metric_defs[i].name, family))
            return ksiss_metric_defs[i].labels;
    return NULL;
}

/* Labels Prometheus attaches to every scraped series (target labels of a
 * ServiceMonitor / pod scrape). */
static const char *const TARGET_LABELS[] = {"job", "instance", "pod", "container", "endpoint", NULL};

static bool in_list(const char *const *l, const char *s)
{
    for (size_t i = 0; l && l[i]; i++)
        if (!strcmp(l[i], s))
            return true;
    return false;
}

static const char *const PROMQL_WORDS[] = {
    /* aggregations */
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile",
    "limitk", "limit_ratio",
    /* functions */
    "abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "day_of_month",
    "day_of_week", "day_of_year", "days_in_month", "delta", "deriv", "exp", "floor", "histogram_count",
    "histogram_sum", "histogram_fraction", "histogram_quantile", "histogram_avg", "histogram_stddev",
    "histogram_stdvar", "holt_winters", "double_exponential_smoothing", "hour", "idelta", "increase", "irate",
    "label_join", "label_replace", "ln", "log2", "log10", "minute", "month", "predict_linear", "rate", "resets",
    "round", "scalar", "sgn", "sort", "sort_desc", "sort_by_label", "sort_by_label_desc", "sqrt", "time",
    "timestamp", "vector", "year", "avg_over_time", "min_over_time", "max_over_time", "sum_over_time",
    "count_over_time", "quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time",
    "present_over_time", "mad_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "cos", "cosh", "sin",
    "sinh", "tan", "tanh", "deg", "rad", "pi",
    /* keywords */
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "atan2", "inf", "nan", "Inf", "NaN", NULL};

static bool is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_' || c == ':'; }
static bool is_ident(char c) { return isalnum((unsigned char)c) || c == '_' || c == ':'; }

typedef struct {
    const char *file;
    const char *where;          /* panel title, for messages */
    const families *fam;
    char **labels;              /* labels of the metrics of this expression (for legends) */
    size_t n_labels;
} expr_ctx;

static void ctx_add_labels(expr_ctx *x, const char *family)
{
    const char *const *l = family_labels(family);
    for (size_t i = 0; l && l[i]; i++) {
        x->labels = ksiss_xrealloc(x->labels, (x->n_labels + 1) * sizeof(*x->labels));
        x->labels[x->n_labels++] = ksiss_xstrdup(l[i]);
    }
}

static bool ctx_has_label(const expr_ctx *x, const char *l)
{
    for (size_t i = 0; i < x->n_labels; i++)
        if (!strcmp(x->labels[i], l))
            return true;
    return in_list(TARGET_LABELS, l) || !strcmp(l, "le");
}

static const char *skip_string(const char *p)
{
    char q = *p++;
    while (*p && *p != q) {
        if (*p == '\\' && p[1] && q != '`')
            p++;
        p++;
    }
    return *p ? p + 1 : p;
}

static const char *skip_space(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Parses `{l op "v", ...}` after a metric (family may be NULL); returns the
 * position after '}'. A __name__ matcher names the metric. */
static const char *parse_matchers(expr_ctx *x, const char *p, const char *family, const char *expr)
{
    p++; /* '{' */
    for (;;) {
        p = skip_space(p);
        if (!*p || *p == '}')
            return *p ? p + 1 : p;
        if (*p == ',') {
            p++;
            continue;
        }
        if (!is_ident_start(*p)) {
            problem(x->file, (ksiss_pos){0, 0}, "%s: cannot read the label matchers of `%s`", x->where, expr);
            return p + strlen(p);
        }
        const char *s = p;
        while (is_ident(*p))
            p++;
        char *label = ksiss_xstrndup(s, (size_t)(p - s));
        p = skip_space(p);
        while (*p == '=' || *p == '!' || *p == '~')
            p++;
        p = skip_space(p);
        const char *vs = p;
        if (*p == '"' || *p == '\'' || *p == '`')
            p = skip_string(p);
        if (!strcmp(label, "__name__")) {
            free(label);
            continue;
        }
        if (family) {
            const char *const *l = family_labels(family);
            if (!in_list(l, label) && !in_list(TARGET_LABELS, label) && strcmp(label, "le")) {
                ksiss_strbuf sb;
                ksiss_sb_init(&sb, 0);
                for (size_t i = 0; l && l[i]; i++)
                    ksiss_sb_printf(&sb, "%s%s", i ? ", " : "", l[i]);
                problem(x->file, (ksiss_pos){0, 0}, "%s: metric %s has no label %s (it has: %s)", x->where, family,
                        label, sb.len ? ksiss_sb_str(&sb) : "none");
                ksiss_sb_free(&sb);
            }
        }
        (void)vs;
        free(label);
    }
}

/* Checks one PromQL expression (Grafana variables already neutral). */
static void check_expr(expr_ctx *x, const char *expr)
{
    const char *p = expr;
    bool any_metric = false;
    while (*p) {
        char c = *p;
        if (c == '"' || c == '\'' || c == '`') {
            p = skip_string(p);
        } else if (c == '[') {
            const char *e = strchr(p, ']');
            p = e ? e + 1 : p + strlen(p);
        } else if (c == '$') {
            p++;
            if (*p == '{') {
                const char *e = strchr(p, '}');
                p = e ? e + 1 : p + strlen(p);
            } else {
                while (is_ident(*p))
                    p++;
            }
        } else if (c == '{') {
            p = parse_matchers(x, p, NULL, expr);
        } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)p[1]))) {
            while (isalnum((unsigned char)*p) || *p == '.' || ((*p == '+' || *p == '-') && (p[-1] == 'e' || p[-1] == 'E')))
                p++;
        } else if (is_ident_start(c)) {
            const char *s = p;
            while (is_ident(*p))
                p++;
            char *word = ksiss_xstrndup(s, (size_t)(p - s));
            const char *after = skip_space(p);
            if (in_list(PROMQL_WORDS, word)) {
                if (!strcmp(word, "by") || !strcmp(word, "without") || !strcmp(word, "on") ||
                    !strcmp(word, "ignoring") || !strcmp(word, "group_left") || !strcmp(word, "group_right")) {
                    if (*after == '(') {
                        const char *e = strchr(after, ')');
                        char *list = ksiss_xstrndup(after + 1, e ? (size_t)(e - after - 1) : strlen(after + 1));
                        for (char *t = list; *t;) {
                            while (*t && !is_ident_start(*t))
                                t++;
                            const char *ls = t;
                            while (is_ident(*t))
                                t++;
                            if (t > ls) {
                                char *l = ksiss_xstrndup(ls, (size_t)(t - ls));
                                /* checked after the whole expression: the
                                 * metric may come after `sum by (...)` */
                                x->labels = ksiss_xrealloc(x->labels, (x->n_labels + 1) * sizeof(*x->labels));
                                x->labels[x->n_labels++] = ksiss_xasprintf("?%s", l);
                                free(l);
                            }
                        }
                        free(list);
                        p = e ? e + 1 : after + strlen(after);
                    }
                }
            } else if (*after == '(') {
                problem(x->file, (ksiss_pos){0, 0}, "%s: unknown PromQL function %s in `%s`", x->where, word, expr);
            } else {
                any_metric = true;
                long fi = family_of(x->fam, word);
                if (fi < 0) {
                    problem(x->file, (ksiss_pos){0, 0},
                            "%s: metric %s is not exposed by the K-SISS exporter (see its /metrics, docs/metrics.md)",
                            x->where, word);
                } else {
                    ctx_add_labels(x, x->fam->names[fi]);
                    if (*after == '{')
                        p = parse_matchers(x, after, x->fam->names[fi], expr);
                }
            }
            free(word);
        } else {
            p++;
        }
    }
    if (!any_metric)
        problem(x->file, (ksiss_pos){0, 0}, "%s: `%s` reads no metric", x->where, expr);
    /* by/without/on lists: labels of the metrics read (or target labels). */
    for (size_t i = 0; i < x->n_labels; i++) {
        if (x->labels[i][0] != '?')
            continue;
        if (!ctx_has_label(x, x->labels[i] + 1))
            problem(x->file, (ksiss_pos){0, 0}, "%s: `%s` groups by %s, a label none of its metrics has", x->where,
                    expr, x->labels[i] + 1);
    }
}

static void ctx_reset(expr_ctx *x)
{
    for (size_t i = 0; i < x->n_labels; i++)
        free(x->labels[i]);
    free(x->labels);
    x->labels = NULL;
    x->n_labels = 0;
}

static void check_legend(expr_ctx *x, const char *legend)
{
    for (const char *p = legend ? strstr(legend, "{{") : NULL; p; p = strstr(p, "{{")) {
        const char *e = strstr(p, "}}");
        if (!e)
            break;
        char *l = ksiss_xstrndup(p + 2, (size_t)(e - p - 2));
        char *t = l;
        while (isspace((unsigned char)*t))
            t++;
        char *te = t + strlen(t);
        while (te > t && isspace((unsigned char)te[-1]))
            *--te = '\0';
        if (!ctx_has_label(x, t))
            problem(x->file, (ksiss_pos){0, 0}, "%s: legend uses {{%s}}, a label none of the query's metrics has",
                    x->where, t);
        free(l);
        p = e + 2;
    }
}

static size_t walk_panels(const json_t *panels, const char *file, const families *fam)
{
    size_t n_exprs = 0, i;
    json_t *p;
    json_array_foreach(panels, i, p) {
        const char *title = json_string_value(json_object_get(p, "title"));
        char *where = ksiss_xasprintf("panel \"%s\"", title ? title : "?");
        json_t *targets = json_object_get(p, "targets"), *t;
        size_t k;
        json_array_foreach(targets, k, t) {
            const char *expr = json_string_value(json_object_get(t, "expr"));
            if (!expr) {
                problem(file, (ksiss_pos){0, 0}, "%s: a target without a PromQL expr", where);
                continue;
            }
            expr_ctx x = {file, where, fam, NULL, 0};
            check_expr(&x, expr);
            check_legend(&x, json_string_value(json_object_get(t, "legendFormat")));
            ctx_reset(&x);
            n_exprs++;
        }
        json_t *ds = json_object_get(json_object_get(p, "datasource"), "uid");
        if (json_object_get(p, "datasource") && !json_object_get(p, "panels") &&
            (!json_is_string(ds) || strcmp(json_string_value(ds), "${datasource}")))
            problem(file, (ksiss_pos){0, 0}, "%s: datasource must be the ${datasource} variable (portable import)",
                    where);
        n_exprs += walk_panels(json_object_get(p, "panels"), file, fam);
        free(where);
    }
    return n_exprs;
}

/* label_values(METRIC_SELECTOR, LABEL) of a template variable. */
static void check_template(const json_t *var, const char *file, const families *fam)
{
    const char *name = json_string_value(json_object_get(var, "name"));
    const char *type = json_string_value(json_object_get(var, "type"));
    if (!type || strcmp(type, "query"))
        return;
    json_t *q = json_object_get(var, "query");
    const char *qs = json_is_object(q) ? json_string_value(json_object_get(q, "query")) : json_string_value(q);
    char *where = ksiss_xasprintf("variable $%s", name ? name : "?");
    const char *uid = json_string_value(json_object_get(json_object_get(var, "datasource"), "uid"));
    if (!uid || strcmp(uid, "${datasource}"))
        problem(file, (ksiss_pos){0, 0}, "%s: datasource must be the ${datasource} variable (portable import)", where);
    if (!qs || strncmp(qs, "label_values(", 13) || !ksiss_str_has_suffix(qs, ")")) {
        problem(file, (ksiss_pos){0, 0}, "%s: expected label_values(METRIC, LABEL)", where);
        free(where);
        return;
    }
    char *inner = ksiss_xstrndup(qs + 13, strlen(qs) - 14);
    char *comma = strrchr(inner, ',');
    expr_ctx x = {file, where, fam, NULL, 0};
    if (comma) {
        *comma = '\0';
        char *label = comma + 1;
        while (isspace((unsigned char)*label))
            label++;
        check_expr(&x, inner);
        if (!ctx_has_label(&x, label))
            problem(file, (ksiss_pos){0, 0}, "%s: label %s is not a label of %s", where, label, inner);
    } else {
        problem(file, (ksiss_pos){0, 0}, "%s: label_values needs a metric, not only a label", where);
    }
    ctx_reset(&x);
    free(inner);
    free(where);
}

static int cmd_dashboard(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *file = argv[1], *metrics_file = NULL;
    for (int i = 2; i + 1 < argc; i += 2)
        if (!strcmp(argv[i], "--metrics"))
            metrics_file = argv[i + 1];
    char *expo = NULL, *err = NULL;
    size_t len = 0;
    if (metrics_file) {
        expo = ksiss_read_file(metrics_file, MAX_FILE_BYTES, &len, &err);
        if (!expo) {
            fprintf(stderr, "%s: %s\n", metrics_file, err);
            free(err);
            return 1;
        }
    } else {
        ksiss_metrics *m = ksiss_metrics_new();
        expo = ksiss_metrics_render(m);
        ksiss_metrics_free(m);
    }
    families fam = {0};
    families_parse(expo, &fam);
    free(expo);
    if (fam.n == 0)
        problem(metrics_file ? metrics_file : "exporter", (ksiss_pos){0, 0}, "no `# TYPE` lines: not a /metrics text");
    json_error_t je;
    json_t *d = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
    if (!d) {
        problem(file, (ksiss_pos){je.line, je.column}, "invalid JSON: %s", je.text);
        families_free(&fam);
        return 1;
    }
    size_t n = walk_panels(json_object_get(d, "panels"), file, &fam);
    if (n == 0)
        problem(file, (ksiss_pos){0, 0}, "no PromQL expressions found (panels[].targets[].expr)");
    size_t i;
    json_t *var;
    json_array_foreach(json_object_get(json_object_get(d, "templating"), "list"), i, var)
        check_template(var, file, &fam);
    json_decref(d);
    families_free(&fam);
    printf("check_dashboard: %zu expressions in %s checked against %s, %d problem%s\n", n, file,
           metrics_file ? metrics_file : "the exporter's registry", n_problems, n_problems == 1 ? "" : "s");
    return n_problems ? 1 : 0;
}

static int cmd_list_metrics(void)
{
    ksiss_metrics *m = ksiss_metrics_new();
    char *expo = ksiss_metrics_render(m);
    ksiss_metrics_free(m);
    families fam = {0};
    families_parse(expo, &fam);
    free(expo);
    for (size_t i = 0; i < fam.n; i++)
        printf("%s %s\n", fam.names[i], fam.types[i]);
    families_free(&fam);
    return 0;
}

/* The Deployment's container env (literal values, NAME=VALUE) and args,
 * one per line, so that the e2e suite runs `ksiss run` configured exactly
 * as the Deployment configures it. */
static int cmd_container(const char *file, bool want_env)
{
    size_t len = 0;
    char *err = NULL;
    char *text = ksiss_read_file(file, MAX_FILE_BYTES, &len, &err);
    if (!text) {
        fprintf(stderr, "%s: %s\n", file, err);
        free(err);
        return 1;
    }
    ksiss_diags dg;
    ksiss_diags_init(&dg);
    ksiss_ynode **docs = NULL;
    size_t nd = 0;
    int rc = 1;
    if (ksiss_yaml_parse(text, len, file, 0, 0, &docs, &nd, &dg) == 0) {
        for (size_t k = 0; k < nd; k++) {
            const char *kind = SCALAR(docs[k], "kind");
            const ksiss_ynode *cs = NODE(docs[k], "spec", "template", "spec", "containers");
            if (!kind || strcmp(kind, "Deployment") || !cs || cs->kind != KSISS_Y_SEQ || cs->n < 1)
                continue;
            const ksiss_ynode *l = NODE(cs->items[0], want_env ? "env" : "args");
            for (size_t i = 0; l && l->kind == KSISS_Y_SEQ && i < l->n; i++) {
                if (!want_env && l->items[i]->kind == KSISS_Y_SCALAR)
                    printf("%s\n", l->items[i]->scalar);
                const char *n = SCALAR(l->items[i], "name");
                const ksiss_ynode *v = NODE(l->items[i], "value");
                if (want_env && n && v && v->kind == KSISS_Y_SCALAR)
                    printf("%s=%s\n", n, v->scalar);
            }
            rc = 0;
        }
    }
    if (rc)
        fprintf(stderr, "%s: no Deployment with a container found\n", file);
    ksiss_ynodes_free(docs, nd);
    ksiss_diags_free(&dg);
    free(text);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 2;
    if (argc >= 2 && !strcmp(argv[1], "manifests"))
        rc = cmd_manifests(argc - 1, argv + 1);
    else if (argc >= 2 && !strcmp(argv[1], "dashboard"))
        rc = cmd_dashboard(argc - 1, argv + 1);
    else if (argc >= 2 && !strcmp(argv[1], "list-metrics"))
        rc = cmd_list_metrics();
    else if (argc == 3 && !strcmp(argv[1], "env"))
        rc = cmd_container(argv[2], true);
    else if (argc == 3 && !strcmp(argv[1], "args"))
        rc = cmd_container(argv[2], false);
    if (rc == 2)
        fprintf(stderr, "usage: check_manifests manifests DIR RBAC_TABLE [--image-user UID]\n"
                        "       check_manifests dashboard FILE [--metrics EXPOSITION_FILE]\n"
                        "       check_manifests list-metrics\n"
                        "       check_manifests env|args DEPLOYMENT_FILE\n");
    return rc;
}
