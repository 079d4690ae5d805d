/* kubeconfig.h: reads a kubeconfig file (the kubectl format) into a
 * ksiss_kube_config: the current (or named) context, its cluster's server,
 * certificate-authority(-data), insecure-skip-tls-verify, and its user's
 * token / tokenFile / client-certificate(-data) / client-key(-data).
 * exec and auth-provider plugins are refused with a clear "not supported".
 * Relative file paths are relative to the kubeconfig's directory, as kubectl
 * does. Every problem is reported as FILE:LINE:COLUMN: message. */
#ifndef KSISS_KUBECONFIG_H
#define KSISS_KUBECONFIG_H

#include <stddef.h>

#include "core/diag.h"
#include "shell/kube.h"

/* Parses kubeconfig text (len bytes). `file` names it in diagnostics and
 * `base_dir` resolves relative paths (NULL = "."). `context` NULL = the
 * file's current-context. Fills *cfg (caller frees with
 * ksiss_kube_config_free) and returns 0; or returns -1 with every problem
 * in *d and *cfg zeroed. No I/O except base64 decoding of *-data fields. */
int ksiss_kubeconfig_parse(const char *text, size_t len, const char *file, const char *base_dir,
                           const char *context, ksiss_kube_config *cfg, ksiss_diags *d);

/* Reads and parses the file at `path`. Returns 0, or -1 and *err (caller
 * frees): the diagnostics, one per line. */
int ksiss_kubeconfig_load_file(const char *path, const char *context, ksiss_kube_config *cfg, char **err);

/* Standard base64 (padding optional, whitespace ignored) decoded into a
 * NUL-terminated buffer (caller frees), length in *out_len (may be NULL).
 * NULL for invalid input. */
char *ksiss_base64_decode(const char *s, size_t *out_len);

#endif
