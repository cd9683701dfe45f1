/* svc-lmtp settings: read once from the config into a typed struct (with
 * `protocol lmtp { }` overrides); the engine reads only the struct. */
#include "lmtp-common.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *lmtp_setting_dup(const struct config *cfg, const char *key,
			      const char *fallback)
{
	const char *v = config_get(cfg, "lmtp", key);
	return xstrdup(v != NULL ? v : fallback);
}

void lmtp_settings_read(struct lmtp_settings *set, const struct config *cfg)
{
	memset(set, 0, sizeof(*set));
	set->hostname = lmtp_setting_dup(cfg, "hostname", "");
	if (set->hostname[0] == '\0') {
		char host[256] = "";
		free(set->hostname);
		if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
			set->hostname = xstrdup("localhost");
		else
			set->hostname = xstrdup(host);
	}
	set->login_greeting = lmtp_setting_dup(cfg, "login_greeting",
					       "Dovecot ready.");
	set->recipient_delimiter = lmtp_setting_dup(cfg, "recipient_delimiter",
						    "+");
	set->save_to_detail_mailbox =
		config_get_bool(cfg, "lmtp", "lmtp_save_to_detail_mailbox");
	set->hdr_delivery_address =
		lmtp_setting_dup(cfg, "lmtp_hdr_delivery_address", "final");
	const char *trusted = config_get(cfg, "lmtp", "login_trusted_networks");
	set->trusted_networks_set = trusted != NULL && *trusted != '\0';
	set->max_message_size = LMTP_DEFAULT_MAX_MESSAGE_SIZE;
	set->idle_msecs = LMTP_IDLE_MSECS;
	set->postmaster_address = lmtp_setting_dup(cfg, "postmaster_address",
						   "postmaster@%d");
	set->submission_host = lmtp_setting_dup(cfg, "submission_host", "");
	set->sendmail_path = lmtp_setting_dup(cfg, "sendmail_path",
					      "/usr/sbin/sendmail");
	set->mailbox_autocreate =
		config_get_bool(cfg, "lmtp", "lda_mailbox_autocreate");
	set->mailbox_autosubscribe =
		config_get_bool(cfg, "lmtp", "lda_mailbox_autosubscribe");
	const char *quota = config_plugin_get(cfg, "lmtp", "quota");
	set->quota_enabled = config_mail_plugin_enabled(cfg, "lmtp", "quota") &&
			     quota != NULL && *quota != '\0';
	/* mail_log's events default (empty) includes save, as Dovecot's. */
	const char *events = config_plugin_get(cfg, "lmtp", "mail_log_events");
	set->mail_log_save = config_mail_plugin_enabled(cfg, "lmtp", "mail_log") &&
			     (events == NULL || *events == '\0' ||
			      config_list_has(events, "save"));
	set->sieve_enabled = config_mail_plugin_enabled(cfg, "lmtp", "sieve");
}

void lmtp_settings_free(struct lmtp_settings *set)
{
	free(set->hostname);
	free(set->login_greeting);
	free(set->recipient_delimiter);
	free(set->hdr_delivery_address);
	free(set->postmaster_address);
	free(set->submission_host);
	free(set->sendmail_path);
	memset(set, 0, sizeof(*set));
}
