/* gen_trace.c: deterministic synthetic request traces for the simulator's
 * quality report and tests (JSON lines: timestamp ms, input_length,
 * output_length). Shapes: ramp (1 -> 10 req/s over the hour), burst (4 req/s
 * with two 5-minute bursts to 14 req/s), step (3 req/s, then 9 req/s from
 * minute 30). Token lengths are log-normal (median prompt ~700, output
 * ~150 tokens), like chat traffic. Same shape and seed: same bytes.
 * usage: gen_trace SHAPE [SEED] [MINUTES] > trace.jsonl */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static double uniform(void)
{
    /* xorshift64*: small, fast, reproducible everywhere */
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    uint64_t x = state * 2685821657736338717ULL;
    return ((x >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
    double u1 = uniform(), u2 = uniform();
    return sqrt(-2 * log(u1)) * cos(2 * 3.14159265358979323846 * u2);
}

static double rate_at(const char *shape, double t_min, double minutes)
{
    if (!strcmp(shape, "ramp"))
        return 1 + 9 * t_min / minutes;
    if (!strcmp(shape, "burst")) {
        bool in_burst = (t_min >= 20 && t_min < 25) || (t_min >= 40 && t_min < 45);
        return in_burst ? 14 : 4;
    }
    if (!strcmp(shape, "step"))
        return t_min < minutes / 2 ? 3 : 9;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_trace ramp|burst|step [SEED] [MINUTES]\n");
        return 2;
    }
    const char *shape = argv[1];
    state = argc > 2 ? strtoull(argv[2], NULL, 10) : 42;
    if (state == 0)
        state = 42;
    double minutes = argc > 3 ? strtod(argv[3], NULL) : 60;
    if (!(minutes > 0) || minutes > 24 * 60 || rate_at(shape, 0, minutes) < 0) {
        fprintf(stderr, "gen_trace: unknown shape or bad length\n");
        return 2;
    }
    double t = 0;
    for (;;) {
        /* Thinning-free approximation: exponential gaps at the current rate. */
        double r = rate_at(shape, t / 60, minutes);
        t += -log(uniform()) / r;
        if (t >= minutes * 60)
            break;
        long in = lround(exp(6.55 + 0.8 * normal()));
        long out = lround(exp(5.0 + 0.7 * normal()));
        in = in < 16 ? 16 : in > 8000 ? 8000 : in;
        out = out < 1 ? 1 : out > 2000 ? 2000 : out;
        printf("{\"timestamp\": %.0f, \"input_length\": %ld, \"output_length\": %ld}\n", t * 1000, in, out);
    }
    return 0;
}
