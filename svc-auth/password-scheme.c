/* Password scheme verification (see password-scheme.h). A salted digest
 * scheme stores base64(digest || salt); hex is accepted with a .HEX
 * suffix or when the length says so, as Dovecot does. */
#include "password-scheme.h"

#include <crypt.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define MAX_STORED_DECODED 1024

enum scheme_kind { SCHEME_PLAIN, SCHEME_DIGEST, SCHEME_SALTED, SCHEME_CRYPT };

struct scheme {
	const char *name;
	enum scheme_kind kind;
	const char *digest;	/* OpenSSL name for digest kinds */
	bool hex_default;	/* PLAIN-MD5 is hex, the others base64 */
};

static const struct scheme schemes[] = {
	{ "PLAIN", SCHEME_PLAIN, NULL, false },
	{ "CLEARTEXT", SCHEME_PLAIN, NULL, false },
	{ "SHA", SCHEME_DIGEST, "SHA1", false },
	{ "SHA1", SCHEME_DIGEST, "SHA1", false },
	{ "SHA256", SCHEME_DIGEST, "SHA256", false },
	{ "SHA512", SCHEME_DIGEST, "SHA512", false },
	{ "LDAP-MD5", SCHEME_DIGEST, "MD5", false },
	{ "PLAIN-MD5", SCHEME_DIGEST, "MD5", true },
	{ "SSHA", SCHEME_SALTED, "SHA1", false },
	{ "SSHA256", SCHEME_SALTED, "SHA256", false },
	{ "SSHA512", SCHEME_SALTED, "SHA512", false },
	{ "SMD5", SCHEME_SALTED, "MD5", false },
	{ "CRYPT", SCHEME_CRYPT, NULL, false },
	{ "DES-CRYPT", SCHEME_CRYPT, NULL, false },
	{ "MD5", SCHEME_CRYPT, NULL, false },
	{ "MD5-CRYPT", SCHEME_CRYPT, NULL, false },
	{ "SHA256-CRYPT", SCHEME_CRYPT, NULL, false },
	{ "SHA512-CRYPT", SCHEME_CRYPT, NULL, false },
	{ "BLF-CRYPT", SCHEME_CRYPT, NULL, false },
};

int password_mem_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

const char *password_get_scheme(const char *stored, char *buf, size_t bufsize,
				const char **rest_r)
{
	if (stored[0] != '{')
		return NULL;
	const char *end = strchr(stored, '}');
	if (end == NULL || (size_t)(end - stored - 1) >= bufsize)
		return NULL;
	size_t n = (size_t)(end - stored - 1);
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)toupper((unsigned char)stored[i + 1]);
	buf[n] = '\0';
	*rest_r = end + 1;
	return buf;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int decode_hex(const char *s, unsigned char *out, size_t *len_r)
{
	size_t n = strlen(s);
	if (n % 2 != 0 || n / 2 > MAX_STORED_DECODED)
		return -1;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	*len_r = n / 2;
	return 0;
}

static int decode_base64(const char *s, unsigned char *out, size_t *len_r)
{
	size_t n = strlen(s);
	if (n == 0 || n % 4 != 0 || n / 4 * 3 > MAX_STORED_DECODED)
		return -1;
	int r = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
	if (r < 0)
		return -1;
	size_t len = (size_t)r;
	/* EVP_DecodeBlock counts padding as zero bytes. */
	for (size_t i = n; i > 0 && s[i - 1] == '='; i--)
		len--;
	*len_r = len;
	return 0;
}

static int digest(const char *name, const char *p1, size_t l1,
		  const unsigned char *p2, size_t l2, unsigned char *out,
		  unsigned int *len_r)
{
	const EVP_MD *md = EVP_get_digestbyname(name);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = md != NULL && ctx != NULL &&
		 EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
		 EVP_DigestUpdate(ctx, p1, l1) == 1 &&
		 (l2 == 0 || EVP_DigestUpdate(ctx, p2, l2) == 1) &&
		 EVP_DigestFinal_ex(ctx, out, len_r) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

static enum password_verify_result
verify_digest(const struct scheme *s, const char *plain, const char *data,
	      int encoding, const char **error_r)
{
	unsigned char stored[MAX_STORED_DECODED], calc[EVP_MAX_MD_SIZE];
	unsigned int calc_len;
	size_t stored_len;
	const EVP_MD *md = EVP_get_digestbyname(s->digest);
	size_t dlen = md != NULL ? (size_t)EVP_MD_get_size(md) : 0;
	/* encoding: 'h' hex, 'b' base64, 0 = guess from the length. */
	if (encoding == 0)
		encoding = s->hex_default || (strlen(data) == dlen * 2 &&
			   s->kind == SCHEME_DIGEST) ? 'h' : 'b';
	if ((encoding == 'h' ? decode_hex(data, stored, &stored_len) :
	     decode_base64(data, stored, &stored_len)) < 0 || dlen == 0) {
		*error_r = "malformed stored password";
		return PASSWORD_ERROR;
	}
	if (stored_len < dlen || (s->kind == SCHEME_DIGEST &&
				  stored_len != dlen)) {
		*error_r = "stored password has the wrong length";
		return PASSWORD_ERROR;
	}
	if (digest(s->digest, plain, strlen(plain), stored + dlen,
		   stored_len - dlen, calc, &calc_len) < 0) {
		*error_r = "digest failed";
		return PASSWORD_ERROR;
	}
	return password_mem_equal(calc, calc_len, stored, dlen) ?
	       PASSWORD_MATCH : PASSWORD_MISMATCH;
}

static enum password_verify_result
verify_crypt(const char *plain, const char *data, const char **error_r)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	if (cd == NULL) {
		*error_r = "out of memory";
		return PASSWORD_ERROR;
	}
	const char *res = crypt_r(plain, data, cd);
	enum password_verify_result r;
	/* libxcrypt returns "*0"/"*1" (or NULL) for an unusable setting. */
	if (res == NULL || res[0] == '*') {
		*error_r = "unsupported or malformed crypt hash";
		r = PASSWORD_ERROR;
	} else {
		r = password_mem_equal(res, strlen(res), data, strlen(data)) ?
		    PASSWORD_MATCH : PASSWORD_MISMATCH;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

enum password_verify_result
password_verify(const char *plain, const char *stored,
		const char *default_scheme, const char **error_r)
{
	char name[64];
	const char *data = stored;
	const char *scheme = password_get_scheme(stored, name, sizeof(name),
						 &data);
	int encoding = 0;
	if (scheme == NULL) {
		size_t n = strlen(default_scheme);
		if (n >= sizeof(name)) {
			*error_r = "unknown password scheme";
			return PASSWORD_ERROR;
		}
		for (size_t i = 0; i <= n; i++)
			name[i] = (char)toupper((unsigned char)default_scheme[i]);
		scheme = name;
	}
	char *dot = strrchr(name, '.');
	if (dot != NULL) {
		if (strcmp(dot, ".HEX") == 0)
			encoding = 'h';
		else if (strcmp(dot, ".B64") == 0 ||
			 strcmp(dot, ".BASE64") == 0)
			encoding = 'b';
		else {
			*error_r = "unknown password scheme encoding";
			return PASSWORD_ERROR;
		}
		*dot = '\0';
	}
	for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
		const struct scheme *s = &schemes[i];
		if (strcmp(s->name, scheme) != 0)
			continue;
		switch (s->kind) {
		case SCHEME_PLAIN:
			return password_mem_equal(plain, strlen(plain), data,
						  strlen(data)) ?
			       PASSWORD_MATCH : PASSWORD_MISMATCH;
		case SCHEME_DIGEST:
		case SCHEME_SALTED:
			return verify_digest(s, plain, data, encoding, error_r);
		case SCHEME_CRYPT:
			return verify_crypt(plain, data, error_r);
		}
	}
	*error_r = "unknown password scheme";
	return PASSWORD_ERROR;
}
