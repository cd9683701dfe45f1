/* Password schemes: verifies a plaintext password against a stored
 * "{SCHEME}data" value as Dovecot's passdbs store them. Digest schemes
 * use OpenSSL's libcrypto, crypt schemes libxcrypt's crypt_r; every
 * comparison is constant-time. Never logs the password. */
#ifndef PASSWORD_SCHEME_H
#define PASSWORD_SCHEME_H

#include <stddef.h>

enum password_verify_result {
	PASSWORD_MATCH = 1,
	PASSWORD_MISMATCH = 0,
	PASSWORD_ERROR = -1,	/* unknown scheme or malformed stored value */
};

/* stored may lack a {SCHEME} prefix; default_scheme then applies
 * ("PLAIN", "CRYPT", ...). On PASSWORD_ERROR *error_r says why (static
 * or points into a per-thread buffer; copy it before the next call). */
enum password_verify_result
password_verify(const char *plain, const char *stored,
		const char *default_scheme, const char **error_r);

/* Splits "{SCHEME}rest": returns the scheme (uppercased into buf, at most
 * bufsize-1 chars) and sets *rest_r, or NULL when there is no prefix. */
const char *password_get_scheme(const char *stored, char *buf, size_t bufsize,
				const char **rest_r);

/* Constant-time equality of two byte strings (length leaks, content not). */
int password_mem_equal(const void *a, size_t alen, const void *b, size_t blen);

#endif
