/* svc-pop3 settings, read once (with `protocol pop3 { }` overrides). */
#include "pop3-common.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *pop3_setting_dup(const struct config *cfg, const char *key,
			      const char *fallback)
{
	const char *v = config_get(cfg, "pop3", key);
	return xstrdup(v != NULL ? v : fallback);
}

int pop3_settings_read(struct pop3_settings *set, const struct config *cfg,
		       char **error_r)
{
	memset(set, 0, sizeof(*set));
	set->login_greeting = pop3_setting_dup(cfg, "login_greeting",
					       "Dovecot ready.");
	set->uidl_format = pop3_setting_dup(cfg, "pop3_uidl_format",
					    "%08Xu%08Xv");
	set->no_flag_updates = config_get_bool(cfg, "pop3",
					       "pop3_no_flag_updates");
	char *mechs = pop3_setting_dup(cfg, "auth_mechanisms", "plain");
	for (char *p = mechs; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
	set->auth_mechanisms = mechs;
	char *w = pop3_setting_dup(cfg, "pop3_client_workarounds", "");
	char *save = NULL;
	int ret = 0;
	for (char *tok = strtok_r(w, " ,", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,", &save)) {
		if (strcmp(tok, "outlook-no-nuls") == 0)
			set->outlook_no_nuls = true;
		else if (strcmp(tok, "oe-ns-eoh") == 0)
			set->oe_ns_eoh = true;
		else {
			*error_r = xasprintf("pop3_client_workarounds: "
					     "unknown workaround: %s", tok);
			ret = -1;
			break;
		}
	}
	free(w);
	return ret;
}

void pop3_settings_free(struct pop3_settings *set)
{
	free(set->login_greeting);
	free(set->uidl_format);
	free(set->auth_mechanisms);
	memset(set, 0, sizeof(*set));
}
