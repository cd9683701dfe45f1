/* A session's last few blob fds (imap-body-cache.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap-body-cache.h"
#include "buf.h"

static size_t body_cache_process_fds;

int imap_body_cache_lookup(struct imap_body_cache *cache,
			   const char *object_id)
{
	for (size_t i = 0; i < IMAP_BODY_CACHE_SLOTS; i++) {
		struct imap_body_cache_slot *s = &cache->slot[i];
		if (s->object_id != NULL && strcmp(s->object_id, object_id) == 0) {
			s->used = ++cache->clock;
			return s->fd;
		}
	}
	return -1;
}

static void body_cache_slot_free(struct imap_body_cache_slot *s)
{
	if (s->object_id == NULL)
		return;
	free(s->object_id);
	s->object_id = NULL;
	close(s->fd);
	s->fd = -1;
	body_cache_process_fds--;
}

bool imap_body_cache_keep(struct imap_body_cache *cache,
			  const char *object_id, int fd)
{
	struct imap_body_cache_slot *victim = &cache->slot[0];
	for (size_t i = 0; i < IMAP_BODY_CACHE_SLOTS; i++) {
		struct imap_body_cache_slot *s = &cache->slot[i];
		if (s->object_id == NULL) {
			victim = s;
			break;
		}
		if (s->used < victim->used)
			victim = s;
	}
	if (victim->object_id == NULL &&
	    body_cache_process_fds >= IMAP_BODY_CACHE_PROCESS_MAX)
		return false;
	body_cache_slot_free(victim);
	victim->object_id = xstrdup(object_id);
	victim->fd = fd;
	victim->used = ++cache->clock;
	body_cache_process_fds++;
	return true;
}

void imap_body_cache_clear(struct imap_body_cache *cache)
{
	for (size_t i = 0; i < IMAP_BODY_CACHE_SLOTS; i++)
		body_cache_slot_free(&cache->slot[i]);
	cache->clock = 0;
}
