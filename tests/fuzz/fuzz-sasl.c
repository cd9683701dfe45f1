/* Fuzzes SASL response decoding (svc-auth/sasl-mech.c): the first byte
 * picks PLAIN or LOGIN and whether the first step has a response; the
 * rest is split at 0xff into client responses, fed step by step. Every
 * produced string must be NUL-free, bounded and valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../svc-auth/auth-common.h"
#include "../../svc-auth/sasl-mech.h"

static void check_str(const char *s, size_t max)
{
	if (s == NULL)
		return;
	size_t n = strlen(s);
	if (n > max || !sasl_utf8_valid((const unsigned char *)s, n))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct sasl_exchange ex;
	sasl_exchange_init(&ex, (data[0] & 1) ? SASL_MECH_LOGIN :
			   SASL_MECH_PLAIN);
	bool first_response = (data[0] & 2) != 0;
	const uint8_t *p = data + 1, *end = data + size;
	for (int step = 0; step < 6; step++) {
		const uint8_t *sep = memchr(p, 0xff, (size_t)(end - p));
		size_t len = sep != NULL ? (size_t)(sep - p) : (size_t)(end - p);
		const char *challenge, *error;
		bool has = step > 0 || first_response;
		enum sasl_step_result r = sasl_exchange_step(&ex, has, p, len,
							     &challenge, &error);
		if (r == SASL_STEP_DONE) {
			check_str(ex.authzid, AUTH_MAX_USERNAME_LEN);
			check_str(ex.authcid, AUTH_MAX_USERNAME_LEN);
			check_str(ex.password, AUTH_MAX_PASSWORD_LEN);
			if (ex.authcid == NULL || ex.password == NULL)
				abort();
			break;
		}
		if (r == SASL_STEP_FAIL || sep == NULL)
			break;
		p = sep + 1;
	}
	sasl_exchange_clear(&ex);
	return 0;
}
