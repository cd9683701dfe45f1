/* passwd-file format (Dovecot's): user:password:uid:gid:gecos:home:shell:
 * extra fields, one user per line, '#' comments. The parser takes one
 * untrusted line and is fuzzed (tests/fuzz/fuzz-passwd-file.c). */
#ifndef PASSWD_FILE_H
#define PASSWD_FILE_H

#include "auth-common.h"

#define PASSWD_FILE_MAX_LINE (64 * 1024)
#define PASSWD_FILE_MAX_SIZE (256 * 1024 * 1024)

struct passwd_entry {
	char *user;
	char *password;		/* may be "" (no password) */
	char *uid, *gid, *gecos, *home, *shell;
	struct auth_fields extra;	/* space-separated key=value */
};

/* 1 = entry parsed, 0 = blank or comment line, -1 = malformed
 * (*error_r static). line need not be NUL-terminated. */
int passwd_file_parse_line(const char *line, size_t len,
			   struct passwd_entry *e, const char **error_r);
void passwd_entry_clear(struct passwd_entry *e);

struct passwd_file;

/* The file is read on first use and again whenever its mtime, size or
 * inode change. */
struct passwd_file *passwd_file_new(const char *path);
void passwd_file_free(struct passwd_file **pf);
/* NULL when not found; -1 in *failed_r when the file cannot be read. The
 * entry stays valid until the next lookup. */
const struct passwd_entry *passwd_file_lookup(struct passwd_file *pf,
					      const char *user,
					      bool *failed_r);
/* Calls cb per user in file order; -1 when the file cannot be read. */
int passwd_file_iterate(struct passwd_file *pf,
			void (*cb)(const char *user, void *ctx), void *ctx);

#endif
