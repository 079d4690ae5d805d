/* clock.h: the shell's clocks and sleep: wall time for timestamps, a
 * monotonic clock for intervals and deadlines, and a sleep a stop flag
 * cuts short. (The pure core never reads a clock; the shell passes it
 * times.) */
#ifndef KSISS_CLOCK_H
#define KSISS_CLOCK_H

#include <signal.h>
#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps
 * only, it may jump. */
int64_t ksiss_wall_ms(void);

/* CLOCK_MONOTONIC, in milliseconds and in seconds: for intervals and
 * deadlines (never jumps; its origin is arbitrary). */
int64_t ksiss_mono_ms(void);
double ksiss_mono_s(void);

/* Sleeps ms (nothing when ms <= 0), returning within 100 ms once *stop is
 * set. stop may be NULL (sleep it all); it is read atomically, so a flag a
 * signal handler sets and an int another thread stores both work. */
void ksiss_sleep_ms(int64_t ms, const volatile sig_atomic_t *stop);

#endif
