/* http_auth.h: credentials on the shell's outgoing HTTP requests (the
 * Kubernetes API in kube.c, Prometheus in prom_client.c): header lists whose
 * additions are checked and whose lines are wiped when freed, and the
 * warning, once per process and kind of destination, when a token or
 * password would be sent over plain http://. */
#ifndef KSISS_HTTP_AUTH_H
#define KSISS_HTTP_AUTH_H

#include <stdbool.h>

#include <curl/curl.h>

/* Appends a copy of `line` to *h. false when libcurl could not (out of
 * memory): *h is left as it was (the caller still frees it) and the
 * request must not go out incomplete (without its Authorization, say). */
bool ksiss_headers_add(struct curl_slist **h, const char *line);

/* Wipes every line of h (they may hold "Authorization: Bearer ..."), then
 * frees the list. NULL is fine. */
void ksiss_headers_free(struct curl_slist *h);

typedef enum {
    KSISS_DEST_KUBERNETES,
    KSISS_DEST_PROMETHEUS,
    KSISS_DEST_N_
} ksiss_dest;

/* Called before credentials go to `url`: when it is http:// (any case),
 * logs one warning naming the destination and the URL (redacted), the
 * first time for this kind of destination in this process; nothing
 * otherwise. Thread-safe. Returns whether it warned now. */
bool ksiss_warn_cleartext_credentials(ksiss_dest dest, const char *url);

#endif
