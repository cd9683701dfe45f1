/* Test helpers: load files from lib/mail/testdata and golden items. */
#ifndef STRATUS_TEST_MAIL_GOLDEN_H
#define STRATUS_TEST_MAIL_GOLDEN_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static inline char *testdata_path(const char *rel)
{
	const char *src = getenv("STRATUS_SRCDIR");

	return xasprintf("%s/lib/mail/testdata/%s", src != NULL ? src : ".",
			 rel);
}

/* Reads a whole file; aborts the test run when it is missing. */
static inline char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "cannot open %s\n", path);
		abort();
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		(void)buf_append(&b, chunk, n);
	fclose(f);
	*len_r = b.len;
	return buf_steal(&b);
}

/* Finds item in a golden file; returns a heap copy or NULL. */
static inline char *golden_item(const char *golden, size_t glen,
				const char *item, size_t *len_r)
{
	const char *p = golden, *end = golden + glen;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		size_t namelen = (size_t)(nl - p);
		char *e;
		unsigned long n = strtoul(nl + 1, &e, 10);
		const char *v = e + 1;
		if (namelen == strlen(item) && memcmp(p, item, namelen) == 0) {
			*len_r = n;
			return xstrndup(v, n);
		}
		p = v + n + 1;
	}
	return NULL;
}

static inline int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of testdata/msg/ *.eml base names (without .eml). */
static inline unsigned int list_messages(char ***names_r)
{
	char *dir = testdata_path("msg");
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	unsigned int n = 0;

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".eml") != 0)
			continue;
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrndup(de->d_name, l - 4);
	}
	closedir(d);
	free(dir);
	qsort(names, n, sizeof(*names), strcmp_ptr);
	*names_r = names;
	return n;
}

#endif
