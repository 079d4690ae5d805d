/* controller_index.c: the control loop's views of the watch caches
 * (obj_index): the records of an informer, taken when it changed and
 * shared by the ticks that use them, and for pods and Revisions grouped by
 * their serving.knative.dev/service label (two flat arrays, a binary
 * search per service). */
#include "shell/controller_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static const kobj_group no_objects = {NULL, 0};

void ksiss_ctl_index_unref(obj_index *x)
{
    if (!x || !ksiss_ctl_unref(&x->refs))
        return;
    free(x->by_svc);
    free(x->groups);
    ksiss_kobj_list_free(&x->objs);
    free(x);
}

obj_index *ksiss_ctl_index_ref(obj_index *x)
{
    if (x)
        ksiss_ctl_ref(&x->refs);
    return x;
}

static const char *obj_service(const ksiss_kobj *o)
{
    return ksiss_kobj_str(o, KSISS_KOBJ_SERVICE);
}

static int cmp_by_service(const void *a, const void *b)
{
    const ksiss_kobj *x = *(ksiss_kobj *const *)a, *y = *(ksiss_kobj *const *)b;
    int c = strcmp(obj_service(x), obj_service(y));
    return c ? c : strcmp(ksiss_kobj_key(x), ksiss_kobj_key(y));
}

/* The records of an informer; grouped by service (those in namespace ns
 * carrying the label) when group is set: two flat arrays, no allocation
 * per service. */
obj_index *ksiss_ctl_index_new(ksiss_kube_informer *inf, const char *ns, bool group)
{
    obj_index *x = ksiss_xcalloc(1, sizeof(*x));
    x->refs = 1;
    x->objs = ksiss_kube_informer_objects(inf);
    if (!group)
        return x;
    size_t n = 0;
    x->by_svc = ksiss_xcalloc(x->objs.n ? x->objs.n : 1, sizeof(*x->by_svc));
    for (size_t i = 0; i < x->objs.n; i++) {
        ksiss_kobj *o = x->objs.v[i];
        const char *ons = ksiss_kobj_str(o, KSISS_KOBJ_NS);
        if (obj_service(o) && ons && !strcmp(ons, ns))
            x->by_svc[n++] = o;
    }
    if (n > 1)
        qsort(x->by_svc, n, sizeof(*x->by_svc), cmp_by_service);
    size_t cap = 0;
    for (size_t i = 0; i < n;) {
        size_t k = i + 1;
        while (k < n && !strcmp(obj_service(x->by_svc[k]), obj_service(x->by_svc[i])))
            k++;
        if (x->n_groups == cap) {
            cap = cap ? cap * 2 : 64;
            x->groups = ksiss_xrealloc(x->groups, cap * sizeof(*x->groups));
        }
        x->groups[x->n_groups++] = (svc_group){obj_service(x->by_svc[i]), {x->by_svc + i, k - i}};
        i = k;
    }
    return x;
}

static int cmp_group(const void *key, const void *elem)
{
    return strcmp(key, ((const svc_group *)elem)->service);
}

const kobj_group *ksiss_ctl_index_group(const obj_index *x, const char *service)
{
    if (!x)
        return NULL;
    const svc_group *g = x->n_groups ? bsearch(service, x->groups, x->n_groups, sizeof(*x->groups), cmp_group) : NULL;
    return g ? &g->g : &no_objects;
}

/* The group's objects parsed into a new JSON array; NULL for no group. */
json_t *ksiss_ctl_group_parse(const kobj_group *g)
{
    if (!g)
        return NULL;
    ksiss_kobj_list l = {g->v, g->n};
    return ksiss_kobj_list_parse(&l);
}
