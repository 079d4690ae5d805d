/* knative.c: reading a Knative Service with its Revisions and pods, and
 * applying a transition plan through the Kubernetes client (see knative.h). */
#include "shell/knative.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_path.h"
#include "core/util.h"
#include "shell/log.h"

const ksiss_kube_resource KSISS_KUBE_KNATIVE_PODAUTOSCALERS = {
    "autoscaling.internal.knative.dev", "v1alpha1", "podautoscalers", "PodAutoscaler", true};

void ksiss_knative_view_free(ksiss_knative_view *v)
{
    json_decref(v->service);
    json_decref(v->revisions);
    json_decref(v->pods);
    memset(v, 0, sizeof(*v));
}

static bool pod_terminated(const json_t *pod)
{
    const char *phase = ksiss_json_str(pod, "status", "phase", NULL);
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") ||
           (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")));
}

/* True when `pod` (or a Revision) is in `ns` and carries
 * serving.knative.dev/service=name. */
static bool pod_of_service(const json_t *pod, const char *ns, const char *name)
{
    const json_t *md = json_object_get(pod, "metadata");
    const char *pns = json_string_value(json_object_get(md, "namespace"));
    const char *svc = json_string_value(json_object_get(json_object_get(md, "labels"), KSISS_LABEL_SERVICE));
    return pns && svc && !strcmp(pns, ns) && !strcmp(svc, name);
}

int ksiss_knative_read_cached(ksiss_kube *k, const char *ns, const char *name, const json_t *service,
                              const json_t *all_pods, const json_t *all_revisions, ksiss_knative_view *out,
                              ksiss_kube_error *err)
{
    memset(out, 0, sizeof(*out));
    int rc = KSISS_KUBE_OK;
    if (service)
        out->service = json_incref((json_t *)service);
    else
        rc = ksiss_kube_get(k, &KSISS_KUBE_KNATIVE_SERVICES, ns, name, &out->service, err);
    if (rc != KSISS_KUBE_OK)
        return rc;
    char *selector = ksiss_xasprintf("%s=%s", KSISS_LABEL_SERVICE, name);
    ksiss_kube_list_opts lo = {.label_selector = selector};
    if (all_revisions) {
        out->revisions = json_array();
        size_t i;
        json_t *r;
        json_array_foreach(all_revisions, i, r)
            if (pod_of_service(r, ns, name))
                json_array_append(out->revisions, r);
    } else {
        rc = ksiss_kube_list(k, &KSISS_KUBE_KNATIVE_REVISIONS, ns, &lo, &out->revisions, NULL, err);
    }
    json_t *listed = NULL;
    if (rc == KSISS_KUBE_OK && !all_pods)
        rc = ksiss_kube_list(k, &KSISS_KUBE_PODS, ns, &lo, &listed, NULL, err);
    free(selector);
    if (rc != KSISS_KUBE_OK) {
        json_decref(listed);
        ksiss_knative_view_free(out);
        return rc;
    }
    out->pods = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(all_pods ? all_pods : listed, i, p)
        if (!pod_terminated(p) && (!all_pods || pod_of_service(p, ns, name)))
            json_array_append(out->pods, p);
    json_decref(listed);
    return KSISS_KUBE_OK;
}

int ksiss_knative_read(ksiss_kube *k, const char *ns, const char *name, ksiss_knative_view *out,
                       ksiss_kube_error *err)
{
    return ksiss_knative_read_cached(k, ns, name, NULL, NULL, NULL, out, err);
}

const char **ksiss_knative_running_pods(const ksiss_knative_view *v, size_t *n)
{
    size_t cap = json_array_size(v->pods);
    const char **names = ksiss_xcalloc(cap ? cap : 1, sizeof(*names));
    *n = 0;
    size_t i;
    json_t *p;
    json_array_foreach(v->pods, i, p) {
        const char *phase = ksiss_json_str(p, "status", "phase", NULL);
        const char *pn = ksiss_json_str(p, "metadata", "name", NULL);
        if (pn && phase && !strcmp(phase, "Running"))
            names[(*n)++] = pn;
    }
    return names;
}

static char *kube_msg(const char *what, const ksiss_kube_error *e)
{
    return ksiss_xasprintf("%s: %s (%s)", what, e->message ? e->message : "failed", ksiss_kube_rc_name(e->rc));
}

/* min-scale = max-scale = scale on the Revision's PodAutoscaler (same
 * name), which the KPA reads; the revision reconciler rewrites only the
 * PA's spec, so the annotations stay. NOT on the Revision: Knative 1.15
 * copies a Revision's annotations, autoscaling ones included, into its
 * Deployment's pod template, so changing them would re-create every pod
 * (docs/actuation.md). */
static int scale_revision(ksiss_kube *k, const char *ns, const char *rev, int scale, char **err)
{
    char *v = ksiss_xasprintf("%d", scale);
    json_t *patch = json_pack("{s:{s:{s:s,s:s}}}", "metadata", "annotations", KSISS_ANN_MIN_SCALE, v,
                              KSISS_ANN_MAX_SCALE, v);
    free(v);
    ksiss_kube_error e = {0};
    int rc = ksiss_kube_patch(k, &KSISS_KUBE_KNATIVE_PODAUTOSCALERS, ns, rev, NULL, KSISS_KUBE_MERGE_PATCH, patch,
                              NULL, NULL, &e);
    if (rc != KSISS_KUBE_OK) {
        char *what = ksiss_xasprintf("scale bounds of PodAutoscaler %s/%s", ns, rev);
        *err = kube_msg(what, &e);
        free(what);
    }
    ksiss_kube_error_clear(&e);
    json_decref(patch);
    return rc == KSISS_KUBE_OK ? 0 : -1;
}

ksiss_apply_rc ksiss_knative_apply(ksiss_kube *k, ksiss_knative_event_fn event, void *event_ud, const char *ns,
                                   const json_t *service, const ksiss_tr_plan *plan, char **err)
{
    const char *name = ksiss_json_str(service, "metadata", "name", NULL);
    for (size_t i = 0; i < plan->n; i++) {
        const ksiss_tr_action *a = &plan->v[i];
        ksiss_kube_error e = {0};
        int rc = KSISS_KUBE_OK;
        switch (a->kind) {
        case KSISS_TRA_PATCH_SERVICE:
            rc = ksiss_kube_patch(k, &KSISS_KUBE_KNATIVE_SERVICES, ns, name, NULL, KSISS_KUBE_MERGE_PATCH, a->patch,
                                  NULL, NULL, &e);
            if (rc == KSISS_KUBE_E_CONFLICT) {
                *err = ksiss_xasprintf("service %s/%s changed since it was read (409): re-read next tick", ns, name);
                ksiss_kube_error_clear(&e);
                return KSISS_APPLY_CONFLICT;
            }
            if (rc != KSISS_KUBE_OK) {
                char *what = ksiss_xasprintf("patch of service %s/%s", ns, name);
                *err = kube_msg(what, &e);
                free(what);
            }
            break;
        case KSISS_TRA_SCALE_REVISION:
            if (scale_revision(k, ns, a->revision, a->scale, err) != 0)
                return KSISS_APPLY_FAILED;
            break;
        case KSISS_TRA_DELETE_REVISION:
            rc = ksiss_kube_delete(k, &KSISS_KUBE_KNATIVE_REVISIONS, ns, a->revision, NULL, &e);
            if (rc == KSISS_KUBE_E_NOT_FOUND)
                rc = KSISS_KUBE_OK;
            if (rc != KSISS_KUBE_OK) {
                char *what = ksiss_xasprintf("delete of revision %s/%s", ns, a->revision);
                *err = kube_msg(what, &e);
                free(what);
            }
            break;
        case KSISS_TRA_EVENT:
            if (event && event(event_ud, service, a->warning ? "Warning" : "Normal", a->event_reason, a->message) != 0)
                ksiss_log("warn", "event not recorded", "namespace", ns, "service", name, "reason", a->event_reason, NULL);
            break;
        }
        ksiss_kube_error_clear(&e);
        if (rc != KSISS_KUBE_OK)
            return KSISS_APPLY_FAILED;
    }
    return KSISS_APPLY_DONE;
}
