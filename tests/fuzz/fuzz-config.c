/* libFuzzer target for the configuration parser: any bytes go through
 * config_load_string(); a configuration that loads must dump, and its
 * dump must load back to the same dump. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* glibc: POSIX and GNU interfaces */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct config *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		abort();
	config_dump(cfg, false, f);
	if (fclose(f) != 0)
		abort();
	return text;
}

static void count_cb(const char *key, const char *file, unsigned int line,
		     void *ctx)
{
	(void)key;
	(void)file;
	(void)line;
	(*(unsigned int *)ctx)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL, *cfg2 = NULL;
	char *error = NULL, *text, *text2;
	unsigned int n = 0;

	if (config_load_string((const char *)data, size, "fuzz.conf", &cfg,
			       &error) < 0) {
		if (error == NULL || cfg != NULL)
			abort();
		free(error);
		return 0;
	}
	(void)config_get(cfg, "imap", "mail_plugins");
	(void)config_get_size(cfg, NULL, "auth_cache_size");
	(void)config_get_msecs(cfg, "lmtp", "auth_cache_ttl");
	(void)config_plugin_get(cfg, "imap", "quota");
	config_foreach_not_yet(cfg, NULL, count_cb, &n);

	text = dump(cfg);
	if (config_load_string(text, strlen(text), "dump.conf", &cfg2,
			       &error) < 0) {
		fprintf(stderr, "dump does not load back: %s\n%s\n", error,
			text);
		abort();
	}
	text2 = dump(cfg2);
	if (strcmp(text, text2) != 0) {
		fprintf(stderr, "dump changed on reload:\n%s\n---\n%s\n", text,
			text2);
		abort();
	}
	free(text);
	free(text2);
	config_free(&cfg2);
	config_free(&cfg);
	return 0;
}
