/* LMTP and TLS: STARTTLS (RFC 3207 applied to LMTP, RFC 2033 4) and
 * connections that start in TLS (an ssl = yes inet_listener). The
 * stream switch is text_conn_upgrade's, as in svc-pop3: the 220 goes
 * out in plaintext, then the handshake; whatever the client sent after
 * STARTTLS in plaintext is dropped unread. LMTP has no authentication,
 * so TLS protects the deliveries but never gates them. */
#include "lmtp-common.h"
#include "tls-service.h"

#include <stdlib.h>

bool lmtp_client_starttls_offered(const struct lmtp_client *client)
{
	const struct tls_service *tls = client->server->tls;
	return !client->tls && tls != NULL && tls_service_available(tls);
}

static int lmtp_client_tls_layer(void *ctx, struct stream **sp)
{
	struct lmtp_client *client = ctx;
	struct tls_service *tls = client->server->tls;
	if (tls == NULL || tls_service_start(tls, sp) < 0) {
		log_error(&client->log, "TLS could not start");
		return -1;
	}
	client->tls = true;
	return 0;
}

/* RFC 3207 4.2: after the handshake the server knows nothing the
 * client said before it, LHLO included; no new greeting is sent. */
static void lmtp_client_tls_reset(struct lmtp_client *client)
{
	lmtp_client_txn_reset(client);
	free(client->helo);
	client->helo = NULL;
	client->lhlo_done = false;
}

/* STARTTLS refused: which reply, or NULL when it may go ahead. */
static const char *lmtp_starttls_refusal(const struct lmtp_client *client,
					 const char *args)
{
	const struct tls_service *tls = client->server->tls;
	if (*args != '\0')
		return "501 5.5.4 Syntax error (no parameters allowed)";
	if (client->tls)
		return "503 5.5.1 TLS already active";
	if (tls == NULL || tls->mode == TLS_SSL_NO)
		return "502 5.5.1 TLS support isn't enabled";
	/* ssl is on but no certificate is loaded (none configured, or a
	 * reload took it away): a condition of the server, maybe brief */
	if (!tls_service_available(tls))
		return "454 4.7.0 TLS not available due to temporary reason";
	if (client->mail_given)
		return "503 5.5.1 Mail transaction in progress";
	return NULL;
}

void lmtp_cmd_starttls(struct lmtp_client *client, const char *args)
{
	const char *refusal = lmtp_starttls_refusal(client, args);
	if (refusal != NULL) {
		lmtp_client_reply(client, "%s", refusal);
		return;
	}
	lmtp_client_tls_reset(client);
	lmtp_client_reply(client, "220 2.0.0 Ready to start TLS");
	text_conn_upgrade(client->conn, lmtp_client_tls_layer, client);
}

int lmtp_client_tls_wrap(struct lmtp_client *client)
{
	/* before the greeting: it is the first thing written in TLS */
	return text_conn_wrap(client->conn, lmtp_client_tls_layer, client);
}
