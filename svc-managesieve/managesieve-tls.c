/* ManageSieve and TLS (RFC 5804 2.2): the STARTTLS command, the switch
 * of a connection's stream to TLS once its OK is written (lib/tls, as
 * svc-imap and svc-pop3), the capabilities sent again inside TLS, and
 * whether plaintext SASL may run on a connection. */
#include "managesieve-common.h"

#include <string.h>

bool ms_client_secured(const struct ms_client *client)
{
	return client->tls ||
	       tls_peer_secured(client->peer_ip, client->local_ip);
}

bool ms_client_plaintext_allowed(const struct ms_client *client)
{
	return tls_service_plaintext_allowed(&client->ctx->tls,
					     ms_client_secured(client));
}

bool ms_client_starttls_offered(const struct ms_client *client)
{
	return !client->tls && client->user == NULL &&
	       tls_service_available(&client->ctx->tls);
}

void cmd_starttls(struct ms_client *client)
{
	if (client->cmd.n_args != 0) {
		ms_reply(client, "NO", NULL, "Invalid arguments.");
		return;
	}
	if (client->tls) {
		ms_reply(client, "NO", NULL, "TLS is already active.");
		return;
	}
	if (!ms_client_starttls_offered(client)) {
		ms_reply(client, "NO", NULL, "TLS support isn't enabled.");
		return;
	}
	/* What the client sent behind STARTTLS came in plaintext, maybe
	 * from someone on the path: dropped, never run inside TLS. */
	buf_consume(&client->in, client->in.len);
	client->starttls_pending = true;
	ms_reply(client, "OK", NULL, "Begin TLS negotiation now.");
}

int ms_client_start_tls(struct ms_client *client)
{
	client->starttls_pending = false;
	if (tls_service_start(&client->ctx->tls, &client->stream) < 0) {
		log_error(&client->log, "STARTTLS: TLS could not start");
		return -1;
	}
	client->tls = true;
	/* bytes that arrived before the handshake are not commands */
	buf_consume(&client->in, client->in.len);
	ms_capability(client);
	buf_append_str(&client->out, "OK \"TLS negotiation successful.\"\r\n");
	return 0;
}
