/* Latency and size histograms of one process, for the status RPC and so
 * `stratusctl metrics` (OpenMetrics histograms). A series is a family
 * name ("imap_command_seconds") and a label string already in OpenMetrics
 * form ("command=\"FETCH\""); callers pass only labels from fixed sets
 * (command names of the command table, operations, results), never
 * client input. At most HISTO_MAX_SERIES series exist; later ones are
 * dropped (and counted). */
#ifndef STRATUS_HISTOGRAM_H
#define STRATUS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define HISTO_MAX_SERIES 512
#define HISTO_MAX_BUCKETS 16

enum histo_kind {
	HISTO_SECONDS,		/* 0.5 ms .. 10 s */
	HISTO_BYTES,		/* 1 KiB .. 64 MiB */
};

struct histo {
	char *name, *labels;
	enum histo_kind kind;
	/* counts[i]: observations <= bounds[i] and above bounds[i-1]; the
	 * last (index n_bounds) is above every bound (+Inf). */
	uint64_t counts[HISTO_MAX_BUCKETS + 1];
	uint64_t count;
	double sum;
};

void histo_observe(const char *name, const char *labels,
		   enum histo_kind kind, double value);
/* The upper bounds of a kind, ascending. */
const double *histo_bounds(enum histo_kind kind, size_t *n_r);
size_t histo_series_count(void);
const struct histo *histo_series(size_t i);
uint64_t histo_dropped(void);
/* Microseconds of the monotonic clock, for timing. */
uint64_t histo_now_us(void);
/* Frees every series (at exit). */
void histo_free_all(void);

#endif
