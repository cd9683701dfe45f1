/* The PEM settings (ssl_cert, ssl_key + ssl_key_password, ssl_dh,
 * ssl_ca) into an OpenSSL server context. The values arrive as text
 * (Dovecot's `<file`), so everything is read from memory BIOs. */
#include "tls-private.h"

#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The leaf certificate, then every further certificate of the PEM text
 * as its chain, as SSL_CTX_use_certificate_chain_file does for a file. */
int tls_use_cert_pem(SSL_CTX *c, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return -1;
	int ret = -1;
	X509 *leaf = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (leaf != NULL && SSL_CTX_use_certificate(c, leaf) == 1 &&
	    SSL_CTX_clear_chain_certs(c) == 1) {
		ret = 0;
		X509 *ca;
		while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
			if (SSL_CTX_add0_chain_cert(c, ca) != 1) {
				X509_free(ca);
				ret = -1;
				break;
			}
		}
	}
	X509_free(leaf);
	BIO_free(bio);
	ERR_clear_error();	/* the end of the PEM text is "no start line" */
	return ret;
}

/* OpenSSL's passphrase callback: the configured password, never a
 * prompt on a terminal (OpenSSL's default without one). */
static int tls_key_password_cb(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	const char *password = u;
	size_t len = password != NULL ? strlen(password) : 0;
	if (len == 0 || size < 0 || len > (size_t)size)
		return 0;
	memcpy(buf, password, len);
	return (int)len;
}

int tls_use_key_pem(SSL_CTX *c, const char *pem, const char *password)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return -1;
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, tls_key_password_cb,
						(void *)password);
	int ret = key != NULL && SSL_CTX_use_PrivateKey(c, key) == 1 ? 0 : -1;
	EVP_PKEY_free(key);
	BIO_free(bio);
	ERR_clear_error();
	return ret;
}

bool tls_pem_encrypted(const char *pem)
{
	return strstr(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	       strstr(pem, "Proc-Type: 4,ENCRYPTED") != NULL;
}

int tls_use_dh_pem(SSL_CTX *c, const char *pem)
{
	if (pem == NULL || *pem == '\0')
		return SSL_CTX_set_dh_auto(c, 1) == 1 ? 0 : -1;
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return -1;
	EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);
	BIO_free(bio);
	int ret = -1;
	/* set0 takes the reference only when it succeeds */
	if (dh != NULL && (EVP_PKEY_is_a(dh, "DH") || EVP_PKEY_is_a(dh, "DHX")) &&
	    SSL_CTX_set0_tmp_dh_pkey(c, dh) == 1) {
		dh = NULL;
		ret = 0;
	}
	EVP_PKEY_free(dh);
	ERR_clear_error();
	return ret;
}

/* Each certificate of the text is a trusted CA and its subject goes in
 * the CertificateRequest; each CRL revokes what it lists. */
static int tls_add_ca_infos(SSL_CTX *c, STACK_OF(X509_INFO) *infos)
{
	X509_STORE *store = SSL_CTX_get_cert_store(c);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	int n_ca = 0;
	if (names == NULL)
		return -1;
	for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 != NULL) {
			X509_NAME *name =
				X509_NAME_dup(X509_get_subject_name(xi->x509));
			if (X509_STORE_add_cert(store, xi->x509) != 1 ||
			    name == NULL || sk_X509_NAME_push(names, name) == 0) {
				X509_NAME_free(name);
				sk_X509_NAME_pop_free(names, X509_NAME_free);
				return -1;
			}
			n_ca++;
		}
		if (xi->crl != NULL && X509_STORE_add_crl(store, xi->crl) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return -1;
		}
	}
	SSL_CTX_set_client_CA_list(c, names);
	return n_ca > 0 ? 0 : -1;
}

int tls_use_ca_pem(SSL_CTX *c, const char *pem, bool require_crl)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	if (bio == NULL)
		return -1;
	STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL,
							    NULL);
	BIO_free(bio);
	int ret = infos != NULL ? tls_add_ca_infos(c, infos) : -1;
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (ret == 0 && require_crl)
		X509_STORE_set_flags(SSL_CTX_get_cert_store(c),
				     X509_V_FLAG_CRL_CHECK |
				     X509_V_FLAG_CRL_CHECK_ALL);
	ERR_clear_error();
	return ret;
}
