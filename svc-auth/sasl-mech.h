/* SASL mechanisms PLAIN (RFC 4616) and LOGIN as pure state machines over
 * decoded client responses. They only parse: they never look anything up,
 * so they are fuzzed directly (tests/fuzz/fuzz-sasl.c). Every string they
 * produce is valid UTF-8 without NULs and within the AUTH_MAX_* bounds. */
#ifndef SASL_MECH_H
#define SASL_MECH_H

#include <stdbool.h>
#include <stddef.h>

enum sasl_mech { SASL_MECH_PLAIN, SASL_MECH_LOGIN };

enum sasl_step_result {
	SASL_STEP_CONTINUE,	/* send *challenge_r, wait for a response */
	SASL_STEP_DONE,		/* authcid/password (authzid) are set */
	SASL_STEP_FAIL,		/* malformed response; *error_r says why */
};

struct sasl_exchange {
	enum sasl_mech mech;
	unsigned int step;
	char *authzid;		/* NULL or "" when not given */
	char *authcid;
	char *password;
};

/* "PLAIN"/"plain" -> SASL_MECH_PLAIN. -1 when unknown. */
int sasl_mech_find(const char *name, enum sasl_mech *mech_r);
const char *sasl_mech_name(enum sasl_mech mech);

void sasl_exchange_init(struct sasl_exchange *ex, enum sasl_mech mech);
/* Feeds one client response (has_response = false for a first step
 * without initial response). *challenge_r is a static string. */
enum sasl_step_result
sasl_exchange_step(struct sasl_exchange *ex, bool has_response,
		   const unsigned char *data, size_t len,
		   const char **challenge_r, const char **error_r);
/* Frees the strings, wiping the password. */
void sasl_exchange_clear(struct sasl_exchange *ex);

/* RFC 4616 message: [authzid] NUL authcid NUL passwd. 0 or -1. The
 * strings are malloc'd into the exchange. */
int sasl_plain_decode(struct sasl_exchange *ex, const unsigned char *data,
		      size_t len, const char **error_r);

/* True when data is well-formed UTF-8 (no overlongs, no surrogates). */
bool sasl_utf8_valid(const unsigned char *data, size_t len);

#endif
