/* The auth cache (auth_cache_size / auth_cache_ttl /
 * auth_cache_negative_ttl): passdb results keyed by the formatted login
 * name, userdb results keyed by user. Passwords are never stored: a
 * positive or password-mismatch entry keeps a salted SHA-256 of the
 * password that was checked, so a changed password misses the cache and
 * reaches the passdb. Memory is bounded by max_size, least recently used
 * entries go first. */
#ifndef AUTH_CACHE_H
#define AUTH_CACHE_H

#include "auth-common.h"

struct auth_cache;

enum auth_cache_result {
	AUTH_CACHE_MISS,
	AUTH_CACHE_HIT_OK,
	AUTH_CACHE_HIT_UNKNOWN,		/* negative: user not found */
	AUTH_CACHE_HIT_MISMATCH,	/* negative: same wrong password */
};

struct auth_cache *auth_cache_new(uint64_t max_size, uint64_t ttl_ms,
				  uint64_t neg_ttl_ms);
void auth_cache_free(struct auth_cache **cache);

/* On HIT_OK *user_r (malloc'd) is the normalised user and the fields are
 * appended. use_expired: also accept expired entries (the passdb just
 * failed internally, as Dovecot does). */
enum auth_cache_result
auth_cache_passdb_lookup(struct auth_cache *c, uint64_t now_ms,
			 const char *key, const char *password,
			 bool use_expired, char **user_r,
			 struct auth_fields *passdb_fields,
			 struct auth_fields *userdb_fields);
/* result is PASSDB_RESULT_OK, _USER_UNKNOWN or _PASSWORD_MISMATCH. */
void auth_cache_passdb_store(struct auth_cache *c, uint64_t now_ms,
			     const char *key, const char *password,
			     enum passdb_result result, const char *user,
			     const struct auth_fields *passdb_fields,
			     const struct auth_fields *userdb_fields);

enum auth_cache_result
auth_cache_userdb_lookup(struct auth_cache *c, uint64_t now_ms,
			 const char *user, struct auth_fields *fields);
void auth_cache_userdb_store(struct auth_cache *c, uint64_t now_ms,
			     const char *user, bool found,
			     const struct auth_fields *fields);

/* Drops every entry for user (NULL = all); returns how many. */
unsigned int auth_cache_flush(struct auth_cache *c, const char *user);
size_t auth_cache_used(const struct auth_cache *c);
size_t auth_cache_count(const struct auth_cache *c);

#endif
