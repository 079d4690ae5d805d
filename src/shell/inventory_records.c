/* inventory_records.c: the GPU inventory from cached Node and Pod records,
 * one record parsed at a time (the control loop's free-GPU view). */
#include "shell/inventory_records.h"

#include <jansson.h>

const ksiss_kube_informer_opts KSISS_INVENTORY_NODES_INFORMER = {.res = &KSISS_KUBE_NODES,
                                                                 .transform = ksiss_kube_transform_node};
const ksiss_kube_informer_opts KSISS_INVENTORY_PODS_INFORMER = {.res = &KSISS_KUBE_PODS,
                                                                .transform = ksiss_kube_transform_pod};

int ksiss_inventory_from_records(const ksiss_catalog *cat, const ksiss_kobj_list *nodes,
                                 const ksiss_kobj_list *pods, ksiss_inventory *out)
{
    ksiss_inventory_builder ib;
    if (ksiss_inventory_begin(&ib, cat, NULL, out) != 0)
        return -1;
    for (size_t i = 0; nodes && i < nodes->n; i++) {
        json_t *node = ksiss_kobj_parse(nodes->v[i]);
        ksiss_inventory_add_node(&ib, node);
        json_decref(node);
    }
    for (size_t i = 0; pods && i < pods->n; i++) {
        json_t *pod = ksiss_kobj_parse(pods->v[i]);
        ksiss_inventory_add_pod(&ib, pod);
        json_decref(pod);
    }
    ksiss_inventory_end(&ib);
    return 0;
}
