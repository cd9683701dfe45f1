/* Auth penalty (Dovecot's anvil auth-penalty): failed logins from one IP
 * delay that IP's next attempts: 2 s, then doubling to 4 and 8, capped
 * at 15 s. Retrying the same user+password does not raise the penalty
 * (a mistyped saved password), a success clears it, an hour without
 * failures forgets it. IPv6 addresses count per /48, like Dovecot. */
#ifndef AUTH_PENALTY_H
#define AUTH_PENALTY_H

#include <stdint.h>

#define AUTH_PENALTY_INIT_MS 2000
#define AUTH_PENALTY_MAX_MS 15000
#define AUTH_PENALTY_TIMEOUT_MS (3600 * 1000)
#define AUTH_PENALTY_CHECKSUMS 10

struct auth_penalty;

struct auth_penalty *auth_penalty_new(void);
void auth_penalty_free(struct auth_penalty **p);
/* Delay to apply before looking up a login from ip; 0 = none. */
uint64_t auth_penalty_delay_ms(struct auth_penalty *p, const char *ip,
			       uint64_t now_ms);
void auth_penalty_failure(struct auth_penalty *p, const char *ip,
			  const char *user, const char *password,
			  uint64_t now_ms);
void auth_penalty_success(struct auth_penalty *p, const char *ip);
unsigned int auth_penalty_count(struct auth_penalty *p, const char *ip,
				uint64_t now_ms);

#endif
