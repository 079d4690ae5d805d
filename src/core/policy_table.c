/* policy_table.c: the named table of decision policies. Add a policy by
 * writing a ksiss_decide_fn and one line here (README "Adding a policy"). */
#include <string.h>

#include "core/policy.h"
#include "core/policy_baselines.h"
#include "core/policy_impl.h"

const ksiss_policy ksiss_policies[] = {
    {"ksiss", "load-based sizing with SLO feedback, cheapest fitting tier, stabilization", ksiss_policy_ksiss_decide},
    {"seed", "the original K-SISS rule, defects included (baseline)", ksiss_policy_seed_decide},
    {"horizontal", "instances only on the current tier, like Knative's KPA (baseline)", ksiss_policy_horizontal_decide},
    {NULL, NULL, NULL},
};

const ksiss_policy *ksiss_policy_find(const char *name)
{
    if (!name)
        return NULL;
    for (const ksiss_policy *p = ksiss_policies; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}
