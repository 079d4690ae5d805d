/* fuzz_catalog.c: libFuzzer target for catalogue extensions
 * (ksiss_catalog_extend, the `ksiss.catalog` document): any bytes extend a
 * copy of the built-in catalogue. A refused extension leaves the catalogue
 * exactly as it was; an accepted one leaves it whole (fuzz_common.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tiers.h"
#include "fuzz_common.h"

/* Same models and tiers, field by field (names, figures, ranks). */
static void check_same(const ksiss_catalog *a, const ksiss_catalog *b)
{
    FUZZ_CHECK(a->n_models == b->n_models && a->n_tiers == b->n_tiers,
               "a refused extension changed the catalogue: %zu/%zu models, %zu/%zu tiers", a->n_models, b->n_models,
               a->n_tiers, b->n_tiers);
    FUZZ_CHECK(!strcmp(a->default_model, b->default_model), "a refused extension changed the default model");
    for (size_t i = 0; i < a->n_models; i++)
        FUZZ_CHECK(!strcmp(a->models[i].name, b->models[i].name) && a->models[i].mem_gib == b->models[i].mem_gib &&
                       a->models[i].n_product_labels == b->models[i].n_product_labels,
                   "a refused extension changed model %s", a->models[i].name);
    for (size_t i = 0; i < a->n_tiers; i++) {
        const ksiss_tier *x = &a->tiers[i], *y = &b->tiers[i];
        FUZZ_CHECK(!strcmp(x->name, y->name) && !strcmp(x->resource, y->resource) && x->count == y->count &&
                       x->rank == y->rank && x->in_ladder == y->in_ladder && x->cost == y->cost &&
                       !strcmp(x->gpu_model, y->gpu_model),
                   "a refused extension changed tier %s of %s", x->name, x->gpu_model);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = ksiss_fuzz_text(data, size);
    ksiss_catalog cat;
    const ksiss_catalog *orig = ksiss_fuzz_builtin();
    ksiss_catalog_copy(&cat, orig);
    ksiss_diags d;
    ksiss_diags_init(&d);
    int rc = ksiss_catalog_extend(&cat, text, size, "fuzz-catalog.yaml", 0, 0, &d);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    size_t n = ksiss_fuzz_check_diags(&d);
    if (rc == 0) {
        ksiss_fuzz_check_catalog(&cat);
    } else {
        FUZZ_CHECK(n > 0, "refused without a diagnostic");
        check_same(&cat, orig);
    }
    ksiss_diags_free(&d);
    ksiss_catalog_free(&cat);
    free(text);
    return 0;
}
