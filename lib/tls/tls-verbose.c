/* verbose_ssl: what OpenSSL saw on each connection, in the log, as
 * Dovecot's verbose_ssl does: the handshake's start and end (protocol,
 * cipher, client certificate), alerts sent and received, a client
 * certificate that failed verification and why, and the error queue of
 * a handshake or record that failed. Off, nothing of this is logged. */
#include "tls-private.h"
#include "log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/x509.h>

static const char tls_verbose_mark[] = "verbose_ssl";

/* "192.0.2.2" for the log; "unknown" when it has none. */
static const char *tls_peer(const SSL *ssl, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = SSL_get_fd(ssl);
	snprintf(buf, size, "unknown");
	if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return buf;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, buf,
			  (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  buf, (socklen_t)size);
	else if (ss.ss_family == AF_UNIX)
		snprintf(buf, size, "local");
	return buf;
}

bool tls_verbose_enabled(const SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) == tls_verbose_mark;
}

static void tls_log_done(const SSL *ssl, const char *peer)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	char subject[256] = "none";
	if (cert != NULL)
		X509_NAME_oneline(X509_get_subject_name(cert), subject,
				  sizeof(subject));
	log_info(NULL, "SSL: handshake done [%s]: %s %s, client certificate: "
		 "%s%s", peer, SSL_get_version(ssl), SSL_get_cipher_name(ssl),
		 subject, cert == NULL ? "" :
		 SSL_get_verify_result(ssl) == X509_V_OK ? " (valid)" :
		 " (not valid)");
}

static void tls_info_cb(const SSL *ssl, int where, int ret)
{
	char peer[INET6_ADDRSTRLEN + 8];
	if (where & SSL_CB_HANDSHAKE_START)
		log_info(NULL, "SSL: handshake started [%s]",
			 tls_peer(ssl, peer, sizeof(peer)));
	if (where & SSL_CB_HANDSHAKE_DONE)
		tls_log_done(ssl, tls_peer(ssl, peer, sizeof(peer)));
	if (where & SSL_CB_ALERT)
		log_info(NULL, "SSL: alert %s [%s]: %s %s",
			 (where & SSL_CB_READ) ? "received" : "sent",
			 tls_peer(ssl, peer, sizeof(peer)),
			 SSL_alert_type_string_long(ret),
			 SSL_alert_desc_string_long(ret));
}

void tls_verbose_enable(SSL_CTX *c)
{
	SSL_CTX_set_app_data(c, (void *)tls_verbose_mark);
	SSL_CTX_set_info_callback(c, tls_info_cb);
}

void tls_verbose_failure(const SSL *ssl, const char *what)
{
	if (!tls_verbose_enabled(ssl)) {
		ERR_clear_error();
		return;
	}
	char peer[INET6_ADDRSTRLEN + 8], reason[256] = "";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	log_info(NULL, "SSL: %s failed [%s]: %s", what,
		 tls_peer(ssl, peer, sizeof(peer)),
		 reason[0] != '\0' ? reason : "connection closed");
}

int tls_verify_client_cb(int preverify_ok, X509_STORE_CTX *store)
{
	if (preverify_ok)
		return 1;
	const SSL *ssl = X509_STORE_CTX_get_ex_data(store,
		SSL_get_ex_data_X509_STORE_CTX_idx());
	if (ssl != NULL && tls_verbose_enabled(ssl)) {
		char peer[INET6_ADDRSTRLEN + 8], subject[256] = "";
		X509 *cert = X509_STORE_CTX_get_current_cert(store);
		if (cert != NULL)
			X509_NAME_oneline(X509_get_subject_name(cert), subject,
					  sizeof(subject));
		int err = X509_STORE_CTX_get_error(store);
		log_info(NULL, "SSL: invalid client certificate [%s]: %s: %s "
			 "(depth %d)", tls_peer(ssl, peer, sizeof(peer)),
			 subject, X509_verify_cert_error_string(err),
			 X509_STORE_CTX_get_error_depth(store));
	}
	return 0;	/* a certificate that does not verify ends the
			   handshake, as with Dovecot's ssl_verify_client_cert */
}
