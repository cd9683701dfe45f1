/* Alloc-only arena owning a compiled script's or a run's memory: nodes
 * and strings are allocated as the parser and interpreter go and freed in
 * one call, so no error path can leak a piece of a half-built tree. */
#include <stdlib.h>
#include <string.h>

#include "sieve-private.h"

#define ARENA_CHUNK 8192

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

struct sieve_arena {
	struct arena_chunk *head;
};

struct sieve_arena *sieve_arena_new(void)
{
	return xcalloc(1, sizeof(struct sieve_arena));
}

void sieve_arena_free(struct sieve_arena **arena)
{
	struct arena_chunk *c, *next;

	if (*arena == NULL)
		return;
	for (c = (*arena)->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(*arena);
	*arena = NULL;
}

void *sieve_arena_alloc(struct sieve_arena *arena, size_t size)
{
	struct arena_chunk *c = arena->head;
	const size_t align = _Alignof(max_align_t);
	void *p;

	if (size > SIZE_MAX / 2)
		abort();
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	if (c == NULL || c->size - c->used < size) {
		/* A big allocation gets a chunk of its own behind the head
		 * so the head's free space is not wasted. */
		size_t csize = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		struct arena_chunk *n = xmalloc(sizeof(*n) + csize);

		n->used = 0;
		n->size = csize;
		if (c != NULL && size > ARENA_CHUNK) {
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			arena->head = n;
		}
		c = n;
	}
	p = c->data + c->used;
	c->used += size;
	return p;
}

void *sieve_arena_calloc(struct sieve_arena *arena, size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total))
		abort();
	p = sieve_arena_alloc(arena, total);
	memset(p, 0, total);
	return p;
}

char *sieve_arena_strndup(struct sieve_arena *arena, const char *s,
			  size_t len)
{
	char *p = sieve_arena_alloc(arena, len + 1);

	if (len > 0)	/* s may be an empty buffer's NULL */
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *sieve_arena_strdup(struct sieve_arena *arena, const char *s)
{
	return sieve_arena_strndup(arena, s, strlen(s));
}
