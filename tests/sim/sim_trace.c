/* sim_trace.c: the evaluation suite's trace tool (docs/simulator.md, "The
 * evaluation suite"). Deterministic: same arguments and input, same bytes.
 *   sim_trace gen SHAPE [SEED] [MINUTES]   a synthetic trace (JSON lines:
 *       timestamp ms, input_length, output_length); shapes below
 *   sim_trace jitter SEED PERCENT < in > out   moves the timestamp of each
 *       request, with probability PERCENT/100, by 1 ms earlier or later
 *       (Azure CSV or JSON lines, the rest of each line unchanged)
 *   sim_trace thin K < in > out   keeps every K-th request line (the 1st,
 *       the K+1-th, ...); a CSV header is kept
 * Shapes (token lengths log-normal, median prompt ~700, output ~150 tokens):
 *   ramp     1 -> 10 req/s over the trace
 *   burst    4 req/s, bursts to 14 req/s in minutes 20-25 and 40-45
 *   step     3 req/s, 9 req/s from half-way
 *   flash    3 req/s; at a minute drawn from the seed (15-40) a flash crowd
 *            jumps within 10 s to 4-7x and decays (time constant 3-8 min)
 *   diurnal  a day (default 24 h) of 1.5 -> 8 req/s and back (a sinusoid
 *            with a seed-drawn phase), times a noise that wanders minute
 *            by minute (log-AR(1), sd ~15%), plus a few 1-3 minute spikes
 * ramp, burst and step take their shape from the arguments only (the seed
 * changes the arrivals and lengths); flash and diurnal draw theirs from the
 * seed too. The old `gen_trace SHAPE SEED` is `sim_trace gen SHAPE SEED`. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state;

static void seed_rng(uint64_t s)
{
    state = s ? s : 42;
}

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

/* Shape parameters drawn from the seed (flash, diurnal), before any arrival. */
typedef struct {
    double flash_at, flash_peak, flash_tau;     /* minutes, multiple of the base, minutes */
    double phase;                               /* diurnal: fraction of the day */
    double spike_at[4], spike_len[4], spike_mult[4];
    double *noise;                              /* diurnal: per-minute multiplier */
    size_t n_noise;
} shape_params;

static int draw_params(const char *shape, double minutes, shape_params *p)
{
    memset(p, 0, sizeof(*p));
    if (!strcmp(shape, "flash")) {
        p->flash_at = 15 + 25 * uniform();
        p->flash_peak = 4 + 3 * uniform();
        p->flash_tau = 3 + 5 * uniform();
    } else if (!strcmp(shape, "diurnal")) {
        p->phase = uniform();
        for (int i = 0; i < 4; i++) {
            p->spike_at[i] = minutes * uniform();
            p->spike_len[i] = 1 + 2 * uniform();
            p->spike_mult[i] = 1.5 + uniform();
        }
        p->n_noise = (size_t)ceil(minutes) + 1;
        p->noise = malloc(p->n_noise * sizeof(*p->noise));
        if (!p->noise)
            return -1;
        double x = 0;
        for (size_t i = 0; i < p->n_noise; i++) {
            /* AR(1) in log space: x' = 0.9 x + e, stationary sd 0.15 */
            x = 0.9 * x + 0.15 * sqrt(1 - 0.81) * normal();
            p->noise[i] = exp(x);
        }
    }
    return 0;
}

static double rate_at(const char *shape, const shape_params *p, double t_min, double minutes)
{
    if (!strcmp(shape, "ramp"))
        return 1 + 9 * t_min / minutes;
    if (!strcmp(shape, "burst")) {
        bool in_burst = (t_min >= 20 && t_min < 25) || (t_min >= 40 && t_min < 45);
        return in_burst ? 14 : 4;
    }
    if (!strcmp(shape, "step"))
        return t_min < minutes / 2 ? 3 : 9;
    if (!strcmp(shape, "flash")) {
        double base = 3, dt = t_min - p->flash_at;
        if (dt < 0)
            return base;
        double rise = dt < 1.0 / 6 ? dt * 6 : 1;     /* up within 10 s */
        return base * (1 + (p->flash_peak - 1) * rise * exp(-dt / p->flash_tau));
    }
    if (!strcmp(shape, "diurnal")) {
        double day = t_min / minutes + p->phase;
        double r = 4.75 - 3.25 * cos(2 * 3.14159265358979323846 * day);
        size_t m = (size_t)t_min;
        if (m < p->n_noise)
            r *= p->noise[m];
        for (int i = 0; i < 4; i++)
            if (t_min >= p->spike_at[i] && t_min < p->spike_at[i] + p->spike_len[i])
                r *= p->spike_mult[i];
        return r;
    }
    return -1;
}

static int gen(int argc, char **argv)
{
    const char *shape = argv[0];
    seed_rng(argc > 1 ? strtoull(argv[1], NULL, 10) : 42);
    double minutes = argc > 2 ? strtod(argv[2], NULL) : !strcmp(shape, "diurnal") ? 24 * 60 : 60;
    shape_params p;
    if (!(minutes > 0) || minutes > 7 * 24 * 60 || draw_params(shape, minutes, &p) != 0 ||
        rate_at(shape, &p, 0, minutes) < 0) {
        fprintf(stderr, "sim_trace gen: unknown shape \"%s\" or bad length (ramp, burst, step, flash, diurnal; "
                        "up to 7 days)\n", shape);
        free(p.noise);
        return 2;
    }
    double t = 0;
    for (;;) {
        /* Thinning-free approximation: exponential gaps at the current rate. */
        double r = rate_at(shape, &p, t / 60, minutes);
        t += -log(uniform()) / r;
        if (t >= minutes * 60)
            break;
        long in = lround(exp(6.55 + 0.8 * normal()));
        long out = lround(exp(5.0 + 0.7 * normal()));
        in = in < 16 ? 16 : in > 8000 ? 8000 : in;
        out = out < 1 ? 1 : out > 2000 ? 2000 : out;
        printf("{\"timestamp\": %.0f, \"input_length\": %ld, \"output_length\": %ld}\n", t * 1000, in, out);
    }
    free(p.noise);
    return 0;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Moves "YYYY-MM-DD HH:MM:SS.f..." (at least 3 fraction digits) at s by
 * delta_ms, in place (same length). -1 when s is not such a time. */
static int shift_datetime(char *s, size_t len, int delta_ms)
{
    int y, mo, d, h, mi, se;
    int used = 0;
    if (len < 23 || sscanf(s, "%4d-%2d-%2d%*1[ T]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &used) != 6 ||
        used != 19 || s[19] != '.')
        return -1;
    size_t nf = 0;
    while (20 + nf < len && s[20 + nf] >= '0' && s[20 + nf] <= '9')
        nf++;
    if (nf < 3 || nf > 9)
        return -1;
    int64_t frac = 0, unit = 1;
    for (size_t i = 0; i < nf; i++)
        frac = frac * 10 + (s[20 + i] - '0');
    for (size_t i = 3; i < nf; i++)
        unit *= 10;     /* fraction units per ms */
    int64_t per_s = unit * 1000;
    int64_t secs = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + se;
    int64_t total = secs * per_s + frac + (int64_t)delta_ms * unit;
    secs = total / per_s;
    frac = total % per_s;
    int64_t days = secs / 86400, rem = secs % 86400;
    int64_t yy;
    int mm, dd;
    civil_from_days(days, &yy, &mm, &dd);
    char buf[64];
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d%c%02d:%02d:%02d.%0*lld", (int)yy, mm, dd, s[10], (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)nf, (long long)frac);
    if (strlen(buf) != 20 + nf)
        return -1;
    memcpy(s, buf, 20 + nf);
    return 0;
}

/* Moves a JSON line's `"timestamp": N` by delta_ms (not below 0). */
static int shift_json(const char *line, int delta_ms, FILE *out)
{
    const char *k = strstr(line, "\"timestamp\"");
    if (!k)
        return -1;
    const char *p = strchr(k + 11, ':');
    if (!p)
        return -1;
    p++;
    while (*p == ' ')
        p++;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || *end == '.' || *end == 'e' || *end == 'E')
        return -1;
    v += delta_ms;
    if (v < 0)
        v = 0;
    fprintf(out, "%.*s%lld%s", (int)(p - line), line, v, end);
    return 0;
}

static int jitter(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sim_trace jitter SEED PERCENT < trace > trace\n");
        return 2;
    }
    seed_rng(strtoull(argv[0], NULL, 10));
    double pct = strtod(argv[1], NULL);
    if (!(pct >= 0 && pct <= 100)) {
        fprintf(stderr, "sim_trace jitter: PERCENT must be 0-100\n");
        return 2;
    }
    static char line[1 << 16];
    long n = 0, moved = 0;
    while (fgets(line, sizeof(line), stdin)) {
        n++;
        size_t len = strlen(line);
        bool data = line[0] == '{' || (line[0] >= '0' && line[0] <= '9');
        if (!data) {
            fputs(line, stdout);
            continue;
        }
        /* Two draws per data line whatever happens: the choice of one line
         * does not shift the draws of the others. */
        bool move = uniform() * 100 < pct;
        int delta = uniform() < 0.5 ? -1 : 1;
        if (!move) {
            fputs(line, stdout);
            continue;
        }
        int rc;
        if (line[0] == '{') {
            rc = shift_json(line, delta, stdout);
        } else {
            char *comma = strchr(line, ',');
            rc = shift_datetime(line, comma ? (size_t)(comma - line) : len, delta);
            if (rc == 0)
                fputs(line, stdout);
        }
        if (rc != 0) {
            fprintf(stderr, "sim_trace jitter: line %ld: no timestamp to move (Azure CSV with at least ms, or JSON "
                            "lines with an integer \"timestamp\")\n", n);
            return 1;
        }
        moved++;
    }
    fprintf(stderr, "sim_trace jitter: moved %ld of %ld lines by 1 ms\n", moved, n);
    return 0;
}

static int thin(int argc, char **argv)
{
    long k = argc > 0 ? strtol(argv[0], NULL, 10) : 0;
    if (k < 1) {
        fprintf(stderr, "usage: sim_trace thin K < trace > trace   (K >= 1)\n");
        return 2;
    }
    static char line[1 << 20];
    long i = 0;
    while (fgets(line, sizeof(line), stdin)) {
        bool data = line[0] == '{' || (line[0] >= '0' && line[0] <= '9');
        if (!data || i++ % k == 0)
            fputs(line, stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "gen"))
        return gen(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "jitter"))
        return jitter(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "thin"))
        return thin(argc - 2, argv + 2);
    fprintf(stderr, "usage: sim_trace gen ramp|burst|step|flash|diurnal [SEED] [MINUTES]\n"
                    "       sim_trace jitter SEED PERCENT < trace > trace\n"
                    "       sim_trace thin K < trace > trace\n");
    return 2;
}
