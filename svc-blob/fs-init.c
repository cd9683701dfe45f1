/* Builds an fs chain from a parsed fs string: the driver first, then each
 * wrapper around the previous layer (see fs.h, fs-chain.h). */
#include "fs.h"
#include "fs-chain.h"
#include "fs-drivers.h"
#include "buf.h"

#include <stdlib.h>

static struct fs *fs_alloc(struct loop *loop, struct blob_stats *stats,
			   struct fs *parent)
{
	struct fs *fs = xcalloc(1, sizeof(*fs));
	fs->loop = loop;
	fs->stats = stats;
	fs->parent = parent;
	return fs;
}

int fs_init(const char *str, struct loop *loop, struct blob_stats *stats,
	    const struct fs_settings *set, struct fs **fs_r, char **error_r)
{
	struct fs_chain chain;
	struct fs *top = NULL;
	int ret = 0;

	if (fs_chain_parse(str, &chain, error_r) < 0)
		return -1;
	for (unsigned int i = chain.n_layers; i-- > 0 && ret == 0;) {
		const struct fs_layer *l = &chain.layers[i];
		struct fs *fs = fs_alloc(loop, stats, top);
		switch (l->kind) {
		case FS_LAYER_POSIX:
			ret = fs_posix_init(fs, l, set, error_r);
			break;
		case FS_LAYER_S3:
			ret = fs_s3_init(fs, l, set, error_r);
			break;
		case FS_LAYER_SCALITY:
			ret = fs_scality_init(fs, l, set, error_r);
			break;
		case FS_LAYER_FSCACHE:
			ret = fs_fscache_init(fs, l, error_r);
			break;
		case FS_LAYER_COMPRESS:
			ret = fs_compress_init(fs, l->level, error_r);
			break;
		}
		if (ret < 0)
			free(fs);
		else
			top = fs;
	}
	fs_chain_free(&chain);
	if (ret < 0) {
		fs_deinit(&top);
		return -1;
	}
	*fs_r = top;
	return 0;
}

void fs_deinit(struct fs **_fs)
{
	struct fs *fs = *_fs;
	*_fs = NULL;
	while (fs != NULL) {
		struct fs *parent = fs->parent;
		fs->v->free(fs);
		free(fs->req_user);
		free(fs);
		fs = parent;
	}
}

void fs_set_request_user(struct fs *fs, const char *user)
{
	while (fs->parent != NULL)
		fs = fs->parent;
	free(fs->req_user);
	fs->req_user = user != NULL ? xstrdup(user) : NULL;
}
