/* e2e_watch.c: the invariant poller of the end-to-end suites (actuation,
 * faults). Every 200 ms it reads, from the real API server with the K-SISS
 * Kubernetes client, the Knative Services of a namespace (or one of them)
 * with their Revisions, and the Nodes and Pods, and checks:
 *   - traffic (spec and status, percent > 0) goes only to Revisions whose
 *     Ready condition is True;
 *   - once a Service has served from a Ready Revision, it always has at
 *     least one Ready Revision serving;
 *   - no GPU slice is claimed twice: per node and per nvidia.com/ resource,
 *     the requests of the pods bound to it (not finished) never exceed the
 *     node's allocatable;
 *   - no Revision leaks: a Revision referenced neither by traffic (spec,
 *     status, latestRevision), nor as the latest created or ready one, nor
 *     by the transition in flight (ksiss.dev/transition from/to) is gone
 *     within --leak-after seconds (default 60).
 * A traffic violation counts only when seen in two consecutive polls with
 * the same Service resourceVersion (the Service and the Revision list are
 * two requests, a few ms apart). Runs until SIGTERM/SIGINT, then prints
 * "polls=N violations=M read_errors=E gpu_checks=G reads=R max_read_errors_pct=P"
 * (polls: Service reads that succeeded, so traffic was checked; gpu_checks:
 * Node and Pod reads that succeeded; reads: both kinds tried; read_errors:
 * those that failed) and the first violations. Exits 1 on a violation, and
 * also when the checks were not made: no poll, no GPU check, or more than
 * P% (--max-read-errors, default 5) of the reads failed. After a failed
 * read it waits 1 s instead of 200 ms (an apiserver that is down is not
 * hammered, and its downtime does not swamp the count).
 *
 * usage: e2e_watch --kubeconfig FILE --namespace NS [--service NAME] [--leak-after S]
 *                  [--max-read-errors PCT]
 *
 * Second mode, to SIGKILL the autoscaler in a given transition phase:
 *   e2e_watch --kubeconfig FILE --namespace NS --service NAME
 *             --kill-at PHASE[:STEP] --pid PID [--timeout S]
 * polls the Service every 50 ms; when its ksiss.dev/transition annotation
 * shows PHASE (wait-ready, shift, cleanup, rollback; STEP: the state's
 * step) it sends SIGKILL to PID, prints what it saw and exits 0; exits 1
 * after --timeout seconds (default 120) without seeing it. --wait-at
 * PHASE[:STEP] instead of --kill-at/--pid only waits for it. */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/inventory.h"
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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static const char *str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

/* ---- traffic ------------------------------------------------------------ */

/* Returns a violation text (caller frees) or NULL. *serving_ready is set
 * when a Ready revision serves. */
static char *check_traffic(const json_t *svc, const json_t *revs, bool *serving_ready)
{
    const char *latest = str_at(svc, "status", "latestReadyRevisionName");
    const char *name = str_at(svc, "metadata", "name");
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
                return ksiss_xasprintf("service %s: %s.traffic routes %lld%% to %s, which is %s", name, parts[p],
                                       (long long)json_integer_value(json_object_get(e, "percent")), rev,
                                       r ? "not Ready" : "missing");
            if (p == 1)
                *serving_ready = true;
        }
    }
    return NULL;
}

/* ---- revisions: referenced or leaked ------------------------------------ */

static bool referenced(const json_t *svc, const char *rev)
{
    static const char *const parts[] = {"spec", "status"};
    for (size_t p = 0; p < 2; p++) {
        const json_t *tr = json_object_get(json_object_get(svc, parts[p]), "traffic");
        size_t i;
        json_t *e;
        json_array_foreach(tr, i, e) {
            const char *n = str_at(e, "revisionName", NULL);
            if (n && !strcmp(n, rev))
                return true;
        }
    }
    const char *lr = str_at(svc, "status", "latestReadyRevisionName");
    const char *lc = str_at(svc, "status", "latestCreatedRevisionName");
    if ((lr && !strcmp(lr, rev)) || (lc && !strcmp(lc, rev)))
        return true;
    const char *text = ksiss_tr_annotation(svc, KSISS_ANN_TRANSITION);
    if (text) {
        ksiss_tr_state s;
        char *err = NULL;
        if (ksiss_tr_state_parse(text, &s, &err) != 0) {
            free(err);
            return true;    /* unreadable state: cannot tell, never a false alarm */
        }
        bool in = (s.from_rev && !strcmp(s.from_rev, rev)) || (s.to_rev && !strcmp(s.to_rev, rev));
        ksiss_tr_state_clear(&s);
        if (in)
            return true;
    }
    return false;
}

/* Revisions seen unreferenced: key "service/revision" -> since (ms). */
typedef struct unref {
    char *key;
    int64_t since_ms;
    bool reported;
    bool seen;              /* in the current poll */
    struct unref *next;
} unref;

static unref *unrefs;

static unref *unref_get(const char *key, int64_t now)
{
    for (unref *u = unrefs; u; u = u->next)
        if (!strcmp(u->key, key))
            return u;
    unref *u = ksiss_xcalloc(1, sizeof(*u));
    u->key = ksiss_xstrdup(key);
    u->since_ms = now;
    u->next = unrefs;
    unrefs = u;
    return u;
}

static void unref_sweep(void)
{
    unref **link = &unrefs;
    while (*link) {
        unref *u = *link;
        if (u->seen) {
            u->seen = false;
            link = &u->next;
        } else {
            *link = u->next;
            free(u->key);
            free(u);
        }
    }
}

/* ---- GPU claims ----------------------------------------------------------- */

/* Returns a violation text (caller frees) or NULL. */
static char *check_gpu(const json_t *nodes, const json_t *pods)
{
    size_t i;
    json_t *node;
    json_array_foreach(nodes, i, node) {
        const char *nname = str_at(node, "metadata", "name");
        const json_t *alloc = json_object_get(json_object_get(node, "status"), "allocatable");
        const char *res;
        json_t *q;
        json_object_foreach((json_t *)alloc, res, q) {
            if (strncmp(res, "nvidia.com/", 11) != 0)
                continue;
            int64_t have = 0;
            if (!json_is_string(q) || ksiss_parse_int64(json_string_value(q), &have) != 0)
                continue;
            long long used = 0;
            size_t j;
            json_t *pod;
            json_array_foreach(pods, j, pod) {
                const char *on = str_at(pod, "spec", "nodeName");
                const char *ph = str_at(pod, "status", "phase");
                if (!on || strcmp(on, nname) != 0 || (ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"))))
                    continue;
                long long r = ksiss_pod_request(pod, res);
                if (r > 0)
                    used += r;
            }
            if (used > have)
                return ksiss_xasprintf("node %s: pods bound to it request %lld %s, allocatable %lld", nname, used,
                                       res, (long long)have);
        }
    }
    return NULL;
}

/* ---- per-service traffic state -------------------------------------------- */

typedef struct svcstate {
    char *name;
    bool was_serving;
    char *pending, *pending_rv;
    struct svcstate *next;
} svcstate;

static svcstate *svcs;

static svcstate *svc_get(const char *name)
{
    for (svcstate *s = svcs; s; s = s->next)
        if (!strcmp(s->name, name))
            return s;
    svcstate *s = ksiss_xcalloc(1, sizeof(*s));
    s->name = ksiss_xstrdup(name);
    s->next = svcs;
    svcs = s;
    return s;
}

static long violations;
static char *firsts[8];

static void violation(char *text)
{
    fprintf(stderr, "e2e_watch: violation: %s\n", text);
    if (violations < 8)
        firsts[violations] = text;
    else
        free(text);
    violations++;
}

/* ---- kill mode ------------------------------------------------------------- */

static int kill_at(ksiss_kube *k, const char *ns, const char *name, const char *at, long pid, long timeout_s)
{
    char *want = ksiss_xstrdup(at);
    char *colon = strchr(want, ':');
    long want_step = -1;
    if (colon) {
        *colon = '\0';
        want_step = strtol(colon + 1, NULL, 10);
    }
    int64_t end = now_ms() + timeout_s * 1000;
    char *last = ksiss_xstrdup("none");
    int rc = 1;
    while (!stop && now_ms() < end) {
        json_t *svc = NULL;
        ksiss_kube_error e = {0};
        if (ksiss_kube_get(k, &KSISS_KUBE_KNATIVE_SERVICES, ns, name, &svc, &e) == KSISS_KUBE_OK) {
            const char *text = ksiss_tr_annotation(svc, KSISS_ANN_TRANSITION);
            ksiss_tr_state s;
            char *err = NULL;
            if (text && ksiss_tr_state_parse(text, &s, &err) == 0) {
                free(last);
                last = ksiss_xasprintf("%s:%d", ksiss_tr_phase_name(s.phase), s.step);
                bool hit = !strcmp(ksiss_tr_phase_name(s.phase), want) && (want_step < 0 || want_step == s.step);
                ksiss_tr_state_clear(&s);
                if (hit) {
                    if (pid > 0) {
                        kill((pid_t)pid, SIGKILL);
                        printf("killed %ld at %s (resourceVersion %s)\n", pid, last,
                               str_at(svc, "metadata", "resourceVersion"));
                    } else {
                        printf("seen %s (resourceVersion %s)\n", last, str_at(svc, "metadata", "resourceVersion"));
                    }
                    rc = 0;
                    json_decref(svc);
                    ksiss_kube_error_clear(&e);
                    break;
                }
            }
            free(err);
            json_decref(svc);
        }
        ksiss_kube_error_clear(&e);
        sleep_ms(50);
    }
    if (rc)
        printf("phase %s not seen within %lds (last: %s)\n", at, timeout_s, last);
    free(last);
    free(want);
    return rc;
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL, *only = NULL, *kill_phase = NULL;
    long leak_after_s = 60, pid = 0, timeout_s = 120, max_err_pct = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--kubeconfig"))
            kubeconfig = argv[i + 1];
        else if (!strcmp(argv[i], "--namespace"))
            ns = argv[i + 1];
        else if (!strcmp(argv[i], "--service"))
            only = argv[i + 1];
        else if (!strcmp(argv[i], "--leak-after"))
            leak_after_s = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--kill-at"))
            kill_phase = argv[i + 1];
        else if (!strcmp(argv[i], "--wait-at")) {
            kill_phase = argv[i + 1];
            pid = -1;
        }
        else if (!strcmp(argv[i], "--pid"))
            pid = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--timeout"))
            timeout_s = strtol(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--max-read-errors"))
            max_err_pct = strtol(argv[i + 1], NULL, 10);
    }
    if (!kubeconfig || !ns || leak_after_s <= 0 || max_err_pct < 0 || max_err_pct > 100 ||
        (kill_phase && (!only || pid == 0 || timeout_s <= 0))) {
        fprintf(stderr, "usage: e2e_watch --kubeconfig FILE --namespace NS [--service NAME] [--leak-after S] "
                        "[--max-read-errors PCT]\n"
                        "       e2e_watch --kubeconfig FILE --namespace NS --service NAME --kill-at PHASE[:STEP] "
                        "--pid PID [--timeout S]\n"
                        "       e2e_watch --kubeconfig FILE --namespace NS --service NAME --wait-at PHASE[:STEP] "
                        "[--timeout S]\n");
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    ksiss_kube_config kc = {0};
    char *err = NULL;
    ksiss_kube *k = NULL;
    ksiss_kube_options ko = {.timeout_ms = 5000, .max_retries = -1};
    if (ksiss_kube_config_load(&kc, kubeconfig, NULL, &err) != 0 || !(k = ksiss_kube_new(&kc, &ko, &err))) {
        fprintf(stderr, "e2e_watch: %s\n", err);
        return 2;
    }
    if (kill_phase) {
        int rc = kill_at(k, ns, only, kill_phase, pid, timeout_s);
        ksiss_kube_free(k);
        ksiss_kube_config_free(&kc);
        return rc;
    }
    long polls = 0, errors = 0, gpu_checks = 0, reads = 0;
    while (!stop) {
        json_t *services = NULL, *revisions = NULL, *nodes = NULL, *pods = NULL;
        ksiss_kube_error e = {0};
        char *sel = only ? ksiss_xasprintf("metadata.name=%s", only) : NULL;
        ksiss_kube_list_opts so = {.field_selector = sel};
        ksiss_kube_list_opts ro = {.label_selector = KSISS_LABEL_SERVICE};
        int64_t t = now_ms();
        long errors_before = errors;
        reads += 2;
        if (ksiss_kube_list(k, &KSISS_KUBE_KNATIVE_SERVICES, ns, &so, &services, NULL, &e) != KSISS_KUBE_OK ||
            ksiss_kube_list(k, &KSISS_KUBE_KNATIVE_REVISIONS, ns, &ro, &revisions, NULL, &e) != KSISS_KUBE_OK) {
            errors++;
        } else {
            polls++;
            size_t i;
            json_t *svc;
            json_array_foreach(services, i, svc) {
                const char *name = str_at(svc, "metadata", "name");
                if (!name)
                    continue;
                json_t *mine = json_array();
                size_t j;
                json_t *r;
                json_array_foreach(revisions, j, r) {
                    const json_t *labels = json_object_get(json_object_get(r, "metadata"), "labels");
                    const char *owner = json_string_value(json_object_get(labels, KSISS_LABEL_SERVICE));
                    if (owner && !strcmp(owner, name))
                        json_array_append(mine, r);
                }
                svcstate *st = svc_get(name);
                bool serving;
                char *bad = check_traffic(svc, mine, &serving);
                if (!bad && st->was_serving && !serving)
                    bad = ksiss_xasprintf("service %s: no Ready revision serves", name);
                st->was_serving = st->was_serving || serving;
                const char *rv = str_at(svc, "metadata", "resourceVersion");
                if (bad && st->pending && rv && st->pending_rv && !strcmp(rv, st->pending_rv)) {
                    violation(ksiss_xasprintf("%s (resourceVersion %s)", bad, rv));
                    free(bad);
                    bad = NULL;
                }
                free(st->pending);
                free(st->pending_rv);
                st->pending = bad;
                st->pending_rv = bad && rv ? ksiss_xstrdup(rv) : NULL;
                /* Leaks: only a Revision that is not being deleted counts. */
                json_array_foreach(mine, j, r) {
                    const char *rn = str_at(r, "metadata", "name");
                    if (!rn || referenced(svc, rn))
                        continue;
                    char *key = ksiss_xasprintf("%s/%s", name, rn);
                    unref *u = unref_get(key, t);
                    free(key);
                    u->seen = true;
                    if (!u->reported && t - u->since_ms > leak_after_s * 1000) {
                        u->reported = true;
                        violation(ksiss_xasprintf("service %s: revision %s unreferenced for more than %lds "
                                                  "(leaked)", name, rn, leak_after_s));
                    }
                }
                json_decref(mine);
            }
            unref_sweep();
        }
        ksiss_kube_error_clear(&e);
        if (ksiss_kube_list(k, &KSISS_KUBE_NODES, NULL, NULL, &nodes, NULL, &e) == KSISS_KUBE_OK &&
            ksiss_kube_list(k, &KSISS_KUBE_PODS, NULL, NULL, &pods, NULL, &e) == KSISS_KUBE_OK) {
            gpu_checks++;
            char *bad = check_gpu(nodes, pods);
            if (bad)
                violation(bad);
        } else {
            errors++;
        }
        ksiss_kube_error_clear(&e);
        json_decref(services);
        json_decref(revisions);
        json_decref(nodes);
        json_decref(pods);
        free(sel);
        if (!stop)
            sleep_ms(errors > errors_before ? 1000 : 200);
    }
    printf("polls=%ld violations=%ld read_errors=%ld gpu_checks=%ld reads=%ld max_read_errors_pct=%ld\n", polls,
           violations, errors, gpu_checks, reads, max_err_pct);
    for (int i = 0; i < 8 && firsts[i]; i++) {
        printf("violation: %s\n", firsts[i]);
        free(firsts[i]);
    }
    /* Checks not made are not checks passed. */
    bool unchecked = false;
    if (polls == 0) {
        printf("out of bounds: no Service read succeeded: traffic was never checked\n");
        unchecked = true;
    }
    if (gpu_checks == 0) {
        printf("out of bounds: no Node and Pod read succeeded: GPU claims were never checked\n");
        unchecked = true;
    }
    if (errors * 100 > max_err_pct * reads) {
        printf("out of bounds: %ld of %ld reads failed, more than %ld%%\n", errors, reads, max_err_pct);
        unchecked = true;
    }
    while (svcs) {
        svcstate *s = svcs;
        svcs = s->next;
        free(s->name);
        free(s->pending);
        free(s->pending_rv);
        free(s);
    }
    while (unrefs) {
        unref *u = unrefs;
        unrefs = u->next;
        free(u->key);
        free(u);
    }
    ksiss_kube_free(k);
    ksiss_kube_config_free(&kc);
    return violations || unchecked ? 1 : 0;
}
