/* fuzz_kubeconfig.c: libFuzzer target for the kubeconfig parser
 * (ksiss_kubeconfig_parse) and its base64 decoder. Checks that an accepted
 * kubeconfig gives a usable client configuration (an http(s) server, a
 * namespace, a source, absolute file paths) and that a refused one
 * says why with positioned diagnostics and leaves nothing behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shell/kubeconfig.h"
#include "fuzz_common.h"

static void check_zeroed(const ksiss_kube_config *c)
{
    FUZZ_CHECK(!c->server && !c->ca_file && !c->ca_pem && !c->token && !c->token_file && !c->client_cert_file &&
                   !c->client_key_file && !c->client_cert_pem && !c->client_key_pem && !c->namespace &&
                   !c->source && !c->insecure_skip_tls_verify,
               "a refused kubeconfig left fields set");
}

static void parse_one(const char *text, size_t len, const char *context)
{
    ksiss_kube_config cfg;
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_kubeconfig_parse(text, len, "fuzz.kubeconfig", "/nonexistent-fuzz-dir", context, &cfg, &d);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    size_t n = ksiss_fuzz_check_diags(&d);
    if (rc == 0) {
        FUZZ_CHECK(cfg.server && (!strncmp(cfg.server, "https://", 8) || !strncmp(cfg.server, "http://", 7)),
                   "accepted with server %s", cfg.server ? cfg.server : "(null)");
        FUZZ_CHECK(cfg.namespace && cfg.namespace[0], "accepted without a namespace");
        FUZZ_CHECK(cfg.source && cfg.source[0], "accepted without a source");
        /* Relative paths resolve against the kubeconfig's directory. */
        const char *paths[] = {cfg.ca_file, cfg.token_file, cfg.client_cert_file, cfg.client_key_file};
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            FUZZ_CHECK(!paths[i] || paths[i][0] == '/', "path %s is not resolved", paths[i]);
        ksiss_kube_config_free(&cfg);
    } else {
        FUZZ_CHECK(n > 0, "refused without a diagnostic");
        check_zeroed(&cfg);
    }
    ksiss_diags_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ksiss_fuzz_text(data, size);
    parse_one(text, size, NULL);
    parse_one(text, size, "lab");
    size_t out_len = 0;
    char *dec = ksiss_base64_decode(text, &out_len);
    if (dec) {
        FUZZ_CHECK(out_len <= size / 4 * 3 + 3, "%zu bytes decoded from %zu", out_len, size);
        FUZZ_CHECK(dec[out_len] == '\0', "decoded text not terminated");
        free(dec);
    }
    free(text);
    return 0;
}
