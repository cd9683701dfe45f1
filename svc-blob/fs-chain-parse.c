/* Parser of Dovecot fs strings into a struct fs_chain (see fs-chain.h).
 * Strict: an unknown wrapper, driver or URL parameter, a bad size or
 * level is an error naming the part, so a typo never silently degrades
 * the storage an operator asked for. */
#include "fs-chain.h"
#include "buf.h"
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int chain_error(char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int chain_error(char **error_r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		abort();
	va_end(ap);
	return -1;
}

/* "%%" -> "%": the string was a Dovecot template. A lone '%' stays. */
static char *unescape_percent(const char *s, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		out[o++] = s[i];
		if (s[i] == '%' && i + 1 < len && s[i + 1] == '%')
			i++;
	}
	out[o] = '\0';
	return out;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* %hex decoding; -1 on a malformed escape or a decoded NUL. */
static int url_decode(const char *s, size_t len, char **out_r)
{
	char *raw = unescape_percent(s, len);
	size_t rlen = strlen(raw), o = 0;
	char *out = xmalloc(rlen + 1);
	for (size_t i = 0; i < rlen; i++) {
		if (raw[i] != '%') {
			out[o++] = raw[i];
			continue;
		}
		int hi = i + 2 < rlen ? hexval(raw[i + 1]) : -1;
		int lo = i + 2 < rlen ? hexval(raw[i + 2]) : -1;
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(raw);
			free(out);
			return -1;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	free(raw);
	*out_r = out;
	return 0;
}

static int parse_uint_param(const char *name, const char *value,
			    uint64_t max, uint64_t *r, char **error_r)
{
	uint64_t v;
	if (config_parse_uint(value, &v) < 0 || v > max)
		return chain_error(error_r, "URL parameter %s: bad value '%s'",
				   name, value);
	*r = v;
	return 0;
}

static int url_param(struct fs_http_url *url, enum fs_layer_kind kind,
		     const char *name, const char *value, char **error_r)
{
	uint64_t v = 0;
	if (strcmp(name, "connect_timeout_msecs") == 0)
		return parse_uint_param(name, value, 3600 * 1000,
					&url->connect_timeout_msecs, error_r);
	if (strcmp(name, "timeout_msecs") == 0)
		return parse_uint_param(name, value, 3600 * 1000,
					&url->timeout_msecs, error_r);
	if (strcmp(name, "max_connect_retries") == 0 ||
	    strcmp(name, "max_retries") == 0) {
		if (parse_uint_param(name, value, 100, &v, error_r) < 0)
			return -1;
		if (name[4] == 'c')
			url->max_connect_retries = (unsigned int)v;
		else
			url->max_retries = (unsigned int)v;
		return 0;
	}
	if (strcmp(name, "addhdr") == 0) {
		const char *colon = strchr(value, ':');
		if (url->addhdr_name != NULL)
			return chain_error(error_r, "URL parameter addhdr can only be given once");
		if (colon == NULL || colon == value)
			return chain_error(error_r, "URL parameter addhdr must be NAME:VALUE");
		for (const char *p = value; p < colon; p++) {
			if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
				return chain_error(error_r, "URL parameter addhdr: bad header name");
		}
		for (const char *p = colon + 1; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				return chain_error(error_r, "URL parameter addhdr: control character in value");
		}
		url->addhdr_name = xstrndup(value, (size_t)(colon - value));
		url->addhdr_value = xstrdup(colon + 1);
		return 0;
	}
	if (kind == FS_LAYER_S3 && strcmp(name, "bucket") == 0) {
		size_t n = strlen(value);
		if (n < 3 || n > 63 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
			return chain_error(error_r, "URL parameter bucket: bad bucket name '%s'", value);
		free(url->bucket);
		url->bucket = xstrdup(value);
		return 0;
	}
	if (kind == FS_LAYER_S3 && strcmp(name, "region") == 0) {
		size_t n = strlen(value);
		if (n == 0 || n > 64 || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
			return chain_error(error_r, "URL parameter region: bad region '%s'", value);
		free(url->region);
		url->region = xstrdup(value);
		return 0;
	}
	if (kind == FS_LAYER_SCALITY &&
	    (strcmp(name, "bulk_delete") == 0 || strcmp(name, "bulk_link") == 0)) {
		bool b;
		if (strcmp(value, "1") == 0)
			b = true;
		else if (strcmp(value, "0") == 0)
			b = false;
		else if (config_parse_bool(value, &b) < 0)
			return chain_error(error_r, "URL parameter %s: bad value '%s'", name, value);
		if (name[5] == 'd')
			url->bulk_delete = b;
		else
			url->bulk_link = b;
		return 0;
	}
	return chain_error(error_r, "unknown URL parameter '%s'", name);
}

static int url_params(struct fs_http_url *url, enum fs_layer_kind kind,
		      const char *q, char **error_r)
{
	while (*q != '\0') {
		const char *end = strchr(q, '&');
		size_t len = end ? (size_t)(end - q) : strlen(q);
		if (len > 0) {
			char *pair = unescape_percent(q, len);
			char *eq = strchr(pair, '=');
			int ret;
			if (eq == NULL) {
				ret = chain_error(error_r, "URL parameter '%s' has no value", pair);
			} else {
				*eq = '\0';
				ret = url_param(url, kind, pair, eq + 1, error_r);
			}
			free(pair);
			if (ret < 0)
				return -1;
		}
		q += len;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* Region of an AWS host name: s3.REGION.amazonaws.com, s3-REGION...;
 * anything else is us-east-1 unless ?region= says otherwise. */
static char *derive_region(const char *host)
{
	const char *p = strstr(host, "s3.");
	if (p == NULL)
		p = strstr(host, "s3-");
	if (p != NULL) {
		p += 3;
		const char *dot = strchr(p, '.');
		if (dot != NULL && strncmp(dot, ".amazonaws.com", 14) == 0 &&
		    strncmp(p, "amazonaws", 9) != 0)
			return xstrndup(p, (size_t)(dot - p));
	}
	return xstrdup("us-east-1");
}

int fs_http_url_parse(const char *str, enum fs_layer_kind kind,
		      struct fs_http_url *url, char **error_r)
{
	memset(url, 0, sizeof(*url));
	url->connect_timeout_msecs = 5000;
	url->max_connect_retries = 2;
	url->timeout_msecs = 10000;
	url->max_retries = 4;

	while (*str == ' ' || *str == '\t')
		str++;	/* the spec writes "s3: https://" */
	const char *p;
	if (strncmp(str, "https://", 8) == 0) {
		url->https = true;
		p = str + 8;
	} else if (strncmp(str, "http://", 7) == 0) {
		p = str + 7;
	} else {
		return chain_error(error_r, "URL must start with http:// or https://");
	}
	size_t auth_len = strcspn(p, "/?#");
	const char *at = memrchr(p, '@', auth_len);
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		if (colon == NULL || colon == p || colon + 1 == at) {
			fs_http_url_free(url);
			return chain_error(error_r, "URL credentials must be ACCESSKEY:SECRET@");
		}
		if (url_decode(p, (size_t)(colon - p), &url->access_key) < 0 ||
		    url_decode(colon + 1, (size_t)(at - colon - 1), &url->secret) < 0) {
			fs_http_url_free(url);
			return chain_error(error_r, "URL credentials: malformed %%hex escape");
		}
		auth_len -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	/* host[:port] */
	const char *colon = memchr(p, ':', auth_len);
	size_t host_len = colon ? (size_t)(colon - p) : auth_len;
	if (host_len == 0 || host_len > 253) {
		fs_http_url_free(url);
		return chain_error(error_r, "URL has no host");
	}
	for (size_t i = 0; i < host_len; i++) {
		if (!isalnum((unsigned char)p[i]) && p[i] != '.' && p[i] != '-' && p[i] != '_') {
			fs_http_url_free(url);
			return chain_error(error_r, "URL host contains '%c'", p[i]);
		}
	}
	url->host = xstrndup(p, host_len);
	if (colon != NULL) {
		char portbuf[8];
		size_t plen = auth_len - host_len - 1;
		uint64_t port;
		if (plen == 0 || plen >= sizeof(portbuf)) {
			fs_http_url_free(url);
			return chain_error(error_r, "URL has a bad port");
		}
		memcpy(portbuf, colon + 1, plen);
		portbuf[plen] = '\0';
		if (config_parse_uint(portbuf, &port) < 0 || port == 0 || port > 65535) {
			fs_http_url_free(url);
			return chain_error(error_r, "URL has a bad port");
		}
		url->port = (unsigned int)port;
	}
	p += auth_len;
	/* path up to '?' */
	size_t path_len = strcspn(p, "?#");
	if (p[path_len] == '#') {
		fs_http_url_free(url);
		return chain_error(error_r, "URL must not have a #fragment");
	}
	struct buf path = BUF_INIT;
	if (path_len == 0 || p[0] != '/')
		buf_append_c(&path, '/');
	buf_append(&path, p, path_len);
	if (path.data[path.len - 1] != '/')
		buf_append_c(&path, '/');
	url->path = buf_steal(&path);
	if (path_has_dot_part(url->path)) {
		fs_http_url_free(url);
		return chain_error(error_r, "URL path must not contain . or .. parts");
	}
	p += path_len;
	if (*p == '?' && url_params(url, kind, p + 1, error_r) < 0) {
		fs_http_url_free(url);
		return -1;
	}
	if (kind == FS_LAYER_S3) {
		if (url->access_key == NULL) {
			fs_http_url_free(url);
			return chain_error(error_r, "s3 URL needs ACCESSKEY:SECRET@");
		}
		if (url->region == NULL)
			url->region = derive_region(url->host);
		/* virtual-host style needs the bucket as the first label */
		if (url->bucket == NULL && (strchr(url->host, '.') == NULL ||
		    strspn(url->host, "0123456789.") == strlen(url->host))) {
			fs_http_url_free(url);
			return chain_error(error_r, "s3 URL needs BUCKET.host or ?bucket=NAME");
		}
	}
	return 0;
}

void fs_http_url_free(struct fs_http_url *url)
{
	free(url->host);
	free(url->path);
	if (url->secret != NULL)
		explicit_bzero(url->secret, strlen(url->secret));
	free(url->access_key);
	free(url->secret);
	free(url->bucket);
	free(url->region);
	free(url->addhdr_name);
	free(url->addhdr_value);
	memset(url, 0, sizeof(*url));
}

/* Whether a '/'-separated path has a "." or ".." part. */
bool path_has_dot_part(const char *path)
{
	const char *p = path;
	while (*p != '\0') {
		size_t n = strcspn(p, "/");
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return true;
		p += n;
		if (*p == '/')
			p++;
	}
	return false;
}

/* Takes one ':'-terminated argument from *p; NULL when there is none. */
static char *take_arg(const char **p)
{
	const char *colon = strchr(*p, ':');
	if (colon == NULL)
		return NULL;
	char *arg = unescape_percent(*p, (size_t)(colon - *p));
	*p = colon + 1;
	return arg;
}

static int parse_posix(struct fs_layer *l, const char *args, char **error_r)
{
	l->mode = 0600;
	while (*args != '\0') {
		const char *colon = strchr(args, ':');
		size_t len = colon ? (size_t)(colon - args) : strlen(args);
		char *opt = unescape_percent(args, len);
		int ret = 0;
		if (strncmp(opt, "prefix=", 7) == 0) {
			free(l->prefix);
			l->prefix = xstrdup(opt + 7);
		} else if (strncmp(opt, "mode=", 5) == 0) {
			uint64_t m;
			if (config_parse_octal(opt + 5, &m) < 0 || m > 0777 || (m & 0600) != 0600)
				ret = chain_error(error_r, "posix: bad mode '%s'", opt + 5);
			else
				l->mode = (unsigned int)m;
		} else if (strcmp(opt, "no-fsync") == 0) {
			l->no_fsync = true;
		} else if (strncmp(opt, "lock_method=", 12) == 0 ||
			   opt[0] == '\0') {
			/* objects are written to a temp file and renamed:
			 * no locks needed */
		} else {
			ret = chain_error(error_r, "posix: unknown option '%s'", opt);
		}
		free(opt);
		if (ret < 0)
			return -1;
		args += len;
		if (*args == ':')
			args++;
	}
	if (l->prefix == NULL || l->prefix[0] != '/')
		return chain_error(error_r, "posix: needs prefix=/absolute/path/");
	if (path_has_dot_part(l->prefix))
		return chain_error(error_r, "posix: prefix must not contain ..");
	return 0;
}

int fs_chain_parse(const char *str, struct fs_chain *chain, char **error_r)
{
	memset(chain, 0, sizeof(*chain));
	if (str == NULL || str[0] == '\0')
		return chain_error(error_r, "empty fs string");
	if (strlen(str) > FS_STRING_MAX)
		return chain_error(error_r, "fs string longer than %d bytes", FS_STRING_MAX);
	const char *p = str;
	for (;;) {
		if (chain->n_layers == FS_CHAIN_MAX_LAYERS) {
			fs_chain_free(chain);
			return chain_error(error_r, "fs string nests more than %d layers", FS_CHAIN_MAX_LAYERS);
		}
		struct fs_layer *l = &chain->layers[chain->n_layers++];
		size_t nlen = strcspn(p, ":");
		if (p[nlen] != ':') {
			fs_chain_free(chain);
			return chain_error(error_r, "fs driver '%.*s' has no ':' and arguments",
					   (int)(nlen > 32 ? 32 : nlen), p);
		}
		const char *name = p;
		p += nlen + 1;
		if (nlen == 7 && strncmp(name, "fscache", 7) == 0) {
			l->kind = FS_LAYER_FSCACHE;
			char *size = take_arg(&p);
			char *path = size ? take_arg(&p) : NULL;
			int ret = 0;
			if (path == NULL)
				ret = chain_error(error_r, "fscache: needs SIZE:PATH:<fs>");
			else if (config_parse_size(size, &l->cache_size) < 0 || l->cache_size == 0)
				ret = chain_error(error_r, "fscache: bad size '%s'", size);
			else if (path[0] != '/')
				ret = chain_error(error_r, "fscache: path must be absolute");
			free(size);
			if (ret < 0) {
				free(path);
				fs_chain_free(chain);
				return -1;
			}
			l->cache_path = path;
			continue;
		}
		if (nlen == 8 && strncmp(name, "compress", 8) == 0) {
			l->kind = FS_LAYER_COMPRESS;
			char *alg = take_arg(&p);
			char *level = alg ? take_arg(&p) : NULL;
			uint64_t lv = 0;
			int ret = 0;
			if (level == NULL)
				ret = chain_error(error_r, "compress: needs ALG:LEVEL:<fs>");
			else if (strcmp(alg, "gz") != 0 && strcmp(alg, "gzip") != 0 &&
				 strcmp(alg, "deflate") != 0)
				ret = chain_error(error_r, "compress: unsupported algorithm '%.32s' (gz, deflate)", alg);
			else if (config_parse_uint(level, &lv) < 0 || lv < 1 || lv > 9)
				ret = chain_error(error_r, "compress: level must be 1..9, not '%.32s'", level);
			free(level);
			if (ret < 0) {
				free(alg);
				fs_chain_free(chain);
				return -1;
			}
			l->alg = alg;
			l->level = (unsigned int)lv;
			continue;
		}
		int ret;
		if (nlen == 5 && strncmp(name, "posix", 5) == 0) {
			l->kind = FS_LAYER_POSIX;
			ret = parse_posix(l, p, error_r);
		} else if (nlen == 2 && strncmp(name, "s3", 2) == 0) {
			l->kind = FS_LAYER_S3;
			ret = fs_http_url_parse(p, l->kind, &l->url, error_r);
		} else if (nlen == 7 && strncmp(name, "scality", 7) == 0) {
			l->kind = FS_LAYER_SCALITY;
			ret = fs_http_url_parse(p, l->kind, &l->url, error_r);
		} else {
			ret = chain_error(error_r, "unknown fs driver or wrapper '%.*s'",
					  (int)(nlen > 32 ? 32 : nlen), name);
		}
		if (ret < 0) {
			fs_chain_free(chain);
			return -1;
		}
		return 0;
	}
}

void fs_chain_free(struct fs_chain *chain)
{
	for (unsigned int i = 0; i < chain->n_layers; i++) {
		struct fs_layer *l = &chain->layers[i];
		free(l->cache_path);
		free(l->alg);
		free(l->prefix);
		fs_http_url_free(&l->url);
	}
	memset(chain, 0, sizeof(*chain));
}
