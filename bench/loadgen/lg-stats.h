/* Per-operation counters and latency histograms of the load generator,
 * printed as machine-readable "stat" lines.
 *
 * Latencies go into a fixed log-scale histogram (1% resolution, 1 us to
 * about 10 minutes), so memory stays constant however long a run is and
 * p50/p99 need no stored samples. Only operations that completed inside
 * the measured window are counted; a wrong answer counts as an error and
 * not as a completed operation. */
#ifndef BENCH_LG_STATS_H
#define BENCH_LG_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define LG_HIST_BUCKETS 2048

struct lg_stat {
	const char *name;
	uint64_t count;		/* completed and correct */
	uint64_t errors;	/* wrong answer, refused, timeout, closed */
	uint64_t bytes;		/* payload bytes received (bodies) */
	uint64_t hist[LG_HIST_BUCKETS];
};

void lg_stat_init(struct lg_stat *st, const char *name);
void lg_stat_ok(struct lg_stat *st, uint64_t usecs);
/* Latency of the value at quantile q (0..1) in milliseconds; 0 if none. */
double lg_stat_quantile_ms(const struct lg_stat *st, double q);
/* "stat mode=M server=S op=NAME count= errors= rate_per_s= p50_ms= ..." */
void lg_stat_print(FILE *out, const struct lg_stat *st, const char *mode,
		   const char *label, double seconds);

uint64_t lg_now_us(void);

#endif
