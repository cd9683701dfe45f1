/* URLAUTH's INTERNAL mechanism (see imap-urlauth.h) on libcrypto. */
#include "imap-urlauth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

int imap_urlauth_new_key(unsigned char key[IMAP_URLAUTH_KEY_LEN])
{
	return RAND_bytes(key, IMAP_URLAUTH_KEY_LEN) == 1 ? 0 : -1;
}

void imap_urlauth_token(const void *key, size_t key_len, const char *rump,
			size_t len, char out[IMAP_URLAUTH_TOKEN_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (HMAC(EVP_sha1(), key, (int)key_len, (const unsigned char *)rump,
		 len, mac, &mac_len) == NULL || mac_len * 2 !=
	    IMAP_URLAUTH_TOKEN_LEN) {
		/* never a valid token: URLFETCH compares against it */
		memset(out, 'x', IMAP_URLAUTH_TOKEN_LEN);
		out[IMAP_URLAUTH_TOKEN_LEN] = '\0';
		return;
	}
	for (unsigned int i = 0; i < mac_len; i++) {
		out[2 * i] = digits[mac[i] >> 4];
		out[2 * i + 1] = digits[mac[i] & 15];
	}
	out[IMAP_URLAUTH_TOKEN_LEN] = '\0';
}

bool imap_urlauth_token_ok(const void *key, size_t key_len, const char *rump,
			   size_t len, const char *token, size_t token_len)
{
	if (token_len != IMAP_URLAUTH_TOKEN_LEN)
		return false;
	char want[IMAP_URLAUTH_TOKEN_LEN + 1], got[IMAP_URLAUTH_TOKEN_LEN];
	imap_urlauth_token(key, key_len, rump, len, want);
	for (size_t i = 0; i < token_len; i++) {
		char c = token[i];
		got[i] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
	}
	return CRYPTO_memcmp(want, got, IMAP_URLAUTH_TOKEN_LEN) == 0;
}
