/* passwd-file parsing and a reloading in-memory copy (see passwd-file.h). */
#include "passwd-file.h"
#include "auth-hash.h"
#include "sasl-mech.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct passwd_file {
	char *path;
	struct auth_hash *users;
	char **order;		/* user names in file order */
	size_t n_order;
	struct stat st;
	bool loaded;
};

void passwd_entry_clear(struct passwd_entry *e)
{
	free(e->user);
	if (e->password != NULL) {
		explicit_bzero(e->password, strlen(e->password));
		free(e->password);
	}
	free(e->uid);
	free(e->gid);
	free(e->gecos);
	free(e->home);
	free(e->shell);
	auth_fields_clear(&e->extra);
	memset(e, 0, sizeof(*e));
}

int passwd_file_parse_line(const char *line, size_t len,
			   struct passwd_entry *e, const char **error_r)
{
	memset(e, 0, sizeof(*e));
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i == len || line[i] == '#')
		return 0;
	if (len > PASSWD_FILE_MAX_LINE) {
		*error_r = "line too long";
		return -1;
	}
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "NUL in line";
		return -1;
	}
	if (!sasl_utf8_valid((const unsigned char *)line, len)) {
		*error_r = "invalid UTF-8";
		return -1;
	}
	char *fields[8] = { NULL };
	size_t start = 0, n = 0;
	for (size_t p = 0; p <= len && n < 8; p++) {
		/* The extra fields (8th) run to the end of the line. */
		if (p == len || (line[p] == ':' && n < 7)) {
			fields[n++] = xstrndup(line + start, p - start);
			start = p + 1;
		}
	}
	if (fields[0] == NULL || fields[0][0] == '\0') {
		*error_r = "empty user name";
		for (size_t k = 0; k < n; k++)
			free(fields[k]);
		return -1;
	}
	e->user = fields[0];
	e->password = fields[1] != NULL ? fields[1] : xstrdup("");
	e->uid = fields[2];
	e->gid = fields[3];
	e->gecos = fields[4];
	e->home = fields[5];
	e->shell = fields[6];
	if (fields[7] != NULL) {
		auth_fields_parse_args(&e->extra, fields[7]);
		free(fields[7]);
	}
	return 1;
}

struct passwd_file *passwd_file_new(const char *path)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	return pf;
}

static void entry_free(void *value)
{
	struct passwd_entry *e = value;
	passwd_entry_clear(e);
	free(e);
}

static void passwd_file_unload(struct passwd_file *pf)
{
	auth_hash_free(&pf->users, entry_free);
	for (size_t i = 0; i < pf->n_order; i++)
		free(pf->order[i]);
	free(pf->order);
	pf->order = NULL;
	pf->n_order = 0;
	pf->loaded = false;
}

void passwd_file_free(struct passwd_file **_pf)
{
	struct passwd_file *pf = *_pf;
	if (pf == NULL)
		return;
	*_pf = NULL;
	passwd_file_unload(pf);
	free(pf->path);
	free(pf);
}

static int passwd_file_load(struct passwd_file *pf)
{
	FILE *f = fopen(pf->path, "r");
	if (f == NULL) {
		log_error(NULL, "passwd-file %s: %m", pf->path);
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || st.st_size > PASSWD_FILE_MAX_SIZE) {
		log_error(NULL, "passwd-file %s: unreadable or too large",
			  pf->path);
		fclose(f);
		return -1;
	}
	passwd_file_unload(pf);
	pf->users = auth_hash_new();
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned int lineno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		struct passwd_entry e;
		const char *error;
		lineno++;
		int r = passwd_file_parse_line(line, (size_t)n, &e, &error);
		if (r < 0) {
			log_warning(NULL, "passwd-file %s:%u: %s; line ignored",
				    pf->path, lineno, error);
			continue;
		}
		if (r == 0)
			continue;
		if (auth_hash_get(pf->users, e.user) != NULL) {
			log_warning(NULL, "passwd-file %s:%u: duplicate user "
				    "%s; the first one counts", pf->path,
				    lineno, e.user);
			passwd_entry_clear(&e);
			continue;
		}
		struct passwd_entry *copy = xmalloc(sizeof(*copy));
		*copy = e;
		auth_hash_set(pf->users, copy->user, copy);
		pf->order = xreallocarray(pf->order, pf->n_order + 1,
					  sizeof(char *));
		pf->order[pf->n_order++] = xstrdup(copy->user);
	}
	free(line);
	fclose(f);
	pf->st = st;
	pf->loaded = true;
	return 0;
}

static int passwd_file_refresh(struct passwd_file *pf)
{
	struct stat st;
	if (stat(pf->path, &st) < 0) {
		log_error(NULL, "passwd-file %s: %m", pf->path);
		return -1;
	}
	if (pf->loaded && st.st_mtim.tv_sec == pf->st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == pf->st.st_mtim.tv_nsec &&
	    st.st_size == pf->st.st_size && st.st_ino == pf->st.st_ino)
		return 0;
	return passwd_file_load(pf);
}

const struct passwd_entry *passwd_file_lookup(struct passwd_file *pf,
					      const char *user,
					      bool *failed_r)
{
	*failed_r = passwd_file_refresh(pf) < 0;
	if (*failed_r)
		return NULL;
	return auth_hash_get(pf->users, user);
}

int passwd_file_iterate(struct passwd_file *pf,
			void (*cb)(const char *user, void *ctx), void *ctx)
{
	if (passwd_file_refresh(pf) < 0)
		return -1;
	for (size_t i = 0; i < pf->n_order; i++)
		cb(pf->order[i], ctx);
	return 0;
}
