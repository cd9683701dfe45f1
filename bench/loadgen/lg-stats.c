/* Counters and log-scale latency histograms (see lg-stats.h). */
#include "lg-stats.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* bucket i holds latencies in [e^(i/100), e^((i+1)/100)) microseconds */
#define LG_HIST_SCALE 100.0

uint64_t lg_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void lg_stat_init(struct lg_stat *st, const char *name)
{
	memset(st, 0, sizeof(*st));
	st->name = name;
}

void lg_stat_ok(struct lg_stat *st, uint64_t usecs)
{
	double b = usecs == 0 ? 0 : log((double)usecs) * LG_HIST_SCALE;
	size_t i = b < 0 ? 0 : (size_t)b;
	if (i >= LG_HIST_BUCKETS)
		i = LG_HIST_BUCKETS - 1;
	st->hist[i]++;
	st->count++;
}

double lg_stat_quantile_ms(const struct lg_stat *st, double q)
{
	if (st->count == 0)
		return 0;
	/* rank of the wanted sample, 1-based, nearest-rank method */
	uint64_t rank = (uint64_t)ceil(q * (double)st->count);
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < LG_HIST_BUCKETS; i++) {
		seen += st->hist[i];
		if (seen >= rank) {
			/* geometric middle of the bucket */
			double us = exp(((double)i + 0.5) / LG_HIST_SCALE);
			return us / 1000.0;
		}
	}
	return 0;
}

void lg_stat_print(FILE *out, const struct lg_stat *st, const char *mode,
		   const char *label, double seconds)
{
	if (st->count == 0 && st->errors == 0)
		return;
	fprintf(out, "stat mode=%s label=%s op=%s count=%llu errors=%llu "
		"rate_per_s=%.2f p50_ms=%.3f p99_ms=%.3f bytes=%llu\n",
		mode, label, st->name, (unsigned long long)st->count,
		(unsigned long long)st->errors,
		seconds > 0 ? (double)st->count / seconds : 0.0,
		lg_stat_quantile_ms(st, 0.50), lg_stat_quantile_ms(st, 0.99),
		(unsigned long long)st->bytes);
}
