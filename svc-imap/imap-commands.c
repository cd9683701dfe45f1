/* The command table and the shared bits of IMAP output: the capability
 * list and string quoting. A command is found by name; the table says in
 * which states it is allowed. */
#include "imap-common.h"
#include "imap-quota.h"
#include "imap-notify.h"

#include <string.h>
#include <strings.h>

static const struct imap_command_def imap_commands[] = {
	{ "CAPABILITY", cmd_capability,
	  IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH },
	{ "NOOP", cmd_noop, IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH },
	{ "LOGOUT", cmd_logout, IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH },
	{ "ID", cmd_id, IMAP_CMD_NOT_AUTH | IMAP_CMD_AUTH },
	{ "STARTTLS", cmd_starttls, IMAP_CMD_NOT_AUTH },
	{ "LOGIN", cmd_login, IMAP_CMD_NOT_AUTH },
	{ "AUTHENTICATE", cmd_authenticate, IMAP_CMD_NOT_AUTH },
	{ "ENABLE", cmd_enable, IMAP_CMD_AUTH },
	{ "NAMESPACE", cmd_namespace, IMAP_CMD_AUTH },
	{ "LIST", cmd_list, IMAP_CMD_AUTH },
	{ "LSUB", cmd_list, IMAP_CMD_AUTH },
	{ "CREATE", cmd_create, IMAP_CMD_AUTH },
	{ "DELETE", cmd_delete, IMAP_CMD_AUTH },
	{ "RENAME", cmd_rename, IMAP_CMD_AUTH },
	{ "SUBSCRIBE", cmd_subscribe, IMAP_CMD_AUTH },
	{ "UNSUBSCRIBE", cmd_unsubscribe, IMAP_CMD_AUTH },
	{ "STATUS", cmd_status, IMAP_CMD_AUTH },
	{ "SELECT", cmd_select, IMAP_CMD_AUTH },
	{ "EXAMINE", cmd_select, IMAP_CMD_AUTH },
	{ "CLOSE", cmd_close, IMAP_CMD_SELECTED },
	{ "UNSELECT", cmd_unselect, IMAP_CMD_SELECTED },
	{ "CHECK", cmd_check, IMAP_CMD_SELECTED },
	{ "APPEND", cmd_append, IMAP_CMD_AUTH },
	{ "IDLE", cmd_idle, IMAP_CMD_AUTH },
	{ "FETCH", cmd_fetch, IMAP_CMD_SELECTED },
	{ "STORE", cmd_store, IMAP_CMD_SELECTED },
	{ "EXPUNGE", cmd_expunge, IMAP_CMD_SELECTED },
	{ "COPY", cmd_copy, IMAP_CMD_SELECTED },
	{ "MOVE", cmd_copy, IMAP_CMD_SELECTED },
	{ "SEARCH", cmd_search, IMAP_CMD_SELECTED },
	{ "SORT", cmd_sort, IMAP_CMD_SELECTED },
	{ "THREAD", cmd_thread, IMAP_CMD_SELECTED },
	{ "UID", cmd_uid, IMAP_CMD_SELECTED },
	{ "GETQUOTAROOT", cmd_getquotaroot, IMAP_CMD_AUTH },
	{ "GETQUOTA", cmd_getquota, IMAP_CMD_AUTH },
	{ "SETQUOTA", cmd_setquota, IMAP_CMD_AUTH },
	{ "COMPRESS", cmd_compress, IMAP_CMD_AUTH },
	{ "GETMETADATA", cmd_getmetadata, IMAP_CMD_AUTH },
	{ "SETMETADATA", cmd_setmetadata, IMAP_CMD_AUTH },
	{ "NOTIFY", cmd_notify, IMAP_CMD_AUTH },
	{ "GENURLAUTH", cmd_genurlauth, IMAP_CMD_AUTH },
	{ "URLFETCH", cmd_urlfetch, IMAP_CMD_AUTH },
	{ "RESETKEY", cmd_resetkey, IMAP_CMD_AUTH },
};

const struct imap_command_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]);
	     i++) {
		if (strcasecmp(imap_commands[i].name, name) == 0)
			return &imap_commands[i];
	}
	return NULL;
}

/* What this build implements after login. Only commands that work are
 * listed, so a client never relies on a missing extension. */
#define IMAP_CAPS_COMMON "IMAP4rev1 IMAP4rev2 SASL-IR LOGIN-REFERRALS ID ENABLE"
#define IMAP_CAPS_POST_LOGIN "NAMESPACE UNSELECT CHILDREN SPECIAL-USE CREATE-SPECIAL-USE " \
	"IDLE UIDPLUS MOVE CONDSTORE QRESYNC LIST-EXTENDED LIST-STATUS " \
	"STATUS=SIZE MULTIAPPEND " \
	"ESEARCH SEARCHRES WITHIN SORT SORT=DISPLAY ESORT " \
	"THREAD=ORDEREDSUBJECT THREAD=REFERENCES THREAD=REFS OBJECTID BINARY PREVIEW " \
	"COMPRESS=DEFLATE UTF8=ACCEPT SAVEDATE METADATA METADATA-SERVER CATENATE " \
	"NOTIFY LIST-METADATA"

void imap_capability_string(struct imap_client *client, struct buf *out)
{
	const struct imap_settings *set = &client->ctx->set;
	const char *literal = set->literal_minus ? "LITERAL-" : "LITERAL+";

	if (client->state == IMAP_STATE_NOT_AUTH) {
		buf_printf(out, "%s %s", IMAP_CAPS_COMMON, literal);
		if (imap_client_starttls_offered(client))
			buf_append_str(out, " STARTTLS");
		if (imap_client_login_disabled(client)) {
			buf_append_str(out, " LOGINDISABLED");
			return;
		}
		if (set->auth_plain)
			buf_append_str(out, " AUTH=PLAIN");
		if (set->auth_login)
			buf_append_str(out, " AUTH=LOGIN");
		return;
	}
	/* imap_capability replaces the post-login list; "+CAPS" adds. */
	if (set->capability[0] != '\0' && set->capability[0] != '+') {
		buf_append_str(out, set->capability);
		return;
	}
	buf_printf(out, "%s %s %s", IMAP_CAPS_COMMON, literal,
		   IMAP_CAPS_POST_LOGIN);
	/* RFC 7889: the reader refuses a larger APPEND literal with
	 * [TOOBIG] before it is sent. */
	buf_printf(out, " APPENDLIMIT=%llu",
		   (unsigned long long)set->max_append);
	imap_quota_capability(client, out);
	if (set->urlauth_host[0] != '\0')
		buf_append_str(out, " URLAUTH");
	if (set->capability[0] == '+')
		buf_printf(out, " %s", set->capability + 1);
}

static bool needs_literal(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '\r' || c == '\n' || c >= 0x80)
			return true;
	}
	return false;
}

void imap_quote_string(struct buf *out, const char *s)
{
	if (needs_literal(s)) {
		buf_printf(out, "{%zu}\r\n%s", strlen(s), s);
		return;
	}
	buf_append_c(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_c(out, '\\');
		buf_append_c(out, *s);
	}
	buf_append_c(out, '"');
}

void imap_quote_nstring(struct buf *out, const char *s)
{
	if (s == NULL)
		buf_append_str(out, "NIL");
	else
		imap_quote_string(out, s);
}
