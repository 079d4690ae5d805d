/* fake_inference.c: a stand-in inference server for the Prometheus
 * integration test. It serves /metrics with vLLM- and TGI-named gauges,
 * counters and histograms whose rates and values come from a state file
 * the test writes (reread at every scrape), so the test knows exactly what
 * PromQL over them must return. Counters accumulate rate * elapsed time
 * (monotonic, so rate()/increase() see a steady rate).
 *
 * usage: fake_inference --state FILE --port-file FILE
 * State file, one "key value..." per line (missing keys are 0):
 *   running N            vllm:num_requests_running (gauge)
 *   waiting N            vllm:num_requests_waiting (gauge)
 *   gen_tokens_rate R    vllm:generation_tokens_total grows by R/s (counter)
 *   ttft_rate R          vllm:time_to_first_token_seconds observations/s
 *   ttft_cum F1 F2 F3 F4 cumulative share of them at le 0.1 0.25 0.5 1
 *   tgi_count_rate R     tgi_request_mean_time_per_token_duration observations/s
 *   tgi_mean S           their mean (the _sum grows by R*S per second)
 *   tgi_queue N          tgi_queue_size (gauge)
 *   ttft_mean S          mean of the TTFT observations (the _sum grows by ttft_rate*S per second;
 *                        0.3 when not given)
 *   req_rate R           vllm:request_success_total grows by R/s (counter)
 *   prompt_rate R        vllm:prompt_tokens_total grows by R/s (counter)
 *   tpot_rate R          vllm:time_per_output_token_seconds observations/s
 *   tpot_mean S          their mean
 *   tpot_name N          the name they are served under: 0 vllm:time_per_output_token_seconds
 *                        (vLLM before 0.11; the default), 1 vllm:inter_token_latency_seconds (0.13
 *                        on: the old name removed), 2 both with the same values (0.11-0.12)
 *   prompt_len L1 [F L2] vllm:request_prompt_tokens, a histogram observed at req_rate: a share F
 *                        (default 1) of the prompts L1 tokens long, the rest L2; vLLM's 1-2-5
 *                        buckets at max_model_len 8192 (le 1 .. 5000, +Inf); none when not given;
 *                        the same prompts also as TGI's tgi_request_input_length: the router's
 *                        100 linear buckets up to max_input_tokens (4096 here), +Inf
 *   prefill_mean S       vllm:request_prefill_time_seconds, a histogram observed at req_rate with
 *                        mean S (a prompt's time from its scheduling to its first token), and
 *                        TGI's tgi_batch_forward_duration{method="prefill"} the same; none when
 *                        not given (a vLLM before the series)
 * Binds 127.0.0.1 on a free port and writes the port to --port-file. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"
#include "serve_port.h"

#if MHD_VERSION < 0x00097002
#define MHD_RESULT int
#else
#define MHD_RESULT enum MHD_Result
#endif

#define N_BUCKETS 4
static const char *const ttft_le[N_BUCKETS] = {"0.1", "0.25", "0.5", "1"};

typedef struct {
    double running, waiting, gen_tokens_rate, ttft_rate, ttft_cum[N_BUCKETS], tgi_count_rate, tgi_mean, tgi_queue;
    double ttft_mean, req_rate, prompt_rate, tpot_rate, tpot_mean, tpot_name, prefill_mean;
    double prompt_len[3];       /* L1, F, L2; L1 0: no histogram */
} state;

#define N_PROMPT_LE 12
static const double prompt_le[N_PROMPT_LE] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000};
/* TGI's router (router/src/server.rs): (max_input_tokens / 100) x (i + 1), i < 100 */
#define N_TGI_LE 100
#define TGI_MAX_INPUT 4096.0
static double tgi_le(int i)
{
    return TGI_MAX_INPUT / 100.0 * (i + 1);
}

typedef struct {
    const char *state_file;
    double last_s;
    double gen_tokens, ttft_count, ttft_sum, tgi_count, tgi_sum;
    double requests, prompt_tokens, tpot_count, tpot_sum, prefill_count, prefill_sum;
    double prompt_hist[N_PROMPT_LE + 1], prompt_hist_sum;  /* per bucket, not cumulative; the last +Inf */
    double tgi_hist[N_TGI_LE + 1];                           /* the same prompts in TGI's buckets */
} server;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void read_state(const char *path, state *st)
{
    memset(st, 0, sizeof(*st));
    st->ttft_mean = 0.3;
    size_t len = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *line = NULL;
    while (getline(&line, &len, f) > 0) {
        char key[64];
        double v[N_BUCKETS] = {0};
        int n = sscanf(line, "%63s %lf %lf %lf %lf", key, &v[0], &v[1], &v[2], &v[3]);
        if (n < 2)
            continue;
        if (!strcmp(key, "running")) st->running = v[0];
        else if (!strcmp(key, "waiting")) st->waiting = v[0];
        else if (!strcmp(key, "gen_tokens_rate")) st->gen_tokens_rate = v[0];
        else if (!strcmp(key, "ttft_rate")) st->ttft_rate = v[0];
        else if (!strcmp(key, "ttft_cum")) memcpy(st->ttft_cum, v, sizeof(v));
        else if (!strcmp(key, "tgi_count_rate")) st->tgi_count_rate = v[0];
        else if (!strcmp(key, "tgi_mean")) st->tgi_mean = v[0];
        else if (!strcmp(key, "tgi_queue")) st->tgi_queue = v[0];
        else if (!strcmp(key, "ttft_mean")) st->ttft_mean = v[0];
        else if (!strcmp(key, "req_rate")) st->req_rate = v[0];
        else if (!strcmp(key, "prompt_rate")) st->prompt_rate = v[0];
        else if (!strcmp(key, "tpot_rate")) st->tpot_rate = v[0];
        else if (!strcmp(key, "tpot_mean")) st->tpot_mean = v[0];
        else if (!strcmp(key, "tpot_name")) st->tpot_name = v[0];
        else if (!strcmp(key, "prefill_mean")) st->prefill_mean = v[0];
        else if (!strcmp(key, "prompt_len")) {
            st->prompt_len[0] = v[0];
            st->prompt_len[1] = n >= 3 ? v[1] : 1;
            st->prompt_len[2] = n >= 4 ? v[2] : 0;
        }
    }
    free(line);
    fclose(f);
}

static char *render(server *s)
{
    state st;
    read_state(s->state_file, &st);
    double t = now_s(), dt = t - s->last_s;
    s->last_s = t;
    s->gen_tokens += st.gen_tokens_rate * dt;
    s->ttft_count += st.ttft_rate * dt;
    s->ttft_sum += st.ttft_rate * dt * st.ttft_mean;
    s->requests += st.req_rate * dt;
    s->prompt_tokens += st.prompt_rate * dt;
    s->tpot_count += st.tpot_rate * dt;
    s->tpot_sum += st.tpot_rate * dt * st.tpot_mean;
    s->tgi_count += st.tgi_count_rate * dt;
    s->tgi_sum += st.tgi_count_rate * dt * st.tgi_mean;
    if (st.prefill_mean > 0) {
        s->prefill_count += st.req_rate * dt;
        s->prefill_sum += st.req_rate * dt * st.prefill_mean;
    }
    for (int k = 0; st.prompt_len[0] > 0 && k < 2; k++) {
        double len = st.prompt_len[k ? 2 : 0], share = k ? 1 - st.prompt_len[1] : st.prompt_len[1];
        if (!(share > 0) || !(len > 0))
            continue;
        int b = 0;
        while (b < N_PROMPT_LE && len > prompt_le[b])
            b++;
        s->prompt_hist[b] += st.req_rate * dt * share;
        s->prompt_hist_sum += st.req_rate * dt * share * len;
        int tb = 0;
        while (tb < N_TGI_LE && len > tgi_le(tb))
            tb++;
        s->tgi_hist[tb] += st.req_rate * dt * share;
    }

    ksiss_strbuf sb;
    ksiss_sb_init(&sb, 0);
    ksiss_sb_printf(&sb, "# HELP vllm:num_requests_running Requests on the GPU.\n"
                         "# TYPE vllm:num_requests_running gauge\n"
                         "vllm:num_requests_running{model_name=\"m\"} %.17g\n"
                         "# HELP vllm:num_requests_waiting Requests waiting.\n"
                         "# TYPE vllm:num_requests_waiting gauge\n"
                         "vllm:num_requests_waiting{model_name=\"m\"} %.17g\n"
                         "# HELP vllm:generation_tokens_total Generated tokens.\n"
                         "# TYPE vllm:generation_tokens_total counter\n"
                         "vllm:generation_tokens_total{model_name=\"m\"} %.17g\n"
                         "# HELP vllm:time_to_first_token_seconds Time to first token.\n"
                         "# TYPE vllm:time_to_first_token_seconds histogram\n",
                    st.running, st.waiting, s->gen_tokens);
    for (int b = 0; b < N_BUCKETS; b++)
        ksiss_sb_printf(&sb, "vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"%s\"} %.17g\n", ttft_le[b],
                        s->ttft_count * st.ttft_cum[b]);
    ksiss_sb_printf(&sb, "vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"+Inf\"} %.17g\n"
                         "vllm:time_to_first_token_seconds_sum{model_name=\"m\"} %.17g\n"
                         "vllm:time_to_first_token_seconds_count{model_name=\"m\"} %.17g\n"
                         "# HELP tgi_request_mean_time_per_token_duration Mean time per token.\n"
                         "# TYPE tgi_request_mean_time_per_token_duration histogram\n"
                         "tgi_request_mean_time_per_token_duration_bucket{le=\"+Inf\"} %.17g\n"
                         "tgi_request_mean_time_per_token_duration_sum %.17g\n"
                         "tgi_request_mean_time_per_token_duration_count %.17g\n"
                         "# HELP tgi_queue_size Queued requests.\n"
                         "# TYPE tgi_queue_size gauge\n"
                         "tgi_queue_size %.17g\n",
                    s->ttft_count, s->ttft_sum, s->ttft_count, s->tgi_count, s->tgi_sum, s->tgi_count, st.tgi_queue);
    ksiss_sb_printf(&sb, "# HELP vllm:request_success_total Requests finished.\n"
                         "# TYPE vllm:request_success_total counter\n"
                         "vllm:request_success_total{model_name=\"m\"} %.17g\n"
                         "# HELP vllm:prompt_tokens_total Prompt tokens processed.\n"
                         "# TYPE vllm:prompt_tokens_total counter\n"
                         "vllm:prompt_tokens_total{model_name=\"m\"} %.17g\n",
                    s->requests, s->prompt_tokens);
    static const char *const tpot_names[2] = {"vllm:time_per_output_token_seconds", "vllm:inter_token_latency_seconds"};
    for (int k = 0; k < 2; k++) {
        int which = (int)st.tpot_name;
        if (which != 2 && which != k)
            continue;
        const char *n = tpot_names[k];
        ksiss_sb_printf(&sb, "# HELP %s Time per output token.\n"
                             "# TYPE %s histogram\n"
                             "%s_bucket{model_name=\"m\",le=\"+Inf\"} %.17g\n"
                             "%s_sum{model_name=\"m\"} %.17g\n"
                             "%s_count{model_name=\"m\"} %.17g\n",
                        n, n, n, s->tpot_count, n, s->tpot_sum, n, s->tpot_count);
    }
    if (st.prefill_mean > 0)
        ksiss_sb_printf(&sb, "# HELP vllm:request_prefill_time_seconds Time in the prefill phase.\n"
                             "# TYPE vllm:request_prefill_time_seconds histogram\n"
                             "vllm:request_prefill_time_seconds_bucket{model_name=\"m\",le=\"+Inf\"} %.17g\n"
                             "vllm:request_prefill_time_seconds_sum{model_name=\"m\"} %.17g\n"
                             "vllm:request_prefill_time_seconds_count{model_name=\"m\"} %.17g\n"
                             "# HELP tgi_batch_forward_duration Batch forward duration.\n"
                             "# TYPE tgi_batch_forward_duration histogram\n"
                             "tgi_batch_forward_duration_bucket{method=\"prefill\",le=\"+Inf\"} %.17g\n"
                             "tgi_batch_forward_duration_sum{method=\"prefill\"} %.17g\n"
                             "tgi_batch_forward_duration_count{method=\"prefill\"} %.17g\n",
                        s->prefill_count, s->prefill_sum, s->prefill_count, s->prefill_count, s->prefill_sum,
                        s->prefill_count);
    if (st.prompt_len[0] > 0) {
        ksiss_sb_printf(&sb, "# HELP vllm:request_prompt_tokens Number of prefill tokens processed.\n"
                             "# TYPE vllm:request_prompt_tokens histogram\n");
        double cum = 0;
        for (int b = 0; b <= N_PROMPT_LE; b++) {
            cum += s->prompt_hist[b];
            if (b < N_PROMPT_LE)
                ksiss_sb_printf(&sb, "vllm:request_prompt_tokens_bucket{model_name=\"m\",le=\"%.1f\"} %.17g\n",
                                prompt_le[b], cum);
            else
                ksiss_sb_printf(&sb, "vllm:request_prompt_tokens_bucket{model_name=\"m\",le=\"+Inf\"} %.17g\n"
                                     "vllm:request_prompt_tokens_sum{model_name=\"m\"} %.17g\n"
                                     "vllm:request_prompt_tokens_count{model_name=\"m\"} %.17g\n",
                                cum, s->prompt_hist_sum, cum);
        }
        /* le as TGI's exporter writes it: the shortest form (%.15g here) */
        ksiss_sb_printf(&sb, "# HELP tgi_request_input_length Input token length per request\n"
                             "# TYPE tgi_request_input_length histogram\n");
        cum = 0;
        for (int b = 0; b <= N_TGI_LE; b++) {
            cum += s->tgi_hist[b];
            if (b < N_TGI_LE)
                ksiss_sb_printf(&sb, "tgi_request_input_length_bucket{le=\"%.15g\"} %.17g\n", tgi_le(b), cum);
            else
                ksiss_sb_printf(&sb, "tgi_request_input_length_bucket{le=\"+Inf\"} %.17g\n"
                                     "tgi_request_input_length_sum %.17g\n"
                                     "tgi_request_input_length_count %.17g\n",
                                cum, s->prompt_hist_sum, cum);
        }
    }
    return ksiss_sb_take(&sb);
}

static MHD_RESULT handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                         const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)method;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    char *body = strcmp(url, "/metrics") ? ksiss_xstrdup("not found\n") : render(cls);
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    MHD_RESULT rc = MHD_queue_response(c, strcmp(url, "/metrics") ? MHD_HTTP_NOT_FOUND : MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

int main(int argc, char **argv)
{
    server s = {0};
    const char *port_file = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--state"))
            s.state_file = argv[i + 1];
        else if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
    }
    if (!s.state_file || !port_file) {
        fprintf(stderr, "usage: fake_inference --state FILE --port-file FILE\n");
        return 2;
    }
    s.last_s = now_s();
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle, &s,
                                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "fake_inference: cannot listen\n");
        return 1;
    }
    if (itest_publish_port(d, port_file, "fake_inference", NULL) != 0) {
        MHD_stop_daemon(d);
        return 1;
    }
    itest_wait_for_signal();
    MHD_stop_daemon(d);
    return 0;
}
