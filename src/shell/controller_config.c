/* controller_config.c: the configuration `ksiss run` works under: which
 * Knative Services it manages (IGNORE_LIST, then the ConfigMap's entries),
 * the ConfigMap read again whenever its watch says it changed (the last
 * good one stays in force; an invalid one is logged and reported in an
 * InvalidConfiguration Event once this replica leads), and the reference
 * count of a parsed configuration (cfg_bundle). */
#include "shell/controller_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/json_path.h"
#include "core/util.h"
#include "shell/log.h"

const ksiss_service_cfg *ksiss_controller_match(const ksiss_config *cfg, const ksiss_env *env, const char *name,
                                                bool *by_prefix, const char **skip)
{
    *by_prefix = false;
    *skip = ksiss_env_ignored(env, name);
    if (*skip)
        return NULL;
    return cfg ? ksiss_config_find(cfg, name, by_prefix) : NULL;
}

cfg_bundle *ksiss_ctl_cfg_ref(cfg_bundle *b)
{
    if (b)
        ksiss_ctl_ref(&b->refs);
    return b;
}

void ksiss_ctl_cfg_unref(cfg_bundle *b)
{
    if (!b || !ksiss_ctl_unref(&b->refs))
        return;
    ksiss_config_free(&b->cfg);
    ksiss_catalog_free(&b->cat);
    free(b);
}

void ksiss_ctl_config_event_clear(controller *c)
{
    free(c->cfg_event);
    free(c->cfg_event_uid);
    c->cfg_event = c->cfg_event_uid = NULL;
}

/* Records the pending InvalidConfiguration Event on the ConfigMap. Only
 * the leader writes (the write guard): a configuration loaded before this
 * replica leads keeps its Event pending until it does. */
void ksiss_ctl_config_event_record(controller *c)
{
    if (!c->cfg_event || !c->events)
        return;
    ksiss_kube_object_ref ref = {.api_version = "v1", .kind = "ConfigMap", .ns = c->ns,
                                 .name = c->env.config_map_name, .uid = c->cfg_event_uid};
    int rc = ksiss_events_emit(c->events, &ref, "Warning", "InvalidConfiguration", c->cfg_event, NULL);
    if (rc != KSISS_KUBE_E_NOT_LEADER)
        ksiss_ctl_config_event_clear(c);
}

/* Parses the ConfigMap object; returns a new bundle or NULL (logged, and
 * an Event on the ConfigMap once leading). */
static cfg_bundle *load_configmap(controller *c, const json_t *cm)
{
    cfg_bundle *b = ksiss_xcalloc(1, sizeof(*b));
    b->refs = 1;
    b->gen = ++c->cfg_loads;
    ksiss_catalog_builtin(&b->cat);
    ksiss_diags d;
    ksiss_diags_init(&d);
    char *source = ksiss_xasprintf("configmap %s/%s", c->ns, c->env.config_map_name);
    int rc = ksiss_config_parse_configmap_json(cm, source, &b->cat, &b->cfg, &d);
    if (rc != 0) {
        ksiss_strbuf sb;
        ksiss_sb_init(&sb, 4096);
        for (size_t j = 0; j < d.n; j++) {
            char *line = ksiss_diag_format(&d.v[j]);
            ksiss_log("error", "invalid configuration", "configmap", c->env.config_map_name, "problem", line, NULL);
            if (j)
                ksiss_sb_puts(&sb, "; ");
            ksiss_sb_puts(&sb, line);
            free(line);
        }
        ksiss_ctl_config_event_clear(c);
        c->cfg_event = ksiss_xasprintf("invalid configuration, the last good one stays in force: %s",
                                       ksiss_sb_str(&sb));
        c->cfg_event_uid = ksiss_xstrdup(ksiss_json_str(cm, "metadata", "uid", NULL));
        ksiss_ctl_config_event_record(c);
        ksiss_sb_free(&sb);
        ksiss_config_free(&b->cfg);
        ksiss_catalog_free(&b->cat);
        free(b);
        b = NULL;
    } else {
        ksiss_ctl_config_event_clear(c);
        char nsvc[24];
        snprintf(nsvc, sizeof(nsvc), "%zu", b->cfg.n_services);
        ksiss_log("info", "configuration loaded", "source", source, "services", nsvc, NULL);
    }
    free(source);
    ksiss_diags_free(&d);
    return b;
}

/* Reads the ConfigMap again when its watch changed (and at the first tick
 * while no configuration is in force): a valid one replaces c->cfg. */
void ksiss_ctl_config_refresh(controller *c, int tick)
{
    uint64_t g = ksiss_kube_informer_generation(c->inf_cm);
    if (!ksiss_kube_informer_synced(c->inf_cm) || !(g != c->cm_gen || (!c->cfg && tick == 0)))
        return;
    c->cm_gen = g;
    json_t *cm = ksiss_kube_informer_get(c->inf_cm, c->ns, c->env.config_map_name);
    if (!cm) {
        ksiss_log("warn", "configmap not found: nothing is managed", "configmap", c->env.config_map_name,
                  "namespace", c->ns, NULL);
        return;
    }
    cfg_bundle *nb = load_configmap(c, cm);
    if (nb) {
        ksiss_ctl_cfg_unref(c->cfg);
        c->cfg = nb;
    } else if (c->cfg) {
        ksiss_log("warn", "keeping the last good configuration", NULL);
    }
    json_decref(cm);
}
