/* kube_metrics.c: the request hook that feeds the Kubernetes client's
 * requests into the exporter's ksiss_kubernetes_requests_total{verb,code}. */
#include <stdio.h>

#include "shell/kube.h"
#include "shell/metrics.h"

void ksiss_kube_metrics_hook(void *metrics, const char *verb, long code)
{
    if (!metrics || !verb)
        return;
    char codebuf[24];
    snprintf(codebuf, sizeof codebuf, "%ld", code);
    ksiss_metrics_add(metrics, KSISS_M_KUBE_REQUESTS_TOTAL, KSISS_LABELS(verb, codebuf), 1.0);
}
