/* json_path.c: nested field access on jansson values (see json_path.h). */
#include "core/json_path.h"

const json_t *ksiss_json_path(const json_t *o, const char *a, const char *b, const char *c)
{
    /* json_object_get answers NULL for a NULL or non-object value. */
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

const char *ksiss_json_str(const json_t *o, const char *a, const char *b, const char *c)
{
    return json_string_value(ksiss_json_path(o, a, b, c));
}
