/* The storage layout of a user's Sieve scripts; see sieve-storage.h.
 * Kept free of I/O so that the asynchronous service and the synchronous
 * admin command agree on every name and rule. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "sieve.h"
#include "sieve-storage.h"

#define SUFFIX_LEN (sizeof(SIEVE_STORAGE_BINARY_SUFFIX) - 1)

static bool has_binary_suffix(const char *name, size_t len)
{
	return len > SUFFIX_LEN &&
	       memcmp(name + len - SUFFIX_LEN, SIEVE_STORAGE_BINARY_SUFFIX,
		      SUFFIX_LEN) == 0;
}

bool sieve_storage_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > SIEVE_STORAGE_MAX_NAME_LEN ||
	    strlen(name) != len || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return false;
	}
	return !has_binary_suffix(name, len);
}

char *sieve_storage_script_key(const char *name)
{
	return xasprintf(SIEVE_STORAGE_PREFIX "%s", name);
}

char *sieve_storage_binary_key(const char *name)
{
	return xasprintf(SIEVE_STORAGE_PREFIX "%s" SIEVE_STORAGE_BINARY_SUFFIX,
			 name);
}

const char *sieve_storage_key_script_name(const char *key)
{
	const size_t plen = sizeof(SIEVE_STORAGE_PREFIX) - 1;
	const char *name;

	if (strncmp(key, SIEVE_STORAGE_PREFIX, plen) != 0)
		return NULL;
	name = key + plen;
	/* Whatever a writer other than us left there (a "dir/x" key, an
	 * overlong name) is not offered as a script that cannot then be
	 * named in a command. */
	return sieve_storage_name_valid(name, strlen(name)) ? name : NULL;
}

void sieve_storage_entries_free(struct sieve_storage_entry *entries,
				size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(entries[i].name);
	free(entries);
}

const char *sieve_storage_quota_check(const struct sieve_storage_limits *lim,
				      const char *name, uint64_t size,
				      const struct sieve_storage_entry *e,
				      size_t n, const char **text_r)
{
	uint64_t total = size;
	size_t others = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].name, name) != 0) {
			total += e[i].size;
			others++;
		}
	}
	if (lim->max_script_size != 0 && size > lim->max_script_size) {
		*text_r = "Script is too large.";
		return "QUOTA/MAXSIZE";
	}
	if (lim->max_scripts != 0 && others + 1 > lim->max_scripts) {
		*text_r = "Script count quota exceeded.";
		return "QUOTA/MAXSCRIPTS";
	}
	if (lim->max_storage != 0 && total > lim->max_storage) {
		*text_r = "Script storage quota exceeded.";
		return "QUOTA/MAXSTORAGE";
	}
	return NULL;
}

int sieve_storage_compile(const char *src, size_t len, size_t max_size,
			  unsigned int max_errors, void **bin_r,
			  size_t *bin_len_r, char **error_r)
{
	struct sieve_script *script;
	char *error, *p;
	unsigned int lines = 0;
	size_t elen;

	if (sieve_script_compile(src, len, max_size, &script, &error) == 0) {
		if (bin_r != NULL)
			sieve_binary_save(script, bin_r, bin_len_r);
		sieve_script_free(&script);
		return 0;
	}
	for (p = error; (p = strchr(p, '\n')) != NULL; p++) {
		if (++lines == max_errors) {
			p[1] = '\0';
			break;
		}
	}
	/* One error reads as a line of its own; several stay lines. */
	elen = strlen(error);
	if (lines <= 1 && elen > 0 && error[elen - 1] == '\n')
		error[elen - 1] = '\0';
	*error_r = error;
	return -1;
}
