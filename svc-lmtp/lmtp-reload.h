/* svc-lmtp's reload hook (see lmtp-reload.c) and what it applies. */
#ifndef LMTP_RELOAD_H
#define LMTP_RELOAD_H

#include "service.h"

#define LMTP_SETTINGS_LIVE { "plugin/sieve_before*", "plugin/sieve_after*", \
	"plugin/sieve_global", "plugin/sieve_global_dir", \
	"plugin/sieve_include_max_nesting_depth", \
	"plugin/sieve_include_max_includes", \
	"submission_host", "submission_timeout", "rejection_subject", \
	"rejection_reason", NULL }

void lmtp_service_reload(struct service *svc);

#endif
