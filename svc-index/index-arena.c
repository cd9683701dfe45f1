/* svc-index: the bump allocator of index-arena.h. */
#include "index-arena.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>

#define INDEX_ARENA_MIN_BLOCK (64u * 1024)
#define INDEX_ARENA_ALIGN 16u

struct index_arena_block {
	struct index_arena_block *next;
	size_t size, used;
	max_align_t data[];
};

static struct index_arena_block *index_arena_block_new(size_t size)
{
	struct index_arena_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

static void *index_arena_alloc(void *ctx, size_t size)
{
	struct index_arena *arena = ctx;
	size = (size + INDEX_ARENA_ALIGN - 1) & ~(size_t)(INDEX_ARENA_ALIGN - 1);
	struct index_arena_block *b = arena->blocks;
	if (b == NULL || b->size - b->used < size) {
		size_t want = arena->used_last > INDEX_ARENA_MIN_BLOCK ?
			arena->used_last : INDEX_ARENA_MIN_BLOCK;
		if (b != NULL && b->size * 2 > want)
			want = b->size * 2;
		if (want < size)
			want = size;
		struct index_arena_block *nb = index_arena_block_new(want);
		nb->next = b;
		arena->blocks = b = nb;
	}
	void *p = (uint8_t *)b->data + b->used;
	b->used += size;
	return p;
}

static void index_arena_free_one(void *ctx, void *ptr)
{
	(void)ctx;	/* everything goes at the next reset */
	(void)ptr;
}

void index_arena_init(struct index_arena *arena)
{
	arena->pb.alloc = index_arena_alloc;
	arena->pb.free = index_arena_free_one;
	arena->pb.allocator_data = arena;
	arena->blocks = NULL;
	arena->used_last = 0;
}

static void index_arena_free_blocks(struct index_arena_block *b)
{
	while (b != NULL) {
		struct index_arena_block *next = b->next;
		free(b);
		b = next;
	}
}

void index_arena_reset(struct index_arena *arena)
{
	struct index_arena_block *b = arena->blocks;
	if (b == NULL)
		return;
	size_t used = 0;
	for (struct index_arena_block *p = b; p != NULL; p = p->next)
		used += p->used;
	arena->used_last = used;
	/* One block of the last cycle's size serves the next cycle alone. */
	if (b->next == NULL || b->size >= used) {
		index_arena_free_blocks(b->next);
		b->next = NULL;
		b->used = 0;
		return;
	}
	index_arena_free_blocks(b);
	arena->blocks = index_arena_block_new(used);
}

void index_arena_deinit(struct index_arena *arena)
{
	index_arena_free_blocks(arena->blocks);
	arena->blocks = NULL;
}
