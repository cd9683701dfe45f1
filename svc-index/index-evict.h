/* svc-index: metacache_max_space eviction (index-evict.c). */
#ifndef STRATUS_INDEX_EVICT_H
#define STRATUS_INDEX_EVICT_H

#include "index-service.h"

/* Schedules an eviction pass when the cache is over its bound. */
void index_evict_check(struct index_service *svc);

#endif
