/* sim_score.h: the rules the evaluation suite (`make sim-suite`,
 * docs/simulator.md "The evaluation suite") judges `ksiss` by, on one case's
 * results: never dominated by a baseline, the attainment floor of its class,
 * and, for a case with jittered timestamps, stability against its unjittered
 * base. Pure: figures in, verdict out. */
#ifndef KSISS_SIM_SCORE_H
#define KSISS_SIM_SCORE_H

#include <stdbool.h>

/* Which attainment floor applies (issue 16, "Done when"). */
typedef enum {
    KSISS_SCORE_REAL = 0,   /* real traces, ramps, diurnal: >= min(99%, oracle) - 1 point */
    KSISS_SCORE_SPIKE,      /* bursts, steps, flash crowds: >= horizontal - 0.5 points */
} ksiss_score_class;

/* One policy's result on one case. */
typedef struct {
    bool present;
    double attainment;      /* fraction of requests within the SLO, 0..1 */
    double cost;            /* GPU-hours */
} ksiss_score_point;

enum { KSISS_SCORE_KSISS = 0, KSISS_SCORE_SEED, KSISS_SCORE_HORIZONTAL, KSISS_SCORE_STATIC,
       KSISS_SCORE_ORACLE, KSISS_SCORE_NPOL };

/* The policy names, in the order of the enum above. */
extern const char *const ksiss_score_policy[KSISS_SCORE_NPOL];

typedef struct {
    ksiss_score_class cls;
    ksiss_score_point p[KSISS_SCORE_NPOL];
    /* For a jittered case: `ksiss` on the same case without the jitter;
     * present == false otherwise. */
    ksiss_score_point base;
} ksiss_score_case;

/* The rules' thresholds, as the issue states them. */
#define KSISS_SCORE_DOMINANCE_POINTS 0.002   /* a baseline within 0.2 points of ksiss's attainment ... */
#define KSISS_SCORE_DOMINANCE_CHEAPER 0.02   /* ... and at least 2% cheaper dominates it */
#define KSISS_SCORE_REAL_CAP 0.99            /* real: >= min(0.99, oracle) - 1 point */
#define KSISS_SCORE_REAL_SLACK 0.01
#define KSISS_SCORE_COST_AIM 1.5             /* real: cost aim against the oracle (reported) */
#define KSISS_SCORE_SPIKE_SLACK 0.005        /* spike: >= horizontal - 0.5 points */
#define KSISS_SCORE_JITTER_COST 0.03         /* jitter: cost moves by less than 3% ... */
#define KSISS_SCORE_JITTER_POINTS 0.003      /* ... and attainment by less than 0.3 points */

typedef struct {
    bool meets;             /* every rule that applies holds */
    int dominated_by;       /* KSISS_SCORE_SEED/HORIZONTAL/STATIC, or -1 */
    bool floor_ok;          /* the class's attainment floor */
    double floor;           /* that floor (fraction); NAN when it cannot be evaluated */
    double cost_vs_oracle;  /* ksiss / oracle GPU-hours, NAN without an oracle */
    bool over_cost_aim;     /* real case above KSISS_SCORE_COST_AIM x the oracle (reported, not a rule) */
    bool jitter_checked;
    bool jitter_ok;
    double jitter_cost;     /* relative cost change against the base */
    double jitter_points;   /* attainment change against the base (fraction) */
    const char *why;        /* the first rule that failed, "" when none; static text */
} ksiss_score_verdict;

/* Judges one case. A case without `ksiss`, or without the policy its floor
 * refers to, does not meet the rules (why says what is missing). */
void ksiss_score_eval(const ksiss_score_case *c, ksiss_score_verdict *v);

/* The learned capacity (issue 17): `ksiss` without perGpu, or with one 2x
 * off, against `ksiss` with the true profile, both after the warm-up (the
 * first 10 minutes left out): at most 0.5 points less attainment and 10%
 * more GPU-hours. A report beside the rules above, not one of them. */
#define KSISS_SCORE_LEARN_POINTS 0.005
#define KSISS_SCORE_LEARN_COST 0.10

typedef struct {
    bool checked;           /* both points present */
    bool ok;                /* within both bounds */
    double points;          /* learned - profile attainment (fraction; negative: worse) */
    double cost;            /* learned / profile GPU-hours - 1 (positive: dearer) */
} ksiss_score_learn;

void ksiss_score_learned(const ksiss_score_point *profile, const ksiss_score_point *learned, ksiss_score_learn *out);

/* "real" or "spike"; parsing returns -1 for anything else. */
const char *ksiss_score_class_name(ksiss_score_class c);
int ksiss_score_class_parse(const char *s, ksiss_score_class *out);

#endif
