/*
 * sky_time: the monotonic clock, for timeouts, pauses and durations (never for timestamps
 * shown to people: those are wall-clock time, sky_epoch_s).
 */
#ifndef SKY_TIME_H
#define SKY_TIME_H

#include <time.h>

/* Milliseconds on the monotonic clock. */
static inline long long sky_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Seconds on the monotonic clock. */
static inline double sky_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall-clock time in Unix epoch seconds (timestamps: metrics, logs), never for durations. */
static inline double sky_epoch_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
