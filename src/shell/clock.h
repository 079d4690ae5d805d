/* clock.h: the shell's clocks: wall time for timestamps, a monotonic
 * clock for intervals and deadlines. (The pure core never reads a clock;
 * the shell passes it times.) */
#ifndef KSISS_CLOCK_H
#define KSISS_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME): for timestamps
 * only, it may jump. */
int64_t ksiss_wall_ms(void);

#endif
