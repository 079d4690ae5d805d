/* controller_metrics.c: the series `ksiss run` exports about the services it
 * manages (controller.h, docs/metrics.md), and their removal: a former
 * tier's info series, a former serving revision's KubeComp_gpu_resource,
 * everything a service no longer managed left, and, on a replica that does
 * not lead, every gauge that describes the cluster as the leader sees it
 * (two scraped replicas must not both report it). */
#include "shell/controller.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* tier_info series of this service other than (tier, resource); both NULL:
 * every one of them. */
typedef struct {
    const char *tier, *resource;
} tier_keep;

static bool other_tier(const char *const *labels, void *ud)
{
    const tier_keep *k = ud;
    return !k->tier || strcmp(labels[2], k->tier) != 0 || strcmp(labels[3], k->resource) != 0;
}

static bool every_series(const char *const *labels, void *ud)
{
    (void)labels;
    (void)ud;
    return true;
}

/* The original's gauge: the MIG slice count (g) of a MIG tier, else the
 * tier's GPU count. */
static double legacy_slices(const ksiss_tier *t)
{
    int g = 0, mem = 0;
    bool me = false;
    if (ksiss_str_has_prefix(t->resource, "nvidia.com/mig-") &&
        ksiss_parse_mig_profile(t->resource + strlen("nvidia.com/mig-"), &g, &mem, &me) == 0)
        return g;
    return t->count;
}

void ksiss_controller_export_service(ksiss_metrics *reg, const char *ns, const char *name, const ksiss_eval *ev,
                                     char **legacy_rev)
{
    const ksiss_tier *t = ev->current.tier;
    tier_keep keep = {t ? t->name : NULL, t ? t->resource : NULL};
    ksiss_metrics_remove_if_group(reg, KSISS_M_SERVICE_TIER_INFO, ns, name, other_tier, &keep);
    if (t)
        ksiss_metrics_set(reg, KSISS_M_SERVICE_TIER_INFO, KSISS_LABELS(ns, name, t->name, t->resource), 1);
    /* KubeComp_gpu_resource is the serving revision's: the series of the
     * one served before goes (a former revision is deleted after a tier
     * change; its series must not stay at its old value for ever). */
    const char *rev = t ? ev->revision : NULL;
    if (*legacy_rev && (!rev || strcmp(*legacy_rev, rev) != 0)) {
        ksiss_metrics_remove(reg, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS(*legacy_rev));
        free(*legacy_rev);
        *legacy_rev = NULL;
    }
    if (rev) {
        ksiss_metrics_set(reg, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS(rev), legacy_slices(t));
        if (!*legacy_rev)
            *legacy_rev = ksiss_xstrdup(rev);
    }
    ksiss_metrics_set(reg, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS(ns, name, "ready"), ev->current.replicas_ready);
    ksiss_metrics_set(reg, KSISS_M_SERVICE_REPLICAS, KSISS_LABELS(ns, name, "starting"),
                      ev->current.replicas_starting);
    ksiss_metrics_set(reg, KSISS_M_TRANSITIONS_IN_FLIGHT, KSISS_LABELS(ns, name),
                      ev->current.transition_in_flight ? 1 : 0);
}

void ksiss_controller_forget_service(ksiss_metrics *reg, const char *ns, const char *name, const char *legacy_rev)
{
    ksiss_metrics_remove_service(reg, ns, name);
    if (legacy_rev)
        ksiss_metrics_remove(reg, KSISS_M_LEGACY_GPU_RESOURCE, KSISS_LABELS(legacy_rev));
}

static bool has_label(const ksiss_metric_def *d, const char *label)
{
    for (int i = 0; i < KSISS_METRIC_MAX_LABELS && d->labels[i]; i++)
        if (!strcmp(d->labels[i], label))
            return true;
    return false;
}

bool ksiss_controller_leader_only(ksiss_metric_id id)
{
    const ksiss_metric_def *d = &ksiss_metric_defs[id];
    if (d->type == KSISS_MT_GAUGE && has_label(d, "service"))
        return true;
    return id == KSISS_M_LEGACY_GPU_RESOURCE || id == KSISS_M_GPU_FREE || id == KSISS_M_GPU_ALLOCATABLE ||
           id == KSISS_M_TICK_SERVICES;
}

size_t ksiss_controller_export_follower(ksiss_metrics *reg)
{
    size_t n = 0;
    for (int id = 0; id < KSISS_M_COUNT; id++)
        if (ksiss_controller_leader_only((ksiss_metric_id)id))
            n += ksiss_metrics_remove_if(reg, (ksiss_metric_id)id, every_series, NULL);
    return n;
}
