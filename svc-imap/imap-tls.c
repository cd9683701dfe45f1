/* IMAP and TLS: the STARTTLS command (RFC 3501 6.2.1, RFC 8314), the
 * switch of a client's stream to TLS once the command's reply is out,
 * and whether plaintext login is allowed (disable_plaintext_auth and
 * ssl = required, with Dovecot's idea of a secured connection). */
#include "imap-common.h"
#include "tls-service.h"

#include <string.h>

bool imap_client_starttls_offered(const struct imap_client *client)
{
	return !client->tls && tls_service_available(client->ctx->tls);
}

bool imap_client_secured(const struct imap_client *client)
{
	return client->tls ||
	       tls_peer_secured(client->peer_ip, client->local_ip);
}

bool imap_client_login_disabled(const struct imap_client *client)
{
	return !tls_service_plaintext_allowed(client->ctx->tls,
					      imap_client_secured(client));
}

bool cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	if (client->tls) {
		imap_cmd_bad(cmd, "TLS is already active.");
		return true;
	}
	if (!imap_client_starttls_offered(client)) {
		imap_cmd_bad(cmd, "TLS support isn't enabled.");
		return true;
	}
	/* Whatever the client sent after STARTTLS arrived in plaintext and
	 * could have been put there by someone on the path: it is dropped,
	 * never run inside the TLS session (RFC 3501 11.3, RFC 8314). */
	buf_consume(&client->in, client->in.len);
	client->starttls_pending = true;
	imap_cmd_reply(cmd, "OK", "Begin TLS negotiation now.");
	return true;
}

int imap_client_start_tls(struct imap_client *client)
{
	client->starttls_pending = false;
	if (tls_service_start(client->ctx->tls, &client->stream) < 0)
		return -1;
	client->tls = true;
	/* Bytes that were already in the kernel's buffer before the
	 * handshake are not ours to read as IMAP either: OpenSSL now reads
	 * them as the handshake, and anything else fails it. */
	buf_consume(&client->in, client->in.len);
	imap_reader_reset(&client->reader);
	log_debug(&client->log, "STARTTLS: TLS handshake started");
	return 0;
}
