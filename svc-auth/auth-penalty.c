/* Auth penalty (see auth-penalty.h). */
#include "auth-penalty.h"
#include "auth-hash.h"
#include "buf.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

struct penalty_entry {
	unsigned int count;
	uint64_t last_ms;
	uint32_t checksums[AUTH_PENALTY_CHECKSUMS];
	unsigned int n_checksums;
};

struct auth_penalty {
	struct auth_hash *ips;
};

struct auth_penalty *auth_penalty_new(void)
{
	struct auth_penalty *p = xcalloc(1, sizeof(*p));
	p->ips = auth_hash_new();
	return p;
}

void auth_penalty_free(struct auth_penalty **_p)
{
	struct auth_penalty *p = *_p;
	if (p == NULL)
		return;
	*_p = NULL;
	auth_hash_free(&p->ips, free);
	free(p);
}

/* The key an IP is counted under: IPv6 by its /48. */
static void penalty_key(const char *ip, char *out, size_t size)
{
	unsigned char a6[16];
	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, a6) == 1) {
		memset(a6 + 6, 0, 10);
		if (inet_ntop(AF_INET6, a6, out, (socklen_t)size) != NULL)
			return;
	}
	snprintf(out, size, "%s", ip);
}

static struct penalty_entry *penalty_get(struct auth_penalty *p,
					 const char *ip, uint64_t now)
{
	char key[INET6_ADDRSTRLEN + 64];
	penalty_key(ip, key, sizeof(key));
	struct penalty_entry *e = auth_hash_get(p->ips, key);
	if (e != NULL && now - e->last_ms >= AUTH_PENALTY_TIMEOUT_MS) {
		free(auth_hash_remove(p->ips, key));
		e = NULL;
	}
	return e;
}

unsigned int auth_penalty_count(struct auth_penalty *p, const char *ip,
				uint64_t now_ms)
{
	struct penalty_entry *e = penalty_get(p, ip, now_ms);
	return e != NULL ? e->count : 0;
}

uint64_t auth_penalty_delay_ms(struct auth_penalty *p, const char *ip,
			       uint64_t now_ms)
{
	unsigned int n = auth_penalty_count(p, ip, now_ms);
	if (n == 0)
		return 0;
	uint64_t d = AUTH_PENALTY_INIT_MS;
	for (unsigned int i = 1; i < n && d < AUTH_PENALTY_MAX_MS; i++)
		d *= 2;
	return d > AUTH_PENALTY_MAX_MS ? AUTH_PENALTY_MAX_MS : d;
}

void auth_penalty_failure(struct auth_penalty *p, const char *ip,
			  const char *user, const char *password,
			  uint64_t now_ms)
{
	char key[INET6_ADDRSTRLEN + 64];
	struct penalty_entry *e = penalty_get(p, ip, now_ms);
	if (e == NULL) {
		e = xcalloc(1, sizeof(*e));
		penalty_key(ip, key, sizeof(key));
		auth_hash_set(p->ips, key, e);
	}
	uLong crc = crc32(0L, Z_NULL, 0);
	crc = crc32(crc, (const Bytef *)user, (uInt)strlen(user));
	crc = crc32(crc, (const Bytef *)"", 1);
	crc = crc32(crc, (const Bytef *)password, (uInt)strlen(password));
	e->last_ms = now_ms;
	for (unsigned int i = 0; i < e->n_checksums; i++) {
		if (e->checksums[i] == (uint32_t)crc)
			return;
	}
	if (e->n_checksums < AUTH_PENALTY_CHECKSUMS)
		e->n_checksums++;
	memmove(e->checksums + 1, e->checksums,
		(e->n_checksums - 1) * sizeof(uint32_t));
	e->checksums[0] = (uint32_t)crc;
	if (e->count < 16)
		e->count++;
}

void auth_penalty_success(struct auth_penalty *p, const char *ip)
{
	char key[INET6_ADDRSTRLEN + 64];
	penalty_key(ip, key, sizeof(key));
	free(auth_hash_remove(p->ips, key));
}
