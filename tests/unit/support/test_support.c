/* test_support.c: helpers shared by the unit tests (see test_support.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "core/util.h"
#include "test_support.h"

json_t *test_load_json(const char *dir, const char *name)
{
    char *path = dir ? ksiss_xasprintf("%s/%s", dir, name) : ksiss_xstrdup(name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s:%d: %s", path, e.line, e.text);
    free(path);
    return j;
}
