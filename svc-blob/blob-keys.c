/* Per-user key construction and key validation (see blob-keys.h). */
#include "blob-keys.h"
#include "buf.h"
#include "fs.h"
#include "fs-chain.h"
#include "var-expand.h"

#include <stdlib.h>
#include <string.h>

char *blob_keys_template(const char *mail_location)
{
	if (mail_location == NULL || strncmp(mail_location, "obox:", 5) != 0)
		return xstrdup("%u");
	const char *p = mail_location + 5;
	size_t len = strcspn(p, ":");
	while (len > 0 && p[len - 1] == '/')
		len--;
	if (len == 0)
		return xstrdup("%u");
	return xstrndup(p, len);
}

static bool key_chars_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c < 0x20 || c == 0x7f || c == '\\')
			return false;
	}
	return true;
}

char *blob_keys_user_prefix(const char *tmpl, const char *user,
			    const char **error_r)
{
	if (user == NULL || user[0] == '\0') {
		*error_r = "empty user";
		return NULL;
	}
	if (strlen(user) > 255 || strchr(user, '/') != NULL ||
	    strcmp(user, ".") == 0 || strcmp(user, "..") == 0 ||
	    !key_chars_ok(user)) {
		*error_r = "user name cannot be part of a storage key";
		return NULL;
	}
	struct var_expand_user vu;
	struct buf out;
	var_expand_user_init(&vu, user, "blob", NULL);
	buf_init(&out, FS_KEY_MAX);
	int ret = var_expand(&out, tmpl, vu.table, NULL, NULL, error_r);
	var_expand_user_deinit(&vu);
	if (ret == 0 && buf_append_c(&out, '/') < 0) {
		*error_r = "user prefix too long";
		ret = -1;
	}
	if (ret == 0 && (out.data[0] == '/' || path_has_dot_part(out.data))) {
		*error_r = "user prefix is not a relative path";
		ret = -1;
	}
	if (ret < 0) {
		buf_free(&out);
		return NULL;
	}
	return buf_steal(&out);
}

bool blob_key_valid(const char *key, bool allow_empty, const char **error_r)
{
	size_t len = key == NULL ? 0 : strlen(key);
	if (len == 0) {
		*error_r = "empty key";
		return allow_empty;
	}
	if (len > FS_KEY_MAX / 2) {
		*error_r = "key too long";
		return false;
	}
	if (key[0] == '/' || strstr(key, "//") != NULL) {
		*error_r = "key must be relative without empty parts";
		return false;
	}
	if (!key_chars_ok(key)) {
		*error_r = "key contains control characters";
		return false;
	}
	if (path_has_dot_part(key)) {
		*error_r = "key must not contain . or .. parts";
		return false;
	}
	return true;
}
