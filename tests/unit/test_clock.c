/* test_clock.c: the shell's clocks and sleep (shell/clock.h): the
 * monotonic clock never goes back and its two units agree, wall time is
 * the epoch's, and a stop flag cuts a sleep short. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "shell/clock.h"

static void test_monotonic_clock_never_goes_back_and_units_agree(void **state)
{
    (void)state;
    int64_t prev = ksiss_mono_ms();
    for (int i = 0; i < 1000; i++) {
        int64_t now = ksiss_mono_ms();
        assert_true(now >= prev);
        prev = now;
    }
    double s = ksiss_mono_s();
    int64_t ms = ksiss_mono_ms();
    assert_true(ms >= (int64_t)(s * 1000) && ms - (int64_t)(s * 1000) < 1000);
}

static void test_wall_clock_is_milliseconds_since_the_epoch(void **state)
{
    (void)state;
    int64_t before = (int64_t)time(NULL) * 1000;
    int64_t ms = ksiss_wall_ms();
    int64_t after = (int64_t)time(NULL) * 1000 + 1000;
    assert_true(ms >= before && ms <= after);
}

static void test_sleep_waits_the_time_asked(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 0;
    int64_t t0 = ksiss_mono_ms();
    ksiss_sleep_ms(120, &stop);
    ksiss_sleep_ms(0, &stop);
    ksiss_sleep_ms(-5, NULL);
    assert_true(ksiss_mono_ms() - t0 >= 120);
}

/* A set flag ends a sleep at its next 100 ms step: an hour-long sleep
 * returns, far from the hour (the bound only separates "stopped" from
 * "slept it all"). */
static void test_a_set_stop_flag_cuts_a_sleep_short(void **state)
{
    (void)state;
    volatile sig_atomic_t stop = 1;
    int64_t t0 = ksiss_mono_ms();
    ksiss_sleep_ms(3600 * 1000, &stop);
    assert_true(ksiss_mono_ms() - t0 < 60 * 1000);
    int flag = 1;   /* the informers' and the leader's stop flags are ints */
    ksiss_sleep_ms(3600 * 1000, &flag);
    assert_true(ksiss_mono_ms() - t0 < 60 * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_monotonic_clock_never_goes_back_and_units_agree),
        cmocka_unit_test(test_wall_clock_is_milliseconds_since_the_epoch),
        cmocka_unit_test(test_sleep_waits_the_time_asked),
        cmocka_unit_test(test_a_set_stop_flag_cuts_a_sleep_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
