/* Internals shared by lib/tls's files: loading the PEM settings into an
 * OpenSSL context (tls-load.c) and verbose_ssl's logging
 * (tls-verbose.c). Not for use outside lib/tls. */
#ifndef STRATUS_TLS_PRIVATE_H
#define STRATUS_TLS_PRIVATE_H

#include <stdbool.h>
#include <openssl/ssl.h>

/* Each 0, or -1 with OpenSSL's error queue cleared. */
int tls_use_cert_pem(SSL_CTX *c, const char *pem);
/* password NULL or "": the key must not be encrypted (no prompt). */
int tls_use_key_pem(SSL_CTX *c, const char *pem, const char *password);
/* ssl_dh's DH parameters, or OpenSSL's groups when pem is NULL/"". */
int tls_use_dh_pem(SSL_CTX *c, const char *pem);
/* ssl_ca's CA certificates and CRLs as the store client certificates
 * are verified against, and as the CA names sent to the client. */
int tls_use_ca_pem(SSL_CTX *c, const char *pem, bool require_crl);
/* Whether PEM text holds an encrypted private key. */
bool tls_pem_encrypted(const char *pem);

/* verbose_ssl: logs handshake steps, alerts and failed client
 * certificates of every connection on c. */
void tls_verbose_enable(SSL_CTX *c);
bool tls_verbose_enabled(const SSL *ssl);
/* Logs OpenSSL's error queue for a failed read/write on ssl when
 * verbose_ssl is on; the queue is cleared either way. */
void tls_verbose_failure(const SSL *ssl, const char *what);
/* The verify callback for client certificates (logs when verbose). */
int tls_verify_client_cb(int preverify_ok, X509_STORE_CTX *store);

#endif
