/* fuzz_prom.c: libFuzzer target for the Prometheus response parser
 * (ksiss_prom_parse_response, the body of /api/v1/query), read as HTTP
 * 200, 400 and 503, then spread over pods and combined as the controller
 * does (ksiss_promql_spread, ksiss_promql_combine). Checks that a failure
 * always says why in one printable line, that only a 200 success yields
 * samples, and that a reading the policy sees is present only when finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/promql.h"
#include "shell/prom.h"
#include "fuzz_common.h"

static const ksiss_aggregate aggs[] = {KSISS_AGG_MAX, KSISS_AGG_AVG, KSISS_AGG_SUM};

/* No control bytes: a message is one log line that the body cannot break. */
static bool one_printable_line(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static void check_readings(const ksiss_prom_result *r)
{
    ksiss_promql_sample *s = calloc(r->n ? r->n : 1, sizeof(*s));
    const char **pods = calloc(r->n ? r->n : 1, sizeof(*pods));
    ksiss_pod_value *pv = calloc(r->n ? r->n : 1, sizeof(*pv));
    if (!s || !pods || !pv)
        abort();
    size_t n_pods = 0;
    for (size_t i = 0; i < r->n; i++) {
        s[i] = (ksiss_promql_sample){r->samples[i].pod, r->samples[i].value, r->samples[i].le};
        if (r->samples[i].pod)
            pods[n_pods++] = r->samples[i].pod;
    }
    for (size_t a = 0; a < sizeof aggs / sizeof aggs[0]; a++) {
        ksiss_promql_spread(s, r->n, pods, n_pods, aggs[a], pv);
        for (size_t p = 0; p < n_pods; p++) {
            if (pv[p].present)
                FUZZ_CHECK(isfinite(pv[p].value), "pod %s present with %g", pods[p], pv[p].value);
            else
                FUZZ_CHECK(pv[p].why_missing && pv[p].why_missing[0], "pod %s missing without a reason", pods[p]);
        }
        ksiss_pod_value c = ksiss_promql_combine(pv, n_pods, aggs[a]);
        if (c.present)
            FUZZ_CHECK(isfinite(c.value), "combined reading present with %g", c.value);
        else
            FUZZ_CHECK(c.why_missing && c.why_missing[0], "combined reading missing without a reason");
    }
    free(s);
    free(pods);
    free(pv);
}

static void check_status(const char *body, size_t len, long status)
{
    ksiss_prom_result r;
    int rc = ksiss_prom_parse_response(body, len, status, "pod", &r);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    FUZZ_CHECK((rc == 0) == r.ok, "rc %d but ok %d", rc, (int)r.ok);
    FUZZ_CHECK(r.http_status == status, "http_status %ld for %ld", r.http_status, status);
    if (r.ok) {
        FUZZ_CHECK(status == 200, "HTTP %ld read as a success", status);
        FUZZ_CHECK(!r.reason && !r.error, "success with a failure reason");
        FUZZ_CHECK(r.n == 0 || r.samples, "%zu samples without storage", r.n);
        FUZZ_CHECK(!r.scalar || (r.n == 1 && !r.samples[0].pod), "scalar result with %zu samples", r.n);
        for (size_t i = 0; i < r.n; i++)
            FUZZ_CHECK(r.samples[i].series != NULL, "sample %zu has no series text", i);
        check_readings(&r);
    } else {
        FUZZ_CHECK(r.reason && r.reason[0], "failure without a reason");
        FUZZ_CHECK(r.error && r.error[0], "failure (%s) without a message", r.reason);
        FUZZ_CHECK(one_printable_line(r.error), "failure message holds control bytes: %s", r.error);
        FUZZ_CHECK(r.n == 0, "failure (%s) with %zu samples", r.reason, r.n);
    }
    ksiss_prom_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = ksiss_fuzz_text(data, size);
    check_status(body, size, 200);
    check_status(body, size, 400);
    check_status(body, size, 503);
    free(body);
    return 0;
}
