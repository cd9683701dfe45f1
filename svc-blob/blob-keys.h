/* Storage keys: the per-user prefix from mail_location
 * (obox:%2Mu/%2.3Mu/%u:INDEX=~/:CONTROL=~/ gives "ab/cde/user@host/")
 * and the validation of caller-supplied keys, so that no request can
 * name an object outside its user's prefix. */
#ifndef STRATUS_BLOB_KEYS_H
#define STRATUS_BLOB_KEYS_H

#include <stdbool.h>

/* The %-template of the user prefix ("%2Mu/%2.3Mu/%u") from a
 * mail_location; "%u" when mail_location is not obox (or empty). */
char *blob_keys_template(const char *mail_location);

/* "ab/cde/user/" for `user`; NULL with *error_r (static) for a user name
 * that cannot be part of a key. */
char *blob_keys_user_prefix(const char *tmpl, const char *user,
			    const char **error_r);

/* A relative key from a caller: 1..FS_KEY_MAX bytes, printable, no
 * leading '/', no "//", no "." or ".." parts. An empty key is allowed
 * only when allow_empty (list prefixes). */
bool blob_key_valid(const char *key, bool allow_empty, const char **error_r);

#endif
