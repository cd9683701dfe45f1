/* URLAUTH (RFC 4467) keys and tokens. Each user has one access key per
 * mailbox, kept in svc-blob (CHAIN_INDEX, IMAP_URLAUTH_KEYS_KEY) in the
 * stored form of imap-metadata.h: scope is the mailbox GUID (so a key
 * follows a RENAME and a new mailbox of a deleted one's name has none),
 * name IMAP_URLAUTH_KEY_NAME, value the key's bytes. It is an object of
 * its own, not the METADATA one, so GETMETADATA/SETMETADATA never see or
 * set it. The INTERNAL mechanism's token is HMAC-SHA1 over the URL's rump
 * with the key, in hex (40 digits). */
#ifndef IMAP_URLAUTH_H
#define IMAP_URLAUTH_H

#include <stdbool.h>
#include <stddef.h>

#define IMAP_URLAUTH_KEYS_KEY "imap-urlauth-keys"
#define IMAP_URLAUTH_KEY_NAME "/private/vendor/vendor.stratus/urlauth-internal"
#define IMAP_URLAUTH_KEY_LEN 32
#define IMAP_URLAUTH_TOKEN_LEN 40
#define IMAP_URLAUTH_MECH "INTERNAL"

/* A new random key (OpenSSL's RAND_bytes); -1 when it has none. */
int imap_urlauth_new_key(unsigned char key[IMAP_URLAUTH_KEY_LEN]);
/* The token of rump[0..len) under key, NUL-ended lower-case hex. */
void imap_urlauth_token(const void *key, size_t key_len, const char *rump,
			size_t len, char out[IMAP_URLAUTH_TOKEN_LEN + 1]);
/* Whether token (hex, either case) is the token of rump; compared in
 * constant time. */
bool imap_urlauth_token_ok(const void *key, size_t key_len, const char *rump,
			   size_t len, const char *token, size_t token_len);

#endif
