/* Auth cache (see auth-cache.h): a hash of entries plus an LRU list. */
#include "auth-cache.h"
#include "auth-hash.h"
#include "password-scheme.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PW_DIGEST_LEN 32
#define ENTRY_OVERHEAD 128

struct cache_entry {
	char *key;		/* "P\t<login>" or "U\t<user>" */
	char *user;		/* normalised user */
	bool found;		/* false: user unknown */
	bool last_success;	/* passdb: the digested password matched */
	unsigned char pw_digest[PW_DIGEST_LEN];
	struct auth_fields passdb_fields, userdb_fields;
	uint64_t created_ms;
	size_t size;
	struct cache_entry *prev, *next;	/* LRU: head = newest */
};

struct auth_cache {
	struct auth_hash *hash;
	struct cache_entry *head, *tail;
	size_t used, max_size;
	uint64_t ttl_ms, neg_ttl_ms;
	unsigned char salt[16];
};

struct auth_cache *auth_cache_new(uint64_t max_size, uint64_t ttl_ms,
				  uint64_t neg_ttl_ms)
{
	struct auth_cache *c = xcalloc(1, sizeof(*c));
	c->hash = auth_hash_new();
	c->max_size = max_size;
	c->ttl_ms = ttl_ms;
	c->neg_ttl_ms = neg_ttl_ms;
	if (RAND_bytes(c->salt, sizeof(c->salt)) != 1)
		log_panic("auth cache: RAND_bytes failed");
	return c;
}

static void entry_free(struct cache_entry *e)
{
	free(e->key);
	free(e->user);
	auth_fields_clear(&e->passdb_fields);
	auth_fields_clear(&e->userdb_fields);
	free(e);
}

static void lru_unlink(struct auth_cache *c, struct cache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_push(struct auth_cache *c, struct cache_entry *e)
{
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void entry_drop(struct auth_cache *c, struct cache_entry *e)
{
	auth_hash_remove(c->hash, e->key);
	lru_unlink(c, e);
	c->used -= e->size;
	entry_free(e);
}

void auth_cache_free(struct auth_cache **_c)
{
	struct auth_cache *c = *_c;
	if (c == NULL)
		return;
	*_c = NULL;
	while (c->head != NULL)
		entry_drop(c, c->head);
	auth_hash_free(&c->hash, NULL);
	free(c);
}

static void pw_digest(const struct auth_cache *c, const char *password,
		      unsigned char out[PW_DIGEST_LEN])
{
	unsigned int len = PW_DIGEST_LEN;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, c->salt, sizeof(c->salt)) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &len) != 1)
		log_panic("auth cache: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

static size_t fields_size(const struct auth_fields *f)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += strlen(f->v[i].key) + strlen(f->v[i].value) + 32;
	return n;
}

/* A live entry for key, moved to the LRU head; expired ones are dropped
 * unless use_expired. */
static struct cache_entry *cache_get(struct auth_cache *c, uint64_t now,
				     const char *key, bool use_expired)
{
	struct cache_entry *e = auth_hash_get(c->hash, key);
	if (e == NULL)
		return NULL;
	uint64_t ttl = e->found && e->last_success ? c->ttl_ms : c->neg_ttl_ms;
	if (now - e->created_ms >= ttl && !use_expired) {
		entry_drop(c, e);
		return NULL;
	}
	lru_unlink(c, e);
	lru_push(c, e);
	return e;
}

static void cache_put(struct auth_cache *c, struct cache_entry *e)
{
	struct cache_entry *old = auth_hash_get(c->hash, e->key);
	if (old != NULL)
		entry_drop(c, old);
	e->size = ENTRY_OVERHEAD + strlen(e->key) * 2 +
		  (e->user != NULL ? strlen(e->user) : 0) +
		  fields_size(&e->passdb_fields) +
		  fields_size(&e->userdb_fields);
	if (e->size > c->max_size) {
		entry_free(e);
		return;
	}
	while (c->used + e->size > c->max_size && c->tail != NULL)
		entry_drop(c, c->tail);
	auth_hash_set(c->hash, e->key, e);
	lru_push(c, e);
	c->used += e->size;
}

enum auth_cache_result
auth_cache_passdb_lookup(struct auth_cache *c, uint64_t now_ms,
			 const char *key, const char *password,
			 bool use_expired, char **user_r,
			 struct auth_fields *passdb_fields,
			 struct auth_fields *userdb_fields)
{
	char *k = xasprintf("P\t%s", key);
	struct cache_entry *e = cache_get(c, now_ms, k, use_expired);
	free(k);
	if (e == NULL)
		return AUTH_CACHE_MISS;
	if (!e->found)
		return AUTH_CACHE_HIT_UNKNOWN;
	unsigned char d[PW_DIGEST_LEN];
	pw_digest(c, password, d);
	if (!password_mem_equal(d, sizeof(d), e->pw_digest,
				sizeof(e->pw_digest)))
		return AUTH_CACHE_MISS;	/* maybe a new password: ask */
	if (!e->last_success)
		return AUTH_CACHE_HIT_MISMATCH;
	*user_r = xstrdup(e->user);
	auth_fields_copy(passdb_fields, &e->passdb_fields);
	auth_fields_copy(userdb_fields, &e->userdb_fields);
	return AUTH_CACHE_HIT_OK;
}

void auth_cache_passdb_store(struct auth_cache *c, uint64_t now_ms,
			     const char *key, const char *password,
			     enum passdb_result result, const char *user,
			     const struct auth_fields *passdb_fields,
			     const struct auth_fields *userdb_fields)
{
	bool ok = result == PASSDB_RESULT_OK;
	if ((ok ? c->ttl_ms : c->neg_ttl_ms) == 0 ||
	    result == PASSDB_RESULT_INTERNAL_FAILURE)
		return;
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	e->key = xasprintf("P\t%s", key);
	e->user = xstrdup(user);
	e->found = result != PASSDB_RESULT_USER_UNKNOWN;
	e->last_success = ok;
	e->created_ms = now_ms;
	if (e->found)
		pw_digest(c, password, e->pw_digest);
	if (ok) {
		auth_fields_copy(&e->passdb_fields, passdb_fields);
		auth_fields_copy(&e->userdb_fields, userdb_fields);
	}
	cache_put(c, e);
}

enum auth_cache_result
auth_cache_userdb_lookup(struct auth_cache *c, uint64_t now_ms,
			 const char *user, struct auth_fields *fields)
{
	char *k = xasprintf("U\t%s", user);
	struct cache_entry *e = cache_get(c, now_ms, k, false);
	free(k);
	if (e == NULL)
		return AUTH_CACHE_MISS;
	if (!e->found)
		return AUTH_CACHE_HIT_UNKNOWN;
	auth_fields_copy(fields, &e->userdb_fields);
	return AUTH_CACHE_HIT_OK;
}

void auth_cache_userdb_store(struct auth_cache *c, uint64_t now_ms,
			     const char *user, bool found,
			     const struct auth_fields *fields)
{
	if ((found ? c->ttl_ms : c->neg_ttl_ms) == 0)
		return;
	struct cache_entry *e = xcalloc(1, sizeof(*e));
	e->key = xasprintf("U\t%s", user);
	e->user = xstrdup(user);
	e->found = found;
	e->last_success = found;
	e->created_ms = now_ms;
	if (found)
		auth_fields_copy(&e->userdb_fields, fields);
	cache_put(c, e);
}

unsigned int auth_cache_flush(struct auth_cache *c, const char *user)
{
	unsigned int n = 0;
	struct cache_entry *e = c->head, *next;
	for (; e != NULL; e = next) {
		next = e->next;
		if (user == NULL || strcmp(e->user, user) == 0 ||
		    strcmp(e->key + 2, user) == 0) {
			entry_drop(c, e);
			n++;
		}
	}
	return n;
}

size_t auth_cache_used(const struct auth_cache *c)
{
	return c->used;
}

size_t auth_cache_count(const struct auth_cache *c)
{
	return auth_hash_count(c->hash);
}
