/* lib/sieve/sieve-storage: the layout of a user's Sieve scripts in object
 * storage, in one place for every program that reads or writes them
 * (svc-managesieve, svc-lmtp, stratusctl sieve). Pure: names, keys, the
 * quota rule and the compile step; no I/O (each caller talks to svc-blob
 * its own way, asynchronously or not).
 *
 * Per user, blob chain CHAIN_MAIL, keys relative to the user's prefix:
 *   "sieve/NAME"        the script source as the user sent it
 *   "sieve/NAME.svbin"  its compiled form (sieve_binary_save)
 *   "sieve/.active"     the active script's NAME (no newline); absent =
 *                       no active script
 * Writers store the source first and the binary second, so a reader that
 * finds a binary also finds its source. */
#ifndef STRATUS_SIEVE_STORAGE_H
#define STRATUS_SIEVE_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIEVE_STORAGE_PREFIX "sieve/"
#define SIEVE_STORAGE_ACTIVE_KEY "sieve/.active"
#define SIEVE_STORAGE_BINARY_SUFFIX ".svbin"
#define SIEVE_STORAGE_MAX_NAME_LEN 256

/* RFC 5804 1.6 (no control characters) plus what the keys need: not
 * empty, at most SIEVE_STORAGE_MAX_NAME_LEN bytes, no NUL, no '/', no
 * leading '.', no ".svbin" suffix. */
bool sieve_storage_name_valid(const char *name, size_t len);

/* "sieve/NAME" or "sieve/NAME.svbin"; malloc'd, the caller frees. */
char *sieve_storage_script_key(const char *name);
char *sieve_storage_binary_key(const char *name);

/* For a key listed under SIEVE_STORAGE_PREFIX: the script name inside it
 * (pointing into key), or NULL when the key is not a script (.active,
 * a binary, anything odd). */
const char *sieve_storage_key_script_name(const char *key);

/* One script as listed. */
struct sieve_storage_entry {
	char *name;
	uint64_t size;
};
void sieve_storage_entries_free(struct sieve_storage_entry *entries,
				size_t n);

/* sieve_max_script_size, sieve_quota_max_scripts, sieve_quota_max_storage
 * (0 = no limit for the two quotas). */
struct sieve_storage_limits {
	uint64_t max_script_size;
	unsigned int max_scripts;
	uint64_t max_storage;
};

/* Would storing `size` bytes as `name` next to the listed scripts exceed
 * the limits? NULL when not; otherwise the RFC 5804 response code
 * ("QUOTA/MAXSIZE", "QUOTA/MAXSCRIPTS", "QUOTA/MAXSTORAGE") with the
 * human text in *text_r (both static). Replacing a script counts only its
 * new size. */
const char *sieve_storage_quota_check(const struct sieve_storage_limits *lim,
				      const char *name, uint64_t size,
				      const struct sieve_storage_entry *e,
				      size_t n, const char **text_r);

/* Compiles a script the way PUTSCRIPT does. Returns 0 and, when bin_r is
 * not NULL, the binary to store (malloc'd). Returns -1 with *error_r
 * (malloc'd): the compiler's "line L, column C: text" lines, at most
 * max_errors of them (0 = all), without a trailing newline after a
 * single error. max_size: 0 = SIEVE_MAX_SCRIPT_SIZE. */
int sieve_storage_compile(const char *src, size_t len, size_t max_size,
			  unsigned int max_errors, void **bin_r,
			  size_t *bin_len_r, char **error_r);

#endif
