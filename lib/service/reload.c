/* SIGHUP: re-read the configuration. A file that does not load is
 * refused (the parser's file:line error is logged) and the old one keeps
 * serving. A file that loads is compared with the running one through
 * config_dump: the log levels (mail_debug) change at once, the settings
 * of a service's settings_live its reload hook applies; every other
 * changed setting is named in the log as needing a restart, since the
 * services keep pointers into their configuration. */
#include "service.h"
#include "buf.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Settings lib/service applies itself on reload, and the TLS ones the
 * protocol services apply to new connections (lib/tls/tls-service.c). */
static const char *const reload_live_settings[] = {
	"mail_debug", "ssl_cert", "ssl_key", "ssl_min_protocol",
	"ssl_cipher_list", "ssl_prefer_server_ciphers", "ssl_key_password",
	"ssl_dh", "ssl_ca", "ssl_verify_client_cert", "ssl_require_crl",
	"verbose_ssl", NULL
};

/* The effective configuration as "section/key = value" lines. */
static char **reload_flatten(const struct config *cfg, size_t *n_r)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL)
		log_panic("open_memstream failed");
	config_dump(cfg, false, f);
	fclose(f);
	char **lines = NULL;
	size_t n = 0;
	struct buf path = BUF_INIT;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		while (*l == ' ' || *l == '\t')
			l++;
		size_t ll = strlen(l);
		if (ll > 0 && l[ll - 1] == '{') {
			buf_append_str(&path, l);
			path.len -= 1;	/* drop '{' */
			buf_append_str(&path, "/");
			continue;
		}
		if (strcmp(l, "}") == 0) {
			/* drop the last "section/" */
			size_t p = path.len > 0 ? path.len - 1 : 0;
			while (p > 0 && path.data[p - 1] != '/')
				p--;
			path.len = p;
			continue;
		}
		struct buf line = BUF_INIT;
		buf_append(&line, path.data, path.len);
		buf_append_str(&line, l);
		lines = xreallocarray(lines, n + 1, sizeof(char *));
		lines[n++] = xstrndup(line.data, line.len);
		buf_free(&line);
	}
	buf_free(&path);
	free(text);
	*n_r = n;
	return lines;
}

static bool reload_line_in(const char *line, char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(lines[i], line) == 0)
			return true;
	}
	return false;
}

/* "plugin /sieve_before" or "protocol lmtp /submission_host" as the
 * service lists it: "plugin/sieve_before", "submission_host". */
static char *reload_key_name(const char *key, size_t n)
{
	struct buf out = BUF_INIT;
	if (n > 9 && strncmp(key, "protocol ", 9) == 0) {
		const char *slash = memchr(key, '/', n);
		if (slash != NULL) {
			n -= (size_t)(slash + 1 - key);
			key = slash + 1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (key[i] == ' ' && i + 1 < n && key[i + 1] == '/')
			continue;
		buf_append_c(&out, key[i]);
	}
	buf_append_c(&out, '\0');
	return buf_steal(&out);
}

static bool reload_is_live(const struct service_def *def, const char *key,
			   size_t n)
{
	for (const char *const *p = reload_live_settings; *p != NULL; p++) {
		if (strlen(*p) == n && strncmp(*p, key, n) == 0)
			return true;
	}
	char *name = reload_key_name(key, n);
	bool live = false;
	for (const char *const *p = def->settings_live;
	     p != NULL && *p != NULL && !live; p++) {
		size_t k = strlen(*p);
		live = k > 0 && (*p)[k - 1] == '*' ?
			strncmp(*p, name, k - 1) == 0 : strcmp(*p, name) == 0;
	}
	free(name);
	return live;
}

/* Adds "key " to out unless it is there; out is " k1 k2 ... ". */
static void reload_add_key(struct buf *out, const char *key, size_t klen)
{
	struct buf probe = BUF_INIT;
	buf_append_c(&probe, ' ');
	buf_append(&probe, key, klen);
	buf_append_c(&probe, ' ');
	if (out->len == 0)
		buf_append_c(out, ' ');
	if (memmem(out->data, out->len, probe.data, probe.len) == NULL)
		buf_append(out, probe.data + 1, probe.len - 1);
	buf_free(&probe);
}

/* Adds the key of each line of `a` missing from `b` to live or restart. */
static void reload_changed_keys(const struct service_def *def, char **a,
				size_t na, char **b, size_t nb,
				struct buf *restart, struct buf *live)
{
	for (size_t i = 0; i < na; i++) {
		if (reload_line_in(a[i], b, nb))
			continue;
		const char *eq = strstr(a[i], " =");
		size_t klen = eq != NULL ? (size_t)(eq - a[i]) : strlen(a[i]);
		reload_add_key(reload_is_live(def, a[i], klen) ? live : restart,
			       a[i], klen);
	}
}

void service_reload(struct service *svc)
{
	struct config *cfg;
	char *error = NULL;
	if (config_load(svc->config_path, &cfg, &error) < 0) {
		log_error(NULL, "reload refused, the running configuration "
			  "is kept: %s", error);
		free(error);
		return;
	}
	config_scrub_secrets(cfg, svc->def->name);	/* as at start-up */
	size_t n_old, n_new;
	char **old = reload_flatten(svc->cfg, &n_old);
	char **new = reload_flatten(cfg, &n_new);
	struct buf restart = BUF_INIT, live = BUF_INIT;
	reload_changed_keys(svc->def, new, n_new, old, n_old, &restart, &live);
	reload_changed_keys(svc->def, old, n_old, new, n_new, &restart, &live);
	bool debug = svc->debug_flag ||
		     config_get_bool(cfg, svc->def->protocol, "mail_debug");
	log_set_debug(debug);
	buf_append_c(&live, '\0');
	buf_append_c(&restart, '\0');
	log_info(NULL, "reload: configuration re-read from %s",
		 svc->config_path);
	if (svc->def->reload != NULL) {
		svc->reload_cfg = cfg;
		svc->def->reload(svc);
		svc->reload_cfg = NULL;
	}
	if (live.len > 1)
		log_info(NULL, "reload: applied:%s", live.data);
	if (restart.len > 1)
		log_warning(NULL, "reload: changed but need a restart of "
			    "stratus-%s (the old values stay in effect):%s",
			    svc->def->name, restart.data);
	if (live.len <= 1 && restart.len <= 1)
		log_info(NULL, "reload: no setting changed");
	for (size_t i = 0; i < n_old; i++)
		free(old[i]);
	for (size_t i = 0; i < n_new; i++)
		free(new[i]);
	free(old);
	free(new);
	buf_free(&restart);
	buf_free(&live);
	config_free(&cfg);
}
