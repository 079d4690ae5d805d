/* prom_url_cases.h: every form of a Prometheus URL and what it becomes,
 * shared by test_env.c (PROMETHEUS_URL through the core) and test_prom.c
 * (the --prometheus flags and the Prometheus client's environment), so that
 * one table holds all the places to the same rules. */
#ifndef KSISS_TEST_PROM_URL_CASES_H
#define KSISS_TEST_PROM_URL_CASES_H

typedef struct {
    const char *in;
    const char *out;    /* NULL: refused */
    const char *why;    /* refused: a phrase the message must contain */
} prom_url_case;

static const prom_url_case prom_url_cases[] = {
    /* base URL, with and without trailing slashes */
    {"http://prom:9090", "http://prom:9090/api/v1/query", NULL},
    {"http://prom:9090/", "http://prom:9090/api/v1/query", NULL},
    {"http://prom:9090//", "http://prom:9090/api/v1/query", NULL},
    /* .../api/v1 and .../api/v1/ */
    {"http://prom:9090/api/v1", "http://prom:9090/api/v1/query", NULL},
    {"http://prom:9090/api/v1/", "http://prom:9090/api/v1/query", NULL},
    /* the query endpoint itself */
    {"http://prom:9090/api/v1/query", "http://prom:9090/api/v1/query", NULL},
    {"http://prom:9090/api/v1/query/", "http://prom:9090/api/v1/query", NULL},
    /* a path prefix, kept */
    {"http://host/prometheus", "http://host/prometheus/api/v1/query", NULL},
    {"http://host/prometheus/", "http://host/prometheus/api/v1/query", NULL},
    {"http://host/prometheus/api/v1", "http://host/prometheus/api/v1/query", NULL},
    {"http://host/prometheus/api/v1/query", "http://host/prometheus/api/v1/query", NULL},
    /* https */
    {"https://prom.example", "https://prom.example/api/v1/query", NULL},
    {"https://prom.example:443/api/v1/", "https://prom.example:443/api/v1/query", NULL},
    /* addresses */
    {"http://127.0.0.1:9090/api/v1", "http://127.0.0.1:9090/api/v1/query", NULL},
    {"http://[::1]:9090", "http://[::1]:9090/api/v1/query", NULL},
    {"http://[::1]", "http://[::1]/api/v1/query", NULL},
    /* userinfo is kept (libcurl sends it as basic auth) */
    {"http://user:pw@prom:9090", "http://user:pw@prom:9090/api/v1/query", NULL},
    {"https://user@prom.example/prometheus/api/v1", "https://user@prom.example/prometheus/api/v1/query", NULL},
    /* a host named like the path is still a host */
    {"http://api/v1", "http://api/v1/api/v1/query", NULL},
    /* refused */
    {"http://", NULL, "has no host"},
    {"https://", NULL, "has no host"},
    {"http:///api/v1/query", NULL, "has no host"},
    {"http://user:pw@", NULL, "has no host"},
    {"http://user:pw@/api/v1", NULL, "has no host"},
    {"http://:9090", NULL, "has no host"},
    {"http://[::1", NULL, "IPv6"},
    {"http://prom:/", NULL, "port"},
    {"http://prom:9x90", NULL, "port"},
    {"http://prom:99999", NULL, "port"},
    {"http://prom:0", NULL, "port"},
    {"http://prom:9090?x=1", NULL, "query string"},
    {"http://prom:9090/api/v1/query?query=up", NULL, "query string"},
    {"http://prom:9090/#top", NULL, "fragment"},
    {"ftp://prom:9090", NULL, "must start with http:// or https://"},
    {"prom:9090", NULL, "must start with http:// or https://"},
    {"HTTP://prom:9090", NULL, "must start with http:// or https://"},
    {"http://prom 9090", NULL, "spaces or control characters"},
    {"http://prom:9090/\n", NULL, "spaces or control characters"},
};

#endif
