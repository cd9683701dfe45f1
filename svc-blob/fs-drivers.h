/* Constructors of each driver and wrapper, called by fs-init.c while it
 * builds a chain from the innermost layer out. Each sets fs->v and
 * fs->priv, or returns -1 with *error_r (malloc'd). */
#ifndef STRATUS_FS_DRIVERS_H
#define STRATUS_FS_DRIVERS_H

#include "fs.h"
#include "fs-chain.h"

int fs_posix_init(struct fs *fs, const struct fs_layer *layer,
		  const struct fs_settings *set, char **error_r);
int fs_s3_init(struct fs *fs, const struct fs_layer *layer,
	       const struct fs_settings *set, char **error_r);
int fs_scality_init(struct fs *fs, const struct fs_layer *layer,
		    const struct fs_settings *set, char **error_r);
int fs_fscache_init(struct fs *fs, const struct fs_layer *layer,
		    char **error_r);
/* level 0: never compress on put, only auto-detect on get (zlib plugin
 * loaded with zlib_save unset). */
int fs_compress_init(struct fs *fs, unsigned int level, char **error_r);

/* Largest object svc-blob stores or inflates (a decompression bomb must
 * not fill memory). */
#define FS_MAX_OBJECT_SIZE ((uint64_t)2 << 30)

#endif
