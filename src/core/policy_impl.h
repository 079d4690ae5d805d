/* policy_impl.h: the decision functions of the policies in the table
 * (policy_table.c). Each has the ksiss_decide_fn signature of policy.h. */
#ifndef KSISS_POLICY_IMPL_H
#define KSISS_POLICY_IMPL_H

#include "core/policy.h"

/* Ours: load-based sizing corrected by SLO feedback, cheapest fitting
 * deployment, stabilization and cooldowns (docs/policy.md). */
int ksiss_policy_ksiss_decide(const ksiss_policy_input *in, ksiss_decision *out);

#endif
