/* The parsed form of a Dovecot fs string (obox_fs, obox_index_fs):
 * wrappers outermost first, then one driver. Parsing is pure (no I/O), so
 * it is unit-tested and fuzzed on its own (tests/fuzz/fuzz-fs-string.c).
 *
 *   fscache:SIZE:PATH:<rest>       SIZE as in config (1G, 512M)
 *   compress:ALG:LEVEL:<rest>      ALG gz|gzip|deflate, LEVEL 1..9
 *   posix:prefix=PATH[:mode=0600]
 *   s3:URL     scality:URL         http(s)://[KEY:SECRET@]host[:port]/path/?params
 *
 * `%%` in the string stands for `%` (Dovecot expands the string as a
 * template), and credentials are then %hex-decoded, so ':' in a secret is
 * written `%%3A`. addhdr keeps its %-variables (%2Mu ...) as a template
 * expanded per request with the user's values. */
#ifndef STRATUS_FS_CHAIN_H
#define STRATUS_FS_CHAIN_H

#include <stdbool.h>
#include <stdint.h>

#define FS_CHAIN_MAX_LAYERS 8
#define FS_STRING_MAX 4096

enum fs_layer_kind {
	FS_LAYER_FSCACHE,
	FS_LAYER_COMPRESS,
	FS_LAYER_POSIX,
	FS_LAYER_S3,
	FS_LAYER_SCALITY,
};

struct fs_http_url {
	bool https;
	char *host;		/* as written, for the Host header */
	unsigned int port;	/* 0 = scheme default */
	char *path;		/* base path, always ends with '/' */
	char *access_key, *secret;	/* decoded; NULL when absent */
	char *bucket;		/* ?bucket= (path style), else NULL */
	char *region;		/* ?region=, else derived, else us-east-1 */
	uint64_t connect_timeout_msecs;	/* default 5 s */
	unsigned int max_connect_retries;	/* default 2 */
	uint64_t timeout_msecs;		/* default 10 s */
	unsigned int max_retries;		/* default 4 */
	char *addhdr_name, *addhdr_value;	/* value is a %-template */
	bool bulk_delete, bulk_link;	/* scality */
};

struct fs_layer {
	enum fs_layer_kind kind;
	/* fscache */
	uint64_t cache_size;
	char *cache_path;
	/* compress */
	char *alg;
	unsigned int level;
	/* posix */
	char *prefix;
	unsigned int mode;
	bool no_fsync;		/* the no-fsync option */
	/* s3, scality */
	struct fs_http_url url;
};

struct fs_chain {
	struct fs_layer layers[FS_CHAIN_MAX_LAYERS];
	unsigned int n_layers;	/* the last one is the driver */
};

/* 0, or -1 with *error_r (malloc'd) saying what is wrong; the chain is
 * then empty. The error never contains the secret. */
int fs_chain_parse(const char *str, struct fs_chain *chain_r, char **error_r);
void fs_chain_free(struct fs_chain *chain);

/* URL part alone (used by the chain parser). */
int fs_http_url_parse(const char *str, enum fs_layer_kind kind,
		      struct fs_http_url *url_r, char **error_r);
void fs_http_url_free(struct fs_http_url *url);

/* Whether a '/'-separated path has a "." or ".." part. */
bool path_has_dot_part(const char *path);

#endif
