/* leader.h: leader election with a coordination.k8s.io/v1 Lease, like
 * client-go's leaderelection: acquire an expired lease, renew it every
 * retry period, give it up when a renewal misses its deadline, release it
 * on shutdown. Optimistic concurrency through resourceVersion: a 409 means
 * another instance won the race. Only the leader acts; followers keep
 * serving /metrics. Runs in its own thread; poll ksiss_leader_is_leader()
 * or pass a callback. */
#ifndef KSISS_LEADER_H
#define KSISS_LEADER_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "shell/kube.h"

typedef void (*ksiss_leader_fn)(void *ud, bool leading);

typedef struct {
    const char *ns;                 /* Lease namespace (NULL = the client's namespace) */
    const char *name;               /* Lease name (NULL = "ksiss-leader") */
    const char *identity;           /* NULL = $POD_NAME or hostname, plus "_" and a random suffix */
    int64_t lease_duration_ms;      /* default 15000 */
    int64_t renew_deadline_ms;      /* default 10000: stop leading when no renewal succeeded for this long */
    int64_t retry_period_ms;        /* default 5000: renew / try to acquire this often */
    ksiss_leader_fn on_change;      /* may be NULL; called on the election thread */
    void *ud;
} ksiss_leader_options;

typedef struct ksiss_leader ksiss_leader;

/* Starts the election thread. Strings are copied; k must outlive it.
 * Returns NULL and *err (caller frees) on bad options. */
ksiss_leader *ksiss_leader_start(ksiss_kube *k, const ksiss_leader_options *opt, char **err);

/* True while this instance holds the lease (and its last renewal is
 * younger than the renew deadline). Thread-safe. */
bool ksiss_leader_is_leader(ksiss_leader *l);

/* While this instance holds the lease: the ms left until its renew
 * deadline (the last successful renewal + renew deadline); 0 otherwise.
 * Thread-safe. */
int64_t ksiss_leader_remaining_ms(ksiss_leader *l);

/* A ksiss_kube_write_guard (kube.h) for ud = the leader: every write of
 * the client is checked right before it goes out (retries too), refused
 * unless this instance holds the lease, and cut at the renew deadline. The
 * election's own Lease writes are exempt. */
int64_t ksiss_leader_write_guard(void *leader, const char *verb, const char *path);

/* This instance's holderIdentity; borrowed from l. */
const char *ksiss_leader_identity(const ksiss_leader *l);

/* Stops the thread; when `release` and the Lease still names this
 * instance, hands it over at once (holderIdentity "" and
 * leaseDurationSeconds 1, with the resourceVersion precondition), even
 * when the client's stop flag is set (SIGTERM), within about 4 s even
 * against an API server that does not answer. Frees l. NULL ok. */
void ksiss_leader_stop(ksiss_leader *l, bool release);

/* ---- pure decision, public for tests ---- */

typedef struct {
    const char *holder;             /* spec.holderIdentity ("" or NULL = nobody) */
    int64_t lease_duration_ms;      /* spec.leaseDurationSeconds * 1000 */
    int64_t observed_at_ms;         /* when THIS process last saw the record change (its own clock: no skew) */
} ksiss_lease_view;

typedef enum {
    KSISS_LEASE_WAIT = 0,           /* someone else holds a live lease */
    KSISS_LEASE_ACQUIRE,            /* free or expired: try to take it */
    KSISS_LEASE_RENEW,              /* ours: renew it */
} ksiss_lease_step;

ksiss_lease_step ksiss_lease_decide(const ksiss_lease_view *v, const char *identity, int64_t now_ms);

/* The Lease spec written for holding (or, holder "" and duration 1 s,
 * releasing) the lease: {"holderIdentity", "leaseDurationSeconds",
 * "acquireTime", "renewTime", "leaseTransitions"}. Times are RFC 3339
 * MicroTime strings supplied by the caller. New reference. */
json_t *ksiss_lease_spec(const char *holder, int64_t lease_duration_ms, const char *acquire_time,
                         const char *renew_time, int64_t transitions);

#endif
