/* clock.c: the shell's clocks and sleep (see clock.h). */
#include "shell/clock.h"

#include <time.h>

/* Stop flags are plain ints set with __atomic_store_n as well as
 * sig_atomic_t set by a signal handler: one type for both. */
_Static_assert(_Generic((sig_atomic_t)0, int: 1, default: 0), "sig_atomic_t is int");

int64_t ksiss_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

int64_t ksiss_mono_ms(void)
{
    struct timespec ts = mono_now();
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double ksiss_mono_s(void)
{
    struct timespec ts = mono_now();
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ksiss_sleep_ms(int64_t ms, const volatile sig_atomic_t *stop)
{
    while (ms > 0) {
        if (stop && __atomic_load_n(stop, __ATOMIC_ACQUIRE))
            return;
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}
