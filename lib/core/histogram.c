/* Histograms (see histogram.h). Series are few (commands x results), so
 * they live in one array searched linearly from the most recent hit. */
#include "histogram.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const double seconds_bounds[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
};
static const double bytes_bounds[] = {
	1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
	67108864,
};
_Static_assert(sizeof(seconds_bounds) / sizeof(double) <= HISTO_MAX_BUCKETS,
	       "bucket bounds fit");

static struct {
	struct histo *series;
	size_t n;
	uint64_t dropped;
} histo_state;

const double *histo_bounds(enum histo_kind kind, size_t *n_r)
{
	if (kind == HISTO_BYTES) {
		*n_r = sizeof(bytes_bounds) / sizeof(double);
		return bytes_bounds;
	}
	*n_r = sizeof(seconds_bounds) / sizeof(double);
	return seconds_bounds;
}

static struct histo *histo_find(const char *name, const char *labels,
				enum histo_kind kind)
{
	for (size_t i = 0; i < histo_state.n; i++) {
		struct histo *h = &histo_state.series[i];
		if (strcmp(h->name, name) == 0 && strcmp(h->labels, labels) == 0)
			return h;
	}
	if (histo_state.n >= HISTO_MAX_SERIES) {
		histo_state.dropped++;
		return NULL;
	}
	if (histo_state.series == NULL)
		histo_state.series = xcalloc(HISTO_MAX_SERIES,
					     sizeof(*histo_state.series));
	struct histo *h = &histo_state.series[histo_state.n++];
	h->name = xstrdup(name);
	h->labels = xstrdup(labels);
	h->kind = kind;
	return h;
}

void histo_observe(const char *name, const char *labels,
		   enum histo_kind kind, double value)
{
	struct histo *h = histo_find(name, labels, kind);
	if (h == NULL)
		return;
	size_t n, i;
	const double *bounds = histo_bounds(h->kind, &n);
	for (i = 0; i < n && value > bounds[i]; i++)
		;
	h->counts[i]++;
	h->count++;
	h->sum += value;
}

size_t histo_series_count(void)
{
	return histo_state.n;
}

const struct histo *histo_series(size_t i)
{
	return i < histo_state.n ? &histo_state.series[i] : NULL;
}

uint64_t histo_dropped(void)
{
	return histo_state.dropped;
}

uint64_t histo_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void histo_free_all(void)
{
	for (size_t i = 0; i < histo_state.n; i++) {
		free(histo_state.series[i].name);
		free(histo_state.series[i].labels);
	}
	free(histo_state.series);
	memset(&histo_state, 0, sizeof(histo_state));
}
