/* test_prom_query_cmd.c: `ksiss query` exit codes and messages that need no
 * Prometheus: usage errors (2), an unreadable config file (3), an invalid
 * configuration or unknown service (1), and an unreachable Prometheus (1,
 * with a message naming the metric and the cause, within the timeout), and
 * the pods listed from a stand-in Kubernetes API when --pods is absent.
 * The numbers it reads from a real Prometheus are checked by
 * tests/integration/prom_test.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "core/util.h"
#include "test_kube_fake.h"

#define N_(a) (sizeof(a) / sizeof((a)[0]))

static const char config_yaml[] =
    "apiVersion: v1\n"
    "kind: ConfigMap\n"
    "metadata:\n"
    "  name: autoscaler-config\n"
    "data:\n"
    "  gpt2: |\n"
    "    - name: tgi_request_metric\n"
    "      query: increase(tgi_request_mean_time_per_token_duration_sum{pod=\"%s\"}[1m])/increase(tgi_request_mean_time_per_token_duration_count{pod=\"%s\"}[1m])\n"
    "      slo: 0.5\n"
    "      scaleDownFactor: 0.5\n"
    "      scaleUpFactor: 1.5\n";

static char config_path[] = "/tmp/ksiss-query-cfg-XXXXXX";

static int write_config(void **state)
{
    (void)state;
    int fd = mkstemp(config_path);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, config_yaml, sizeof(config_yaml) - 1);
    close(fd);
    return n == (ssize_t)(sizeof(config_yaml) - 1) ? 0 : -1;
}

static int remove_config(void **state)
{
    (void)state;
    unlink(config_path);
    return 0;
}

static char *slurp_and_remove(const char *path)
{
    size_t len = 0;
    char *e = NULL;
    char *text = ksiss_read_file(path, 1 << 20, &len, &e);
    free(e);
    unlink(path);
    return text;
}

/* Runs the command with stderr captured into *err and stdout into *out
 * (when not NULL; caller frees both). */
static int run_query_out(const char *const *args, size_t n, char **err, char **out)
{
    char *argv[32];
    argv[0] = "query";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = (char *)args[i];
    argv[n + 1] = NULL;
    fflush(stderr);
    fflush(stdout);
    char path[] = "/tmp/ksiss-query-err-XXXXXX", opath[] = "/tmp/ksiss-query-out-XXXXXX";
    int fd = mkstemp(path), ofd = mkstemp(opath);
    int saved_err = dup(2), saved_out = dup(1);
    dup2(fd, 2);
    dup2(ofd, 1);
    int rc = ksiss_cmd_query((int)n + 1, argv);
    fflush(stderr);
    fflush(stdout);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(saved_err);
    close(saved_out);
    close(fd);
    close(ofd);
    *err = slurp_and_remove(path);
    char *o = slurp_and_remove(opath);
    if (out)
        *out = o;
    else
        free(o);
    return rc;
}

static int run_query(const char *const *args, size_t n, char **err)
{
    return run_query_out(args, n, err, NULL);
}

typedef struct {
    const char *what;
    const char *args[8];
    int rc;
    const char *message;
} cmd_case;

#define CFG "@config"   /* replaced by the temporary config's path */

static const cmd_case cases[] = {
    {"--config is required", {"--service", "gpt2"}, KSISS_EXIT_USAGE, "--config and --service are required"},
    {"--service is required", {"--config", CFG}, KSISS_EXIT_USAGE, "--config and --service are required"},
    {"unknown argument", {"--config", CFG, "--service", "gpt2", "--frobnicate"}, KSISS_EXIT_USAGE, "unknown argument '--frobnicate'"},
    {"option without its value", {"--config", CFG, "--service"}, KSISS_EXIT_USAGE, "--service needs a value"},
    {"empty pod name", {"--config", CFG, "--service", "gpt2", "--pods", "a,,b"}, KSISS_EXIT_USAGE, "empty pod name"},
    {"bad interval", {"--config", CFG, "--service", "gpt2", "--interval", "often"}, KSISS_EXIT_USAGE, "--interval 'often'"},
    {"Prometheus URL that is not http", {"--config", CFG, "--service", "gpt2", "--prometheus", "ftp://x"}, KSISS_EXIT_USAGE,
     "must start with http:// or https://"},
    {"Prometheus URL without a host", {"--config", CFG, "--service", "gpt2", "--prometheus", "http://"}, KSISS_EXIT_USAGE,
     "--prometheus: the Prometheus URL 'http://' has no host"},
    {"Prometheus URL with a query string", {"--config", CFG, "--service", "gpt2", "--prometheus", "http://127.0.0.1:1/?a=b"},
     KSISS_EXIT_USAGE, "must not have a query string"},
    {"unreadable config file", {"--config", "/nonexistent/ksiss.yaml", "--service", "gpt2", "--prometheus", "http://127.0.0.1:1"},
     KSISS_EXIT_RUNTIME, "/nonexistent/ksiss.yaml: cannot open"},
    {"unknown service", {"--config", CFG, "--service", "llama", "--prometheus", "http://127.0.0.1:1"}, KSISS_EXIT_PROBLEM,
     "no entry for service 'llama'"},
    {"per-pod metric without pods or cluster",
     {"--config", CFG, "--service", "gpt2", "--prometheus", "http://127.0.0.1:1", "--kubeconfig", "/nonexistent/kubeconfig"},
     KSISS_EXIT_PROBLEM, "metric tgi_request_metric: no usable value (the service has no pods to read); give the pods with --pods"},
    {"no cluster is a warning naming it",
     {"--config", CFG, "--service", "gpt2", "--prometheus", "http://127.0.0.1:1", "--kubeconfig", "/nonexistent/kubeconfig"},
     KSISS_EXIT_PROBLEM, "no --pods and no cluster to list them from"},
};

static void test_exit_codes_and_messages(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_(cases); i++) {
        const cmd_case *c = &cases[i];
        const char *args[8];
        size_t n = 0;
        for (; n < 8 && c->args[n]; n++)
            args[n] = !strcmp(c->args[n], CFG) ? config_path : c->args[n];
        char *err = NULL;
        int rc = run_query(args, n, &err);
        if (rc != c->rc)
            fail_msg("%s: rc %d, want %d (%s)", c->what, rc, c->rc, err ? err : "");
        if (!err || !strstr(err, c->message))
            fail_msg("%s: stderr '%s' lacks '%s'", c->what, err ? err : "", c->message);
        free(err);
    }
}

static void test_unreachable_prometheus_names_the_metric_and_the_cause(void **state)
{
    (void)state;
    /* A port that was free a moment ago: nothing listens there. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    close(fd);
    char *url = ksiss_xasprintf("http://127.0.0.1:%d", ntohs(sa.sin_port));
    const char *args[] = {"--config", config_path, "--service", "gpt2", "--pods", "gpt2-a,gpt2-b", "--prometheus", url};
    char *err = NULL;
    assert_int_equal(run_query(args, N_(args), &err), KSISS_EXIT_PROBLEM);
    char *want = ksiss_xasprintf("metric tgi_request_metric: cannot reach Prometheus at %s/api/v1/query", url);
    if (!strstr(err, want))
        fail_msg("stderr '%s' lacks '%s'", err, want);
    free(want);
    free(err);
    free(url);
}

static void test_without_pods_the_running_pods_come_from_the_cluster(void **state)
{
    (void)state;
    fake_server *fs = fake_start();
    assert_non_null(fs);
    fake_add(fs, "GET", "/apis/serving.knative.dev/v1/namespaces/ml/services/gpt2", 200,
             "{\"metadata\":{\"name\":\"gpt2\",\"namespace\":\"ml\"},"
             "\"status\":{\"latestReadyRevisionName\":\"gpt2-00002\"}}", NULL);
    fake_add(fs, "GET", "/apis/serving.knative.dev/v1/namespaces/ml/revisions", 200,
             "{\"kind\":\"RevisionList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"gpt2-00002\"}}]}", NULL);
    fake_add(fs, "GET", "/api/v1/namespaces/ml/pods", 200,
             "{\"kind\":\"PodList\",\"metadata\":{},\"items\":["
             "{\"metadata\":{\"name\":\"gpt2-00002-deployment-x\"},\"status\":{\"phase\":\"Running\"}},"
             "{\"metadata\":{\"name\":\"gpt2-00002-deployment-y\"},\"status\":{\"phase\":\"Pending\"}}]}", NULL);
    char kpath[] = "/tmp/ksiss-kubeconfig-XXXXXX";
    int fd = mkstemp(kpath);
    char *kc = ksiss_xasprintf("apiVersion: v1\nkind: Config\ncurrent-context: t\n"
                               "clusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:%u\n"
                               "contexts:\n- name: t\n  context:\n    cluster: c\n    user: u\n    namespace: ml\n"
                               "users:\n- name: u\n  user:\n    token: abc\n", fs->port);
    assert_int_equal(write(fd, kc, strlen(kc)), (ssize_t)strlen(kc));
    close(fd);
    const char *args[] = {"--config", config_path, "--service", "gpt2", "--prometheus", "http://127.0.0.1:1",
                          "--kubeconfig", kpath, "--json"};
    char *err = NULL, *out = NULL;
    assert_int_equal(run_query_out(args, N_(args), &err, &out), KSISS_EXIT_PROBLEM);
    if (!strstr(err, "1 Running pod of ml/gpt2"))
        fail_msg("stderr: %s", err);
    if (!strstr(out, "\"gpt2-00002-deployment-x\": null") || strstr(out, "deployment-y") ||
        !strstr(out, "\"namespace\": \"ml\""))
        fail_msg("stdout: %s", out);
    free(err);
    free(out);
    free(kc);
    unlink(kpath);
    fake_stop(fs);
}

static void test_help_exits_zero(void **state)
{
    (void)state;
    const char *args[] = {"--help"};
    char *err = NULL;
    assert_int_equal(run_query(args, 1, &err), KSISS_EXIT_OK);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_codes_and_messages),
        cmocka_unit_test(test_unreachable_prometheus_names_the_metric_and_the_cause),
        cmocka_unit_test(test_without_pods_the_running_pods_come_from_the_cluster),
        cmocka_unit_test(test_help_exits_zero),
    };
    return cmocka_run_group_tests(tests, write_config, remove_config);
}
