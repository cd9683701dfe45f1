/* Per-service TLS settings and context (see tls-service.h). The `<file`
 * values arrive as PEM text from lib/config, so a reload that re-reads
 * the configuration also re-reads the certificate files. */
#include "tls-service.h"
#include "log.h"
#include "sasl-client.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>

static enum tls_ssl_mode tls_mode_parse(const char *value)
{
	if (value == NULL || strcmp(value, "no") == 0)
		return TLS_SSL_NO;
	if (strcmp(value, "required") == 0)
		return TLS_SSL_REQUIRED;
	return TLS_SSL_YES;
}

static bool tls_set(const char *value)
{
	return value != NULL && *value != '\0';
}

/* The context for cfg, or NULL: *error_r is set (static) when the
 * settings ask for TLS and it cannot be built. */
static struct tls_ctx *tls_service_ctx(const struct config *cfg,
				       const char *protocol,
				       const char **error_r)
{
	*error_r = NULL;
	if (tls_mode_parse(config_get(cfg, protocol, "ssl")) == TLS_SSL_NO)
		return NULL;
	const char *cert = config_get(cfg, protocol, "ssl_cert");
	const char *key = config_get(cfg, protocol, "ssl_key");
	if (!tls_set(cert) && !tls_set(key))
		return NULL;
	if (!tls_set(cert) || !tls_set(key)) {
		*error_r = "ssl_cert and ssl_key must be set together";
		return NULL;
	}
	struct tls_server_settings set = {
		.cert_pem = cert,
		.key_pem = key,
		.min_protocol = config_get(cfg, protocol, "ssl_min_protocol"),
		.cipher_list = config_get(cfg, protocol, "ssl_cipher_list"),
		.prefer_server_ciphers = config_get_bool(cfg, protocol,
			"ssl_prefer_server_ciphers"),
		.key_password = config_get(cfg, protocol, "ssl_key_password"),
		.dh_pem = config_get(cfg, protocol, "ssl_dh"),
		.ca_pem = config_get(cfg, protocol, "ssl_ca"),
		.verify_client_cert = config_get_bool(cfg, protocol,
			"ssl_verify_client_cert"),
		.require_crl = config_get_bool(cfg, protocol,
			"ssl_require_crl"),
		.verbose = config_get_bool(cfg, protocol, "verbose_ssl"),
	};
	return tls_ctx_new(&set, error_r);
}

int tls_service_init(struct tls_service *ts, const struct config *cfg,
		     const char *protocol, char **error_r)
{
	memset(ts, 0, sizeof(*ts));
	ts->protocol = xstrdup(protocol);
	ts->mode = tls_mode_parse(config_get(cfg, protocol, "ssl"));
	ts->disable_plaintext_auth = config_get_bool(cfg, protocol,
		"disable_plaintext_auth");
	const char *error;
	ts->ctx = tls_service_ctx(cfg, protocol, &error);
	if (error != NULL) {
		*error_r = xasprintf("ssl = %s: %s",
				     config_get(cfg, protocol, "ssl"), error);
		tls_service_deinit(ts);
		return -1;
	}
	if (ts->mode != TLS_SSL_NO && ts->ctx == NULL)
		log_warning(NULL, "ssl = %s but no ssl_cert/ssl_key: STARTTLS "
			    "is not offered and ssl listeners are not opened",
			    config_get(cfg, protocol, "ssl"));
	return 0;
}

void tls_service_reload(struct tls_service *ts, const struct config *cfg)
{
	const char *error;
	struct tls_ctx *ctx = tls_service_ctx(cfg, ts->protocol, &error);
	if (error != NULL) {
		log_error(NULL, "reload: TLS settings refused, the running "
			  "certificate is kept: %s", error);
		return;
	}
	tls_ctx_free(&ts->ctx);
	ts->ctx = ctx;
	ts->mode = tls_mode_parse(config_get(cfg, ts->protocol, "ssl"));
	ts->disable_plaintext_auth = config_get_bool(cfg, ts->protocol,
		"disable_plaintext_auth");
	log_info(NULL, "reload: TLS %s for new connections",
		 ctx != NULL ? "certificate loaded" : "off");
}

void tls_service_deinit(struct tls_service *ts)
{
	tls_ctx_free(&ts->ctx);
	free(ts->protocol);
	ts->protocol = NULL;
}

bool tls_peer_secured(const char *peer_ip, const char *local_ip)
{
	if (sasl_client_secured(peer_ip))
		return true;
	return local_ip != NULL && *local_ip != '\0' &&
	       strcmp(peer_ip, "unknown") != 0 &&
	       strcmp(peer_ip, local_ip) == 0;
}

int tls_service_start(struct tls_service *ts, struct stream **sp)
{
	if (ts->ctx == NULL)
		return -1;
	return tls_stream_start(ts->ctx, sp);
}
