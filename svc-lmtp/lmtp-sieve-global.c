/* Loading sieve_before/sieve_after and the sieve_global include scripts
 * (see lmtp-sieve-global.h). Runs at start-up and at a reload, outside
 * any delivery, so plain blocking file reads are fine here. */
#include "lmtp-sieve-global.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define LMTP_SIEVE_GLOBAL_MAX_SETTINGS 99

static int lmtp_sieve_read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char tmp[8192];
	ssize_t n;
	buf_init(out, SIEVE_MAX_SCRIPT_SIZE);
	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (buf_append(out, tmp, (size_t)n) < 0) {
			errno = EFBIG;
			n = -1;
			break;
		}
	}
	int err = errno;
	close(fd);
	errno = err;
	return n < 0 ? -1 : 0;
}

static void lmtp_sieve_global_add(struct lmtp_sieve_global **list, size_t *n,
				  const char *path)
{
	struct buf src = BUF_INIT;
	if (lmtp_sieve_read_file(path, &src) < 0) {
		log_error(NULL, "sieve: cannot read global script %s: %s; "
			  "it will not run", path, strerror(errno));
		buf_free(&src);
		return;
	}
	struct sieve_script *script = NULL;
	char *error = NULL;
	if (sieve_script_compile(src.data != NULL ? src.data : "", src.len, 0,
				 &script, &error) < 0) {
		log_error(NULL, "sieve: global script %s does not compile: %s; "
			  "it will not run", path, error);
		free(error);
		buf_free(&src);
		return;
	}
	buf_free(&src);
	*list = xreallocarray(*list, *n + 1, sizeof(**list));
	(*list)[*n].path = xstrdup(path);
	(*list)[*n].script = script;
	(*n)++;
	log_info(NULL, "sieve: global script %s loaded", path);
}

static int lmtp_sieve_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void lmtp_sieve_global_dir(struct lmtp_sieve_global **list,
				  size_t *n, const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		log_error(NULL, "sieve: cannot open %s: %s", dir,
			  strerror(errno));
		return;
	}
	char **names = NULL;
	size_t n_names = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len <= 6 || e->d_name[0] == '.' ||
		    strcmp(e->d_name + len - 6, ".sieve") != 0)
			continue;
		names = xreallocarray(names, n_names + 1, sizeof(*names));
		names[n_names++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n_names, sizeof(*names), lmtp_sieve_name_cmp);
	for (size_t i = 0; i < n_names; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		lmtp_sieve_global_add(list, n, path);
		free(path);
		free(names[i]);
	}
	free(names);
}

/* "file:/path;opt=x" -> "/path" (malloc'd). */
static char *lmtp_sieve_location_path(const char *value)
{
	if (strncmp(value, "file:", 5) == 0)
		value += 5;
	return xstrndup(value, strcspn(value, ";"));
}

static void lmtp_sieve_global_setting(struct lmtp_sieve_global **list,
				      size_t *n, const char *value)
{
	char *path = lmtp_sieve_location_path(value);
	struct stat st;
	if (path[0] != '/') {
		log_error(NULL, "sieve: global script location %s is not an "
			  "absolute path; it will not run", value);
	} else if (stat(path, &st) < 0) {
		log_error(NULL, "sieve: global script location %s: %s", path,
			  strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		lmtp_sieve_global_dir(list, n, path);
	} else {
		lmtp_sieve_global_add(list, n, path);
	}
	free(path);
}

static void lmtp_sieve_globals_read(const struct config *cfg,
				    const char *name,
				    struct lmtp_sieve_global **list, size_t *n)
{
	for (unsigned int i = 1; i <= LMTP_SIEVE_GLOBAL_MAX_SETTINGS; i++) {
		char key[32];
		if (i == 1)
			snprintf(key, sizeof(key), "%s", name);
		else
			snprintf(key, sizeof(key), "%s%u", name, i);
		const char *v = config_plugin_get(cfg, "lmtp", key);
		if (v == NULL || *v == '\0')
			break;
		lmtp_sieve_global_setting(list, n, v);
	}
}

/* sieve_global, else sieve_global_dir: a directory of NAME.sieve files. */
static void lmtp_sieve_includes_read(const struct config *cfg,
				     struct lmtp_sieve_globals *g)
{
	const char *v = config_plugin_get(cfg, "lmtp", "sieve_global");
	if (v == NULL || *v == '\0')
		v = config_plugin_get(cfg, "lmtp", "sieve_global_dir");
	if (v == NULL || *v == '\0')
		return;
	char *path = lmtp_sieve_location_path(v);
	struct stat st;
	if (path[0] != '/')
		log_error(NULL, "sieve: sieve_global %s is not an absolute "
			  "path; include :global finds nothing", v);
	else if (stat(path, &st) < 0)
		log_error(NULL, "sieve: sieve_global %s: %s; include :global "
			  "finds nothing", path, strerror(errno));
	else if (!S_ISDIR(st.st_mode))
		log_error(NULL, "sieve: sieve_global %s is not a directory; "
			  "include :global finds nothing", path);
	else
		lmtp_sieve_global_dir(&g->includes, &g->n_includes, path);
	free(path);
}

void lmtp_sieve_globals_load(struct lmtp_sieve_globals *g,
			     const struct config *cfg)
{
	memset(g, 0, sizeof(*g));
	lmtp_sieve_globals_read(cfg, "sieve_before", &g->before, &g->n_before);
	lmtp_sieve_globals_read(cfg, "sieve_after", &g->after, &g->n_after);
	lmtp_sieve_includes_read(cfg, g);
	const char *depth = config_plugin_get(cfg, "lmtp",
					      "sieve_include_max_nesting_depth");
	if (depth != NULL && *depth != '\0') {
		unsigned long n = strtoul(depth, NULL, 10);
		g->max_include_depth = n > 1000 ? 1000 : (unsigned int)n;
	}
	const char *max = config_plugin_get(cfg, "lmtp",
					    "sieve_include_max_includes");
	if (max != NULL && *max != '\0') {
		unsigned long n = strtoul(max, NULL, 10);
		g->max_includes = n > 65535 ? 65535 : (unsigned int)n;
	}
}

const struct sieve_script *
lmtp_sieve_global_include(const struct lmtp_sieve_globals *g,
			  const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < g->n_includes; i++) {
		const char *base = strrchr(g->includes[i].path, '/');
		base = base != NULL ? base + 1 : g->includes[i].path;
		if (strncmp(base, name, len) == 0 &&
		    strcmp(base + len, ".sieve") == 0)
			return g->includes[i].script;
	}
	return NULL;
}

static void lmtp_sieve_globals_free_list(struct lmtp_sieve_global *list,
					 size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(list[i].path);
		sieve_script_free(&list[i].script);
	}
	free(list);
}

void lmtp_sieve_globals_free(struct lmtp_sieve_globals *g)
{
	lmtp_sieve_globals_free_list(g->before, g->n_before);
	lmtp_sieve_globals_free_list(g->after, g->n_after);
	lmtp_sieve_globals_free_list(g->includes, g->n_includes);
	memset(g, 0, sizeof(*g));
}
