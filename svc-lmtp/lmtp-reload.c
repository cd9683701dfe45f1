/* SIGHUP in svc-lmtp: a renewed TLS certificate for the next STARTTLS
 * (lib/tls), and the Sieve settings (sieve_before/sieve_after scripts,
 * compiled again, and the outgoing mail's submission_host,
 * submission_timeout and rejection texts) are rebuilt from the new
 * configuration and serve the next deliveries. The replaced settings
 * stay allocated until exit: a delivery in progress may still run their
 * scripts or send through their submitter. */
#include "lmtp-reload.h"
#include "lmtp-common.h"
#include "lmtp-rpc.h"
#include "lmtp-sieve.h"
#include "tls-service.h"

#include <stdlib.h>

struct lmtp_retired {
	struct lmtp_sieve_settings *sieve;
	struct lmtp_retired *next;
};

static struct lmtp_retired *lmtp_retired;

static void lmtp_retired_free(void *ctx)
{
	(void)ctx;
	while (lmtp_retired != NULL) {
		struct lmtp_retired *r = lmtp_retired;
		lmtp_retired = r->next;
		lmtp_sieve_settings_free(&r->sieve);
		free(r);
	}
}

void lmtp_service_reload(struct service *svc)
{
	struct lmtp_server *server = svc->ctx;
	if (server == NULL || svc->reload_cfg == NULL)
		return;
	/* a renewed certificate serves the next STARTTLS */
	tls_service_reload(server->tls, svc->reload_cfg);
	struct lmtp_rpc_backend *be = server->backend_ctx;
	if (be == NULL)
		return;
	if (lmtp_retired == NULL)
		service_add_cleanup(svc, lmtp_retired_free, NULL);
	struct lmtp_retired *r = xcalloc(1, sizeof(*r));
	r->sieve = be->sieve;
	r->next = lmtp_retired;
	lmtp_retired = r;
	be->sieve = lmtp_sieve_settings_new(svc->reload_cfg);
	log_info(NULL, "reload: Sieve settings and global scripts re-read");
}
