/* svc-index: a bump allocator for protobuf-c unpacks. A bundle load
 * unpacks one section at a time into it and resets it after the records
 * were copied into the model, so the 100,000 small allocations of a big
 * mailbox's records cost a few large ones and no free()s. */
#ifndef STRATUS_INDEX_ARENA_H
#define STRATUS_INDEX_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct index_arena_block;

struct index_arena {
	ProtobufCAllocator pb;	/* pass &arena.pb to unpack() */
	struct index_arena_block *blocks;	/* newest first */
	size_t used_last;	/* bytes of the last cycle: the next block */
};

void index_arena_init(struct index_arena *arena);
/* Forgets everything allocated since the last reset; keeps one block
 * big enough for a cycle like the last one. */
void index_arena_reset(struct index_arena *arena);
void index_arena_deinit(struct index_arena *arena);

#endif
