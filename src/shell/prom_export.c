/* prom_export.c: a service's metric readings as exported series
 * (ksiss_prom_export_readings, see prom.h): the service-level value, each
 * pod's value, and the removal of the series of pods that are gone. */
#include "shell/prom_internal.h"

#include <math.h>
#include <string.h>

#include "shell/metrics_names.h"

typedef struct {
    const char *ns, *service, *metric;
    const char *const *pods;
    size_t n_pods;
} stale_pods;

/* A pod series of this metric whose pod is no longer among the pods. */
static bool pod_is_gone(const char *const *labels, void *ud)
{
    const stale_pods *sp = ud;
    if (strcmp(labels[0], sp->ns) || strcmp(labels[1], sp->service) || strcmp(labels[2], sp->metric))
        return false;
    for (size_t k = 0; k < sp->n_pods; k++)
        if (!strcmp(labels[3], sp->pods[k]))
            return false;
    return true;
}

void ksiss_prom_export_readings(ksiss_metrics *reg, const char *namespace_name, const char *service,
                                const ksiss_service_cfg *svc, const ksiss_metric_reading *r,
                                const char *const *pods)
{
    const char *ns = namespace_name ? namespace_name : "";
    const char *name = service ? service : svc->name;
    for (size_t i = 0; i < svc->n_metrics; i++) {
        const ksiss_metric_cfg *m = &svc->metrics[i];
        const char *const *l = KSISS_LABELS(ns, name, m->name);
        ksiss_metrics_set(reg, KSISS_M_METRIC_SLO, l, m->slo);
        ksiss_metrics_set(reg, KSISS_M_METRIC_MISSING, l, r[i].obs.present ? 0 : 1);
        double p = r[i].obs.present ? ksiss_metric_pressure(m, r[i].obs.value) : NAN;
        if (r[i].obs.present)
            ksiss_metrics_set(reg, KSISS_M_METRIC_VALUE, l, r[i].obs.value);
        else
            ksiss_metrics_remove(reg, KSISS_M_METRIC_VALUE, l);
        if (!isnan(p))
            ksiss_metrics_set(reg, KSISS_M_METRIC_PRESSURE_RATIO, l, p);
        else
            ksiss_metrics_remove(reg, KSISS_M_METRIC_PRESSURE_RATIO, l);
        for (size_t k = 0; k < r[i].n_pods && pods; k++) {
            const char *const *pl = KSISS_LABELS(ns, name, m->name, pods[k]);
            if (r[i].pods[k].present)
                ksiss_metrics_set(reg, KSISS_M_METRIC_POD_VALUE, pl, r[i].pods[k].value);
            else
                ksiss_metrics_remove(reg, KSISS_M_METRIC_POD_VALUE, pl);
        }
        /* Pods come and go: drop the series of pods no longer there. */
        stale_pods sp = {ns, name, m->name, pods, pods ? r[i].n_pods : 0};
        ksiss_metrics_remove_if_group(reg, KSISS_M_METRIC_POD_VALUE, ns, name, pod_is_gone, &sp);
    }
}
