/* kubeconfig.c: kubeconfig (kubectl's format) to ksiss_kube_config, parsed
 * with the positioned YAML tree so every problem names file, line and
 * column. Only what K-SISS needs is read; credential plugins (exec,
 * auth-provider), basic auth and proxies are refused, never ignored. */
#include "shell/kubeconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/yaml_tree.h"
#include "shell/kube_internal.h"


char *ksiss_base64_decode(const char *s, size_t *out_len)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *out = ksiss_xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    int pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int v;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        if (pad)
            goto bad;       /* data after padding */
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            goto bad;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    /* 6 leftover bits can never come from whole bytes. */
    if (bits >= 6 || pad > 2)
        goto bad;
    out[o] = '\0';
    if (out_len)
        *out_len = o;
    return out;
bad:
    free(out);
    return NULL;
}

/* Finds the entry named `name` in a list of {name:, <inner>: {...}}. */
static const ksiss_ynode *find_named(const ksiss_ynode *list, const char *inner, const char *name,
                                     const char *file, const char *what, ksiss_diags *d)
{
    if (!list || ksiss_y_is_null(list))
        return NULL;
    if (list->kind != KSISS_Y_SEQ) {
        ksiss_diags_add(d, file, list->pos, "%s: expected a list, got %s", what, ksiss_y_kind_name(list));
        return NULL;
    }
    for (size_t i = 0; i < list->n; i++) {
        const ksiss_ynode *e = list->items[i];
        if (e->kind != KSISS_Y_MAP) {
            ksiss_diags_add(d, file, e->pos, "%s: each entry must be a mapping with name and %s", what, inner);
            continue;
        }
        const ksiss_ynode *nm = ksiss_ymap_get(e, "name");
        if (nm && nm->kind == KSISS_Y_SCALAR && nm->scalar && !strcmp(nm->scalar, name)) {
            const ksiss_ynode *in = ksiss_ymap_get(e, inner);
            if (!in || in->kind != KSISS_Y_MAP) {
                ksiss_diags_add(d, file, e->pos, "%s \"%s\": missing \"%s\" mapping", what, name, inner);
                return NULL;
            }
            return in;
        }
    }
    return NULL;
}

/* Position of `key` itself in a map (values of block mappings start on
 * the next line, the key is where the user looks). */
static ksiss_pos key_pos(const ksiss_ynode *map, const char *key)
{
    for (size_t i = 0; map && map->kind == KSISS_Y_MAP && i < map->n; i++)
        if (map->keys[i]->scalar && !strcmp(map->keys[i]->scalar, key))
            return map->keys[i]->pos;
    return map ? map->pos : (ksiss_pos){0, 0};
}

/* Optional string field; 0 = absent or read, -1 = wrong type (reported). */
static int opt_string(const ksiss_ynode *map, const char *key, const char *file, const char *what,
                      const char **out, ksiss_diags *d)
{
    *out = NULL;
    const ksiss_ynode *n = ksiss_ymap_get(map, key);
    if (!n || ksiss_y_is_null(n))
        return 0;
    char *w = ksiss_xasprintf("%s: %s", what, key);
    int rc = ksiss_y_string(n, file, w, out, d);
    free(w);
    return rc;
}

static char *resolve_path(const char *base_dir, const char *p)
{
    if (p[0] == '/' || !base_dir || !*base_dir)
        return ksiss_xstrdup(p);
    return ksiss_xasprintf("%s/%s", base_dir, p);
}

static char *decode_field(const ksiss_ynode *map, const char *key, const char *file, const char *what,
                          ksiss_diags *d)
{
    const char *v = NULL;
    if (opt_string(map, key, file, what, &v, d) < 0 || !v)
        return NULL;
    char *out = ksiss_base64_decode(v, NULL);
    if (!out)
        ksiss_diags_add(d, file, ksiss_ymap_get(map, key)->pos, "%s: %s is not valid base64", what, key);
    return out;
}

int ksiss_kubeconfig_parse(const char *text, size_t len, const char *file, const char *base_dir,
                           const char *context, ksiss_kube_config *cfg, ksiss_diags *d)
{
    memset(cfg, 0, sizeof *cfg);
    size_t start_n = d->n + d->dropped;
    ksiss_ynode **docs = NULL;
    size_t n_docs = 0;
    if (!base_dir)
        base_dir = ".";
    if (ksiss_yaml_parse(text, len, file, 0, 0, &docs, &n_docs, d) < 0 && n_docs == 0) {
        ksiss_ynodes_free(docs, n_docs);
        return -1;
    }
    ksiss_pos top = {1, 1};
    if (n_docs != 1 || !docs[0] || docs[0]->kind != KSISS_Y_MAP) {
        ksiss_diags_add(d, file, n_docs ? docs[0]->pos : top, "kubeconfig: expected one YAML mapping (kind: Config)");
        ksiss_ynodes_free(docs, n_docs);
        return -1;
    }
    const ksiss_ynode *root = docs[0];
    const char *kind = NULL;
    opt_string(root, "kind", file, "kubeconfig", &kind, d);
    if (kind && strcmp(kind, "Config") != 0)
        ksiss_diags_add(d, file, ksiss_ymap_get(root, "kind")->pos, "kubeconfig: kind is \"%s\", expected \"Config\"",
                        kind);
    const char *ctx_name = context;
    const ksiss_ynode *ccn = ksiss_ymap_get(root, "current-context");
    if (!ctx_name) {
        if (opt_string(root, "current-context", file, "kubeconfig", &ctx_name, d) < 0)
            goto out;
        if (!ctx_name || !*ctx_name) {
            ksiss_diags_add(d, file, ccn ? ccn->pos : root->pos,
                            "kubeconfig: no current-context (set one, or name a context)");
            goto out;
        }
    }
    const ksiss_ynode *ctx = find_named(ksiss_ymap_get(root, "contexts"), "context", ctx_name, file, "contexts", d);
    if (!ctx) {
        ksiss_diags_add(d, file, ccn && !context ? ccn->pos : root->pos, "kubeconfig: context \"%s\" not found",
                        ctx_name);
        goto out;
    }
    const char *cluster_name = NULL, *user_name = NULL, *ns = NULL;
    char *what = ksiss_xasprintf("context \"%s\"", ctx_name);
    opt_string(ctx, "cluster", file, what, &cluster_name, d);
    opt_string(ctx, "user", file, what, &user_name, d);
    opt_string(ctx, "namespace", file, what, &ns, d);
    if (!cluster_name)
        ksiss_diags_add(d, file, ctx->pos, "%s: no cluster", what);
    free(what);
    if (!cluster_name)
        goto out;

    const ksiss_ynode *cl = find_named(ksiss_ymap_get(root, "clusters"), "cluster", cluster_name, file, "clusters", d);
    if (!cl) {
        ksiss_diags_add(d, file, ksiss_ymap_get(ctx, "cluster")->pos, "kubeconfig: cluster \"%s\" not found",
                        cluster_name);
        goto out;
    }
    what = ksiss_xasprintf("cluster \"%s\"", cluster_name);
    const char *server = NULL, *ca = NULL, *proxy = NULL;
    opt_string(cl, "server", file, what, &server, d);
    if (!server || !*server)
        ksiss_diags_add(d, file, cl->pos, "%s: no server", what);
    else if (!ksiss_str_has_prefix(server, "https://") && !ksiss_str_has_prefix(server, "http://"))
        ksiss_diags_add(d, file, ksiss_ymap_get(cl, "server")->pos, "%s: server \"%s\" is not an http(s) URL", what,
                        server);
    else
        cfg->server = ksiss_xstrdup(server);
    opt_string(cl, "certificate-authority", file, what, &ca, d);
    if (ca)
        cfg->ca_file = resolve_path(base_dir, ca);
    cfg->ca_pem = decode_field(cl, "certificate-authority-data", file, what, d);
    const ksiss_ynode *insecure = ksiss_ymap_get(cl, "insecure-skip-tls-verify");
    if (insecure && !ksiss_y_is_null(insecure)) {
        char *w = ksiss_xasprintf("%s: insecure-skip-tls-verify", what);
        ksiss_y_bool(insecure, file, w, &cfg->insecure_skip_tls_verify, d);
        free(w);
    }
    opt_string(cl, "proxy-url", file, what, &proxy, d);
    if (proxy)
        ksiss_diags_add(d, file, ksiss_ymap_get(cl, "proxy-url")->pos, "%s: proxy-url is not supported", what);
    if (ksiss_ymap_get(cl, "tls-server-name"))
        ksiss_diags_add(d, file, ksiss_ymap_get(cl, "tls-server-name")->pos, "%s: tls-server-name is not supported",
                        what);
    free(what);

    if (user_name) {
        const ksiss_ynode *u = find_named(ksiss_ymap_get(root, "users"), "user", user_name, file, "users", d);
        if (!u) {
            ksiss_diags_add(d, file, ksiss_ymap_get(ctx, "user")->pos, "kubeconfig: user \"%s\" not found",
                            user_name);
            goto out;
        }
        what = ksiss_xasprintf("user \"%s\"", user_name);
        static const char *const unsupported[] = {"exec", "auth-provider", "username", "password",
                                                  "as", "as-groups", NULL};
        for (size_t i = 0; unsupported[i]; i++) {
            const ksiss_ynode *x = ksiss_ymap_get(u, unsupported[i]);
            if (x && !ksiss_y_is_null(x))
                ksiss_diags_add(d, file, key_pos(u, unsupported[i]),
                                "%s: \"%s\" is not supported (use a token, tokenFile or client certificate; "
                                "e.g. a service account token)",
                                what, unsupported[i]);
        }
        const char *tok = NULL, *tokfile = NULL, *cert = NULL, *key = NULL;
        opt_string(u, "token", file, what, &tok, d);
        opt_string(u, "tokenFile", file, what, &tokfile, d);
        opt_string(u, "client-certificate", file, what, &cert, d);
        opt_string(u, "client-key", file, what, &key, d);
        if (tok)
            cfg->token = ksiss_xstrdup(tok);
        if (tokfile)
            cfg->token_file = resolve_path(base_dir, tokfile);
        if (cert)
            cfg->client_cert_file = resolve_path(base_dir, cert);
        if (key)
            cfg->client_key_file = resolve_path(base_dir, key);
        cfg->client_cert_pem = decode_field(u, "client-certificate-data", file, what, d);
        cfg->client_key_pem = decode_field(u, "client-key-data", file, what, d);
        if ((cfg->client_cert_file || cfg->client_cert_pem) != (cfg->client_key_file || cfg->client_key_pem))
            ksiss_diags_add(d, file, u->pos, "%s: a client certificate needs a client key and vice versa", what);
        free(what);
    }
    cfg->namespace = ksiss_xstrdup(ns && *ns ? ns : "default");
    cfg->source = ksiss_xasprintf("%s (context %s)", file, ctx_name);
out:
    ksiss_ynodes_free(docs, n_docs);
    if (d->n + d->dropped != start_n) {
        ksiss_kube_config_free(cfg);
        return -1;
    }
    return 0;
}

int ksiss_kubeconfig_load_file(const char *path, const char *context, ksiss_kube_config *cfg, char **err)
{
    memset(cfg, 0, sizeof *cfg);
    char *e = NULL;
    char *text = ksiss_kube__read_small_file(path, false, &e);
    if (!text) {
        *err = ksiss_xasprintf("kubeconfig %s", e);
        free(e);
        return -1;
    }
    char *dir = ksiss_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else {
        free(dir);
        dir = ksiss_xstrdup(".");
    }
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_kubeconfig_parse(text, strlen(text), path, dir, context, cfg, &d);
    free(dir);
    free(text);
    if (rc < 0) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 0);
        for (size_t i = 0; i < d.n; i++) {
            char *m = ksiss_diag_format(&d.v[i]);
            if (i)
                ksiss_sb_putc(&sb, '\n');
            ksiss_sb_puts(&sb, m);
            free(m);
        }
        if (d.n == 0)
            ksiss_sb_printf(&sb, "%s: invalid kubeconfig", path);
        *err = ksiss_sb_take(&sb);
    }
    ksiss_diags_free(&d);
    return rc;
}
