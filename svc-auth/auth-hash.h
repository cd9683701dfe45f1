/* A small string-keyed hash table with chaining, for the auth caches and
 * counters. Keys are copied; values are the caller's. Not thread-safe:
 * only the event loop thread touches these tables. */
#ifndef AUTH_HASH_H
#define AUTH_HASH_H

#include <stddef.h>

struct auth_hash;

struct auth_hash *auth_hash_new(void);
/* Frees the table and its keys; free_value (may be NULL) runs per value. */
void auth_hash_free(struct auth_hash **h, void (*free_value)(void *value));
void *auth_hash_get(const struct auth_hash *h, const char *key);
/* Inserts or replaces; returns the replaced value (or NULL). */
void *auth_hash_set(struct auth_hash *h, const char *key, void *value);
/* Removes the key; returns its value or NULL. */
void *auth_hash_remove(struct auth_hash *h, const char *key);
size_t auth_hash_count(const struct auth_hash *h);
/* Calls cb per entry; cb may return 1 to remove the entry (after which
 * the callee no longer touches the value). */
void auth_hash_foreach(struct auth_hash *h,
		       int (*cb)(const char *key, void *value, void *ctx),
		       void *ctx);

#endif
