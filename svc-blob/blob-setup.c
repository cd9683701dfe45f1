/* Turns the configuration into svc-blob's two fs chains: obox_fs for
 * mail objects (under a compress layer for the zlib plugin: zlib_save
 * compresses on save, reads always auto-detect) and obox_index_fs for
 * index bundles; plus the parallelism limits (mail_prefetch_count and
 * obox_max_parallel_*, which default to it). The limits apply to each
 * chain on its own (see http-client.c). */
#include "blob.h"
#include "blob-keys.h"
#include "buf.h"
#include "fs-drivers.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

static bool zlib_enabled(const struct config *cfg)
{
	static const char *const protos[] = { NULL, "lmtp", "imap", "pop3" };
	for (size_t i = 0; i < N_ELEMENTS(protos); i++) {
		if (config_mail_plugin_enabled(cfg, protos[i], "zlib"))
			return true;
	}
	return false;
}

static unsigned int plugin_uint(const struct config *cfg, const char *key,
				unsigned int def)
{
	const char *v = config_plugin_get(cfg, NULL, key);
	uint64_t n;
	if (v == NULL || v[0] == '\0' || config_parse_uint(v, &n) < 0)
		return def;
	return n == 0 ? 1 : n > 10000 ? 10000 : (unsigned int)n;
}

/* Level for the mail chain's compress layer: 0 = detect only. */
static int zlib_level(const struct config *cfg, unsigned int *level_r,
		      char **error_r)
{
	*level_r = 0;
	if (!zlib_enabled(cfg))
		return 0;
	const char *save = config_plugin_get(cfg, NULL, "zlib_save");
	if (save == NULL || save[0] == '\0')
		return 0;
	if (strcmp(save, "gz") != 0 && strcmp(save, "gzip") != 0 &&
	    strcmp(save, "deflate") != 0) {
		*error_r = xasprintf("zlib_save = %s: only gz (gzip) and deflate are supported", save);
		return -1;
	}
	const char *lv = config_plugin_get(cfg, NULL, "zlib_save_level");
	uint64_t n = 6;
	if (lv != NULL && lv[0] != '\0' &&
	    (config_parse_uint(lv, &n) < 0 || n < 1 || n > 9)) {
		*error_r = xasprintf("zlib_save_level = %s: must be 1..9", lv);
		return -1;
	}
	*level_r = (unsigned int)n;
	return 0;
}

int blob_init(struct blob *blob, const struct config *cfg, struct loop *loop,
	      char **error_r)
{
	struct fs_settings set;
	uint64_t prefetch = config_get_uint(cfg, NULL, "mail_prefetch_count");
	unsigned int level;
	char *err = NULL;

	memset(blob, 0, sizeof(*blob));
	blob->loop = loop;
	blob->key_tmpl = blob_keys_template(config_get(cfg, NULL, "mail_location"));
	/* 0 = no parallel prefetch in Dovecot: one request at a time */
	set.max_parallel_gets = prefetch == 0 ? 1 :
		prefetch > 10000 ? 10000 : (unsigned int)prefetch;
	set.max_parallel_writes = plugin_uint(cfg, "obox_max_parallel_writes", set.max_parallel_gets);
	set.max_parallel_copies = plugin_uint(cfg, "obox_max_parallel_copies", set.max_parallel_gets);
	set.max_parallel_deletes = plugin_uint(cfg, "obox_max_parallel_deletes", set.max_parallel_gets);
	set.user = NULL;
	const char *fsync = config_get(cfg, NULL, "mail_fsync");
	set.no_fsync = fsync != NULL && strcmp(fsync, "never") == 0;
	if (zlib_level(cfg, &level, error_r) < 0)
		return -1;

	const char *mail = config_plugin_get(cfg, NULL, "obox_fs");
	const char *index = config_plugin_get(cfg, NULL, "obox_index_fs");
	if (mail != NULL && mail[0] != '\0') {
		if (fs_init(mail, loop, &blob->stats, &set, &blob->mail_fs, &err) < 0) {
			*error_r = xasprintf("plugin/obox_fs: %s", err);
			free(err);
			blob_deinit(blob);
			return -1;
		}
		struct fs *z = xcalloc(1, sizeof(*z));
		z->loop = loop;
		z->stats = &blob->stats;
		z->parent = blob->mail_fs;
		(void)fs_compress_init(z, level, &err);
		blob->mail_fs = z;
	}
	if (index != NULL && index[0] != '\0' &&
	    fs_init(index, loop, &blob->stats, &set, &blob->index_fs, &err) < 0) {
		*error_r = xasprintf("plugin/obox_index_fs: %s", err);
		free(err);
		blob_deinit(blob);
		return -1;
	}
	for (const struct fs *f = blob->index_fs; f != NULL; f = f->parent) {
		if (strcmp(f->v->name, "fscache") == 0) {
			/* Another backend's bundle is not in this cache. */
			log_warning(NULL, "plugin/obox_index_fs: an fscache: "
				    "layer answers bundle HEAD/GET from this "
				    "backend's copy; backends sharing users "
				    "(README \"Fleet\") need it without one");
			break;
		}
	}
	log_info(NULL, "mail objects: %s; index bundles: %s; zlib_save level %u; "
		 "parallel (per chain) gets %u writes %u copies %u deletes %u",
		 blob->mail_fs ? "configured" : "not configured",
		 blob->index_fs ? "configured" : "not configured", level,
		 set.max_parallel_gets, set.max_parallel_writes,
		 set.max_parallel_copies, set.max_parallel_deletes);
	return 0;
}

void blob_deinit(struct blob *blob)
{
	fs_deinit(&blob->mail_fs);
	fs_deinit(&blob->index_fs);
	free(blob->key_tmpl);
	blob->key_tmpl = NULL;
}
