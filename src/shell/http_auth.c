/* http_auth.c: credentials on the shell's outgoing HTTP requests: checked
 * header additions, header lists wiped before they are freed, and the
 * once-per-process warning when a token or password would travel over
 * plain http:// (see http_auth.h). */
#include "shell/http_auth.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/util.h"
#include "shell/log.h"

bool ksiss_headers_add(struct curl_slist **h, const char *line)
{
    struct curl_slist *n = curl_slist_append(*h, line);
    if (!n)
        return false;
    *h = n;
    return true;
}

void ksiss_headers_free(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        if (p->data)
            ksiss_wipe(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static const char *const dest_names[KSISS_DEST_N_] = {
    [KSISS_DEST_KUBERNETES] = "the Kubernetes API server",
    [KSISS_DEST_PROMETHEUS] = "Prometheus",
};

static int warned[KSISS_DEST_N_];

bool ksiss_warn_cleartext_credentials(ksiss_dest dest, const char *url)
{
    if ((unsigned)dest >= KSISS_DEST_N_ || !url || strncasecmp(url, "http://", 7) != 0)
        return false;
    if (__atomic_exchange_n(&warned[dest], 1, __ATOMIC_ACQ_REL))
        return false;
    char *shown = ksiss_url_redact(url);
    ksiss_log("warn",
              "credentials are sent over plain http: anyone on the path can read them (use https; "
              "said once per process)",
              "destination", dest_names[dest], "url", shown ? shown : "(unprintable)", NULL);
    free(shown);
    return true;
}
