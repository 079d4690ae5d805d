/* e2e_watch.c: the invariant poller of the actuation e2e suite. Every
 * 200 ms it reads a Knative Service and its Revisions from the real API
 * server (the K-SISS Kubernetes client) and checks:
 *   - traffic (spec and status, percent > 0) goes only to Revisions whose
 *     Ready condition is True;
 *   - once the Service has served from a Ready Revision, it always has at
 *     least one Ready Revision serving.
 * A violation counts only when seen in two consecutive polls with the same
 * Service resourceVersion (the Service and the Revision list are two
 * requests, a few ms apart). Runs until SIGTERM/SIGINT, then prints
 * "polls=N violations=M" and the first violations, and exits 1 if any.
 *
 * usage: e2e_watch --kubeconfig FILE --namespace NS --service NAME */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/transition.h"
#include "core/util.h"
#include "shell/knative.h"
#include "shell/kube.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* Returns a violation text (caller frees) or NULL. *serving_ready is set
 * when a Ready revision serves. */
static char *check(const json_t *svc, const json_t *revs, bool *serving_ready)
{
    const char *latest = str_at(svc, "status", "latestReadyRevisionName");
    static const char *const parts[] = {"spec", "status"};
    *serving_ready = false;
    for (size_t p = 0; p < 2; p++) {
        const json_t *tr = json_object_get(json_object_get(svc, parts[p]), "traffic");
        size_t i;
        json_t *e;
        json_array_foreach(tr, i, e) {
            if (json_integer_value(json_object_get(e, "percent")) <= 0)
                continue;
            const char *rev = str_at(e, "revisionName", NULL);
            if (!rev && json_is_true(json_object_get(e, "latestRevision")))
                rev = latest;
            if (!rev)
                continue;   /* latestRevision before any revision was Ready: Knative routes nothing */
            const json_t *r = ksiss_tr_find_revision(revs, rev);
            if (!ksiss_tr_revision_ready(r))
                return ksiss_xasprintf("%s.traffic routes %lld%% to %s, which is %s", parts[p],
                                       (long long)json_integer_value(json_object_get(e, "percent")), rev,
                                       r ? "not Ready" : "missing");
            if (p == 1)
                *serving_ready = true;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL, *name = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[i + 1];
        else if (!strcmp(argv[i], "--namespace"))
            ns = argv[i + 1];
        else if (!strcmp(argv[i], "--service"))
            name = argv[i + 1];
    }
    if (!kubeconfig || !ns || !name) {
        fprintf(stderr, "usage: e2e_watch --kubeconfig FILE --namespace NS --service NAME\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    ksiss_kube_config kc = {0};
    char *err = NULL;
    ksiss_kube *k = NULL;
    if (ksiss_kube_config_load(&kc, kubeconfig, NULL, &err) != 0 || !(k = ksiss_kube_new(&kc, NULL, &err))) {
        fprintf(stderr, "e2e_watch: %s\n", err);
        return 2;
    }
    long polls = 0, violations = 0, errors = 0;
    bool was_serving = false;
    char *pending = NULL, *pending_rv = NULL;
    char *firsts[5] = {0};
    while (!stop) {
        ksiss_knative_view v;
        ksiss_kube_error e = {0};
        if (ksiss_knative_read(k, ns, name, &v, &e) == KSISS_KUBE_OK) {
            polls++;
            bool serving;
            char *bad = check(v.service, v.revisions, &serving);
            if (!bad && was_serving && !serving)
                bad = ksiss_xstrdup("no Ready revision serves");
            was_serving = was_serving || serving;
            const char *rv = str_at(v.service, "metadata", "resourceVersion");
            if (bad && pending && rv && pending_rv && !strcmp(rv, pending_rv)) {
                if (violations < 5)
                    firsts[violations] = ksiss_xasprintf("%s (resourceVersion %s)", bad, rv);
                violations++;
                free(bad);
                bad = NULL;
            }
            free(pending);
            free(pending_rv);
            pending = bad;
            pending_rv = bad ? ksiss_xstrdup(rv) : NULL;
            ksiss_knative_view_free(&v);
        } else {
            errors++;
        }
        ksiss_kube_error_clear(&e);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("polls=%ld violations=%ld read_errors=%ld\n", polls, violations, errors);
    for (int i = 0; i < 5 && firsts[i]; i++) {
        printf("violation: %s\n", firsts[i]);
        free(firsts[i]);
    }
    free(pending);
    free(pending_rv);
    ksiss_kube_free(k);
    ksiss_kube_config_free(&kc);
    return violations ? 1 : 0;
}
