/* leader.c: leader election on a coordination.k8s.io/v1 Lease, in a thread.
 * Every retry period: a follower reads the Lease and takes it (PUT with the
 * read resourceVersion) when it is free or has not changed for a whole
 * lease duration as seen by THIS process's clock (no clock-skew trust, as
 * client-go); the leader renews with the resourceVersion of its last write.
 * A 409 means someone else wrote first: re-read; the leader stops at once
 * when the Lease names another holder, and otherwise renews on the new
 * resourceVersion. It stops leading when no renewal succeeded within the
 * renew deadline. On stop it hands the lease over (holderIdentity "",
 * leaseDurationSeconds 1). */
#include "shell/leader.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "shell/clock.h"
#include "shell/events.h"
#include "shell/kube_internal.h"
#include "shell/log.h"

struct ksiss_leader {
    ksiss_kube *k;
    char *ns, *name, *identity;
    int64_t lease_ms, deadline_ms, retry_ms;
    ksiss_leader_fn on_change;
    void *ud;
    pthread_t th;
    int stop;                       /* atomic */
    pthread_mutex_t mu;             /* leading, last_renew_ms */
    bool leading;
    int64_t last_renew_ms;
    /* election thread only */
    json_t *obj;                    /* last Lease read or written, or NULL */
    char *seen_key;                 /* holder|renewTime|resourceVersion last observed */
    int64_t seen_at_ms;
};

ksiss_lease_step ksiss_lease_decide(const ksiss_lease_view *v, const char *identity, int64_t now_ms)
{
    if (!v->holder || !*v->holder)
        return KSISS_LEASE_ACQUIRE;
    if (identity && !strcmp(v->holder, identity))
        return KSISS_LEASE_RENEW;
    int64_t dur = v->lease_duration_ms > 0 ? v->lease_duration_ms : 0;
    if (now_ms - v->observed_at_ms >= dur)
        return KSISS_LEASE_ACQUIRE;
    return KSISS_LEASE_WAIT;
}

json_t *ksiss_lease_spec(const char *holder, int64_t lease_duration_ms, const char *acquire_time,
                         const char *renew_time, int64_t transitions)
{
    int64_t secs = (lease_duration_ms + 999) / 1000;
    if (secs < 1)
        secs = 1;
    json_t *s = json_object();
    json_object_set_new(s, "holderIdentity", json_string(holder ? holder : ""));
    json_object_set_new(s, "leaseDurationSeconds", json_integer(secs));
    if (acquire_time)
        json_object_set_new(s, "acquireTime", json_string(acquire_time));
    if (renew_time)
        json_object_set_new(s, "renewTime", json_string(renew_time));
    json_object_set_new(s, "leaseTransitions", json_integer(transitions < 0 ? 0 : transitions));
    return s;
}

static char *make_identity(void)
{
    const char *pod = getenv("POD_NAME");
    char host[256];
    if (!pod || !*pod) {
        if (gethostname(host, sizeof host) != 0)
            strcpy(host, "ksiss");
        host[sizeof host - 1] = '\0';
        pod = host;
    }
    unsigned char rnd[4] = {0};
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd < 0 || read(fd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
        uint64_t x = (uint64_t)ksiss_wall_ms() ^ ((uint64_t)getpid() << 20);
        memcpy(rnd, &x, sizeof rnd);
    }
    if (fd >= 0)
        close(fd);
    return ksiss_xasprintf("%s_%02x%02x%02x%02x", pod, rnd[0], rnd[1], rnd[2], rnd[3]);
}

static void set_leading(ksiss_leader *l, bool leading, int64_t renewed_ms)
{
    pthread_mutex_lock(&l->mu);
    bool was = l->leading;
    l->leading = leading;
    if (leading)
        l->last_renew_ms = renewed_ms;
    pthread_mutex_unlock(&l->mu);
    if (was != leading) {
        ksiss_log("info", leading ? "lease acquired" : "lease lost", "namespace", l->ns, "lease", l->name,
                  "identity", l->identity, NULL);
        if (l->on_change)
            l->on_change(l->ud, leading);
    }
}

static const char *spec_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(json_object_get(obj, "spec"), key));
}

static int64_t spec_int(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(json_object_get(obj, "spec"), key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Writes the Lease with us (or, release, nobody) as holder, based on
 * l->obj; returns the rc. On success l->obj is the written object. */
static int write_lease(ksiss_leader *l, bool release)
{
    const char *holder = spec_str(l->obj, "holderIdentity");
    bool ours = holder && !strcmp(holder, l->identity);
    int64_t transitions = spec_int(l->obj, "leaseTransitions");
    char *now = ksiss_kube_time_format(ksiss_wall_ms(), 1);
    const char *acq = spec_str(l->obj, "acquireTime");
    char *acquire = ksiss_xstrdup(ours && acq ? acq : now);
    if (!ours && !release)
        transitions++;
    json_t *spec = release ? ksiss_lease_spec("", 1000, now, now, transitions)
                           : ksiss_lease_spec(l->identity, l->lease_ms, acquire, now, transitions);
    json_t *body = json_deep_copy(l->obj);
    json_object_set_new(body, "spec", spec);
    json_t *out = NULL;
    ksiss_kube_error err = {0};
    int rc = ksiss_kube_replace(l->k, &KSISS_KUBE_LEASES, l->ns, l->name, body, &out, &err);
    if (rc == KSISS_KUBE_OK) {
        json_decref(l->obj);
        l->obj = out;
    } else {
        if (rc != KSISS_KUBE_E_CONFLICT && rc != KSISS_KUBE_E_STOPPING)
            ksiss_log("warn", "cannot write the lease", "namespace", l->ns, "lease", l->name, "error",
                      err.message ? err.message : "?", NULL);
        json_decref(l->obj);
        l->obj = NULL;      /* re-read next time */
    }
    ksiss_kube_error_clear(&err);
    json_decref(body);
    free(now);
    free(acquire);
    return rc;
}

/* Reads the Lease into l->obj, creating it (held by us) when absent.
 * Returns 1 when the create made us leader, 0 when read, -1 on error. */
static int read_lease(ksiss_leader *l)
{
    json_decref(l->obj);
    l->obj = NULL;
    ksiss_kube_error err = {0};
    int rc = ksiss_kube_get(l->k, &KSISS_KUBE_LEASES, l->ns, l->name, &l->obj, &err);
    if (rc == KSISS_KUBE_E_NOT_FOUND) {
        ksiss_kube_error_clear(&err);
        char *now = ksiss_kube_time_format(ksiss_wall_ms(), 1);
        json_t *body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "coordination.k8s.io/v1", "kind", "Lease",
                                 "metadata", "name", l->name, "namespace", l->ns);
        json_object_set_new(body, "spec", ksiss_lease_spec(l->identity, l->lease_ms, now, now, 0));
        free(now);
        rc = ksiss_kube_create(l->k, &KSISS_KUBE_LEASES, l->ns, body, &l->obj, &err);
        json_decref(body);
        if (rc == KSISS_KUBE_OK) {
            ksiss_kube_error_clear(&err);
            return 1;
        }
        if (rc == KSISS_KUBE_E_CONFLICT) {  /* AlreadyExists: another instance created it first */
            ksiss_kube_error_clear(&err);
            return -1;
        }
    }
    if (rc != KSISS_KUBE_OK) {
        ksiss_log("warn", "cannot read or create the lease", "namespace", l->ns, "lease", l->name, "error",
                  err.message ? err.message : "?", NULL);
        ksiss_kube_error_clear(&err);
        json_decref(l->obj);
        l->obj = NULL;
        return -1;
    }
    return 0;
}

static void tick(ksiss_leader *l)
{
    int64_t now = ksiss_mono_ms();
    bool leading;
    pthread_mutex_lock(&l->mu);
    leading = l->leading;
    pthread_mutex_unlock(&l->mu);

    /* A renewal answered 409 (someone else wrote the Lease since our last
     * write; the 409 does not say who holds it now) goes round once more on
     * a fresh read: another holder ends our term now, a Lease still ours (a
     * label or annotation written by someone, a spurious conflict) is
     * renewed on the new resourceVersion; the renew deadline still bounds a
     * term without successful renewals (as client-go). */
    bool reread = !l->obj || !leading;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (reread) {
            int r = read_lease(l);
            if (r == 1) {
                set_leading(l, true, ksiss_mono_ms());
                return;
            }
            if (r < 0)
                break;
        }
        /* Track when the record last changed, on our own clock. */
        const char *holder = spec_str(l->obj, "holderIdentity");
        const char *renew = spec_str(l->obj, "renewTime");
        const char *rv = json_string_value(json_object_get(json_object_get(l->obj, "metadata"), "resourceVersion"));
        char *key = ksiss_xasprintf("%s|%s|%s", holder ? holder : "", renew ? renew : "", rv ? rv : "");
        if (!l->seen_key || strcmp(key, l->seen_key) != 0) {
            free(l->seen_key);
            l->seen_key = key;
            l->seen_at_ms = now;
        } else {
            free(key);
        }
        ksiss_lease_view v = {holder, spec_int(l->obj, "leaseDurationSeconds") * 1000, l->seen_at_ms};
        ksiss_lease_step step = ksiss_lease_decide(&v, l->identity, now);
        if (step == KSISS_LEASE_WAIT) {
            if (attempt > 0)
                ksiss_log("info", "lease now held by another", "namespace", l->ns, "lease", l->name, "holder",
                          holder, "identity", l->identity, NULL);
            set_leading(l, false, 0);
            return;
        }
        int rc = write_lease(l, false);
        if (rc == KSISS_KUBE_OK) {
            set_leading(l, true, ksiss_mono_ms());
            return;
        }
        if (rc == KSISS_KUBE_E_CONFLICT && step == KSISS_LEASE_RENEW) {
            reread = true;
            continue;
        }
        if (rc == KSISS_KUBE_E_CONFLICT) {
            /* Lost the race to take it: another instance wrote first. */
            set_leading(l, false, 0);
            return;
        }
        break;
    }
    pthread_mutex_lock(&l->mu);
    bool expired = l->leading && ksiss_mono_ms() - l->last_renew_ms >= l->deadline_ms;
    pthread_mutex_unlock(&l->mu);
    if (expired)
        set_leading(l, false, 0);
}

static void *leader_main(void *arg)
{
    ksiss_leader *l = arg;
    /* The Lease's writes are how leadership is held: never refused by the
     * client's write guard (which asks this very leader). */
    static const ksiss_kube__exempt lease_writes = {.unguarded = true};
    ksiss_kube__set_exempt(&lease_writes);
    while (!__atomic_load_n(&l->stop, __ATOMIC_ACQUIRE)) {
        tick(l);
        /* Retry a lost race sooner than a full period. */
        int64_t wait = l->obj ? l->retry_ms : l->retry_ms / 2;
        wait += (int64_t)(ksiss_kube__jitter(l->k) * (double)l->retry_ms * 0.1);
        ksiss_sleep_ms(wait, &l->stop);
    }
    return NULL;
}

/* A DNS-1123 subdomain, as Kubernetes requires of Lease names and
 * namespaces: lower-case alphanumerics, '-' and '.', at most 253. */
static bool dns_subdomain(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && ((c != '-' && c != '.') || i == 0 || i == n - 1))
            return false;
    }
    return true;
}

ksiss_leader *ksiss_leader_start(ksiss_kube *k, const ksiss_leader_options *opt, char **err)
{
    ksiss_leader_options o = {0};
    if (opt)
        o = *opt;
    if (!o.lease_duration_ms)
        o.lease_duration_ms = 15000;
    if (!o.renew_deadline_ms)
        o.renew_deadline_ms = 10000;
    if (!o.retry_period_ms)
        o.retry_period_ms = 5000;
    if (o.lease_duration_ms < 1000 || o.renew_deadline_ms <= 0 || o.retry_period_ms <= 0 ||
        o.renew_deadline_ms >= o.lease_duration_ms || o.retry_period_ms >= o.renew_deadline_ms) {
        *err = ksiss_xasprintf("leader election: need retry period (%lld ms) < renew deadline (%lld ms) < lease "
                               "duration (%lld ms, at least 1 s)",
                               (long long)o.retry_period_ms, (long long)o.renew_deadline_ms,
                               (long long)o.lease_duration_ms);
        return NULL;
    }
    const char *ns = o.ns && *o.ns ? o.ns : ksiss_kube_namespace(k);
    const char *name = o.name && *o.name ? o.name : "ksiss-leader";
    if (!dns_subdomain(ns) || !dns_subdomain(name)) {
        *err = ksiss_xasprintf("leader election: invalid Lease \"%s/%s\" (lower-case letters, digits, '-' and '.')",
                               ns ? ns : "", name);
        return NULL;
    }
    ksiss_leader *l = ksiss_xcalloc(1, sizeof *l);
    l->k = k;
    l->ns = ksiss_xstrdup(ns);
    l->name = ksiss_xstrdup(name);
    l->identity = o.identity && *o.identity ? ksiss_xstrdup(o.identity) : make_identity();
    l->lease_ms = o.lease_duration_ms;
    l->deadline_ms = o.renew_deadline_ms;
    l->retry_ms = o.retry_period_ms;
    l->on_change = o.on_change;
    l->ud = o.ud;
    pthread_mutex_init(&l->mu, NULL);
    if (pthread_create(&l->th, NULL, leader_main, l) != 0) {
        *err = ksiss_xstrdup("leader election: cannot start a thread");
        pthread_mutex_destroy(&l->mu);
        free(l->ns);
        free(l->name);
        free(l->identity);
        free(l);
        return NULL;
    }
    return l;
}

int64_t ksiss_leader_remaining_ms(ksiss_leader *l)
{
    if (!l)
        return 0;
    pthread_mutex_lock(&l->mu);
    int64_t left = l->leading ? l->last_renew_ms + l->deadline_ms - ksiss_mono_ms() : 0;
    pthread_mutex_unlock(&l->mu);
    return left > 0 ? left : 0;
}

bool ksiss_leader_is_leader(ksiss_leader *l)
{
    return ksiss_leader_remaining_ms(l) > 0;
}

int64_t ksiss_leader_write_guard(void *leader, const char *verb, const char *path)
{
    (void)verb;
    (void)path;
    return ksiss_leader_remaining_ms(leader);
}

const char *ksiss_leader_identity(const ksiss_leader *l)
{
    return l->identity;
}

void ksiss_leader_stop(ksiss_leader *l, bool release)
{
    if (!l)
        return;
    __atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
    pthread_join(l->th, NULL);
    if (release) {
        /* As client-go's ReleaseOnCancel, also after the client's stop
         * flag was set (SIGTERM), bounded: one attempt of at most 2 s per
         * request. A renewal cut short by that flag left no Lease to
         * write on: read it again. Released only while it names us, with
         * the resourceVersion read as precondition (a 409: someone else
         * holds it already, nothing to do). */
        static const ksiss_kube__exempt release_write = {.unguarded = true, .ignore_stop = true,
                                                         .timeout_ms = 2000};
        ksiss_kube__set_exempt(&release_write);
        if (!l->obj) {
            ksiss_kube_error err = {0};
            if (ksiss_kube_get(l->k, &KSISS_KUBE_LEASES, l->ns, l->name, &l->obj, &err) != KSISS_KUBE_OK)
                l->obj = NULL;
            ksiss_kube_error_clear(&err);
        }
        const char *holder = spec_str(l->obj, "holderIdentity");
        if (holder && !strcmp(holder, l->identity) && write_lease(l, true) == KSISS_KUBE_OK)
            ksiss_log("info", "lease released", "namespace", l->ns, "lease", l->name, "identity", l->identity, NULL);
        ksiss_kube__set_exempt(NULL);
    }
    set_leading(l, false, 0);
    json_decref(l->obj);
    free(l->seen_key);
    pthread_mutex_destroy(&l->mu);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}
