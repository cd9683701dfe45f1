/* String-keyed hash table (FNV-1a, chaining, doubling at load 1). */
#include "auth-hash.h"
#include "buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct auth_hash_node {
	char *key;
	void *value;
	uint32_t hash;
	struct auth_hash_node *next;
};

struct auth_hash {
	struct auth_hash_node **buckets;
	size_t n_buckets;
	size_t count;
};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct auth_hash *auth_hash_new(void)
{
	struct auth_hash *h = xcalloc(1, sizeof(*h));
	h->n_buckets = 64;
	h->buckets = xcalloc(h->n_buckets, sizeof(*h->buckets));
	return h;
}

void auth_hash_free(struct auth_hash **_h, void (*free_value)(void *value))
{
	struct auth_hash *h = *_h;
	if (h == NULL)
		return;
	*_h = NULL;
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct auth_hash_node *n = h->buckets[i], *next;
		for (; n != NULL; n = next) {
			next = n->next;
			if (free_value != NULL)
				free_value(n->value);
			free(n->key);
			free(n);
		}
	}
	free(h->buckets);
	free(h);
}

static struct auth_hash_node **hash_find(const struct auth_hash *h,
					 const char *key, uint32_t hv)
{
	struct auth_hash_node **p = &h->buckets[hv & (h->n_buckets - 1)];
	for (; *p != NULL; p = &(*p)->next) {
		if ((*p)->hash == hv && strcmp((*p)->key, key) == 0)
			break;
	}
	return p;
}

void *auth_hash_get(const struct auth_hash *h, const char *key)
{
	struct auth_hash_node **p = hash_find(h, key, hash_str(key));
	return *p != NULL ? (*p)->value : NULL;
}

static void hash_grow(struct auth_hash *h)
{
	size_t n = h->n_buckets * 2;
	struct auth_hash_node **b = xcalloc(n, sizeof(*b));
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct auth_hash_node *node = h->buckets[i], *next;
		for (; node != NULL; node = next) {
			next = node->next;
			node->next = b[node->hash & (n - 1)];
			b[node->hash & (n - 1)] = node;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->n_buckets = n;
}

void *auth_hash_set(struct auth_hash *h, const char *key, void *value)
{
	uint32_t hv = hash_str(key);
	struct auth_hash_node **p = hash_find(h, key, hv);
	if (*p != NULL) {
		void *old = (*p)->value;
		(*p)->value = value;
		return old;
	}
	struct auth_hash_node *n = xcalloc(1, sizeof(*n));
	n->key = xstrdup(key);
	n->value = value;
	n->hash = hv;
	*p = n;
	if (++h->count > h->n_buckets)
		hash_grow(h);
	return NULL;
}

void *auth_hash_remove(struct auth_hash *h, const char *key)
{
	struct auth_hash_node **p = hash_find(h, key, hash_str(key));
	struct auth_hash_node *n = *p;
	if (n == NULL)
		return NULL;
	void *value = n->value;
	*p = n->next;
	free(n->key);
	free(n);
	h->count--;
	return value;
}

size_t auth_hash_count(const struct auth_hash *h)
{
	return h->count;
}

void auth_hash_foreach(struct auth_hash *h,
		       int (*cb)(const char *key, void *value, void *ctx),
		       void *ctx)
{
	for (size_t i = 0; i < h->n_buckets; i++) {
		struct auth_hash_node **p = &h->buckets[i];
		while (*p != NULL) {
			struct auth_hash_node *n = *p;
			if (cb(n->key, n->value, ctx) == 1) {
				*p = n->next;
				free(n->key);
				free(n);
				h->count--;
			} else {
				p = &n->next;
			}
		}
	}
}
