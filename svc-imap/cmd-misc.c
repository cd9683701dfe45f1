/* Commands valid in any state and the small ones of RFC 3501 6.1 and its
 * extensions: CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161),
 * NAMESPACE (RFC 2342). */
#include "imap-common.h"
#include "imap-rpc.h"
#include "imap-sync.h"
#include "auth.pb-c.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define IMAP_ID_MAX_PAIRS 30
#define IMAP_ID_MAX_KEY 30
#define IMAP_ID_MAX_VALUE 1024

bool cmd_capability(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct buf caps = BUF_INIT;
	imap_capability_string(client, &caps);
	imap_client_send(client, "* CAPABILITY %s", caps.data);
	buf_free(&caps);
	if (client->state == IMAP_STATE_NOT_AUTH)
		imap_cmd_reply(cmd, "OK", "Pre-login capabilities listed, "
			       "post-login capabilities have more.");
	else
		imap_cmd_reply(cmd, "OK", "Capability completed.");
	return true;
}

bool cmd_noop(struct imap_cmd *cmd)
{
	/* New mail, expunges and flag changes of other sessions. */
	imap_sync_reply(cmd, "OK", "NOOP completed.");
	return false;
}

bool cmd_logout(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	imap_client_send(client, "* BYE Logging out");
	imap_cmd_reply(cmd, "OK", "Logout completed.");
	imap_client_set_state(client, IMAP_STATE_LOGOUT);
	return true;
}

/* imap_id_send: "name *" sends our own value for name; "key value" pairs
 * are sent as given. */
static void id_reply(struct imap_client *client, struct buf *out)
{
	const char *s = client->ctx->set.id_send;
	size_t pairs = 0;
	buf_append_str(out, "* ID ");
	size_t start = out->len;
	buf_append_c(out, '(');
	while (*s != '\0') {
		s += strspn(s, " \t");
		size_t kn = strcspn(s, " \t");
		if (kn == 0)
			break;
		char *key = xstrndup(s, kn);
		s += kn;
		s += strspn(s, " \t");
		char *value;
		if (*s == '"') {
			const char *e = strchr(s + 1, '"');
			size_t vn = e != NULL ? (size_t)(e - s - 1) : strlen(s + 1);
			value = xstrndup(s + 1, vn);
			s += vn + 1 + (e != NULL);
		} else {
			size_t vn = strcspn(s, " \t");
			value = xstrndup(s, vn);
			s += vn;
		}
		if (strcmp(value, "*") == 0) {
			free(value);
			value = strcasecmp(key, "name") == 0 ?
				xstrdup("Stratus") :
				strcasecmp(key, "version") == 0 ?
				xstrdup(STRATUS_VERSION) : NULL;
		}
		if (pairs++ > 0)
			buf_append_c(out, ' ');
		imap_quote_string(out, key);
		buf_append_c(out, ' ');
		imap_quote_nstring(out, value);
		free(key);
		free(value);
	}
	if (pairs == 0) {
		out->len = start;
		buf_append_str(out, "NIL");
	} else {
		buf_append_c(out, ')');
	}
}

/* ID fields a trusted proxy forwards before login (Dovecot's names). */
struct id_forward {
	const char *ip, *session, *connected_ip;
	unsigned int port;
};

static void id_forward_field(struct id_forward *fw, const struct imap_arg *k,
			     const struct imap_arg *v)
{
	if (v->type == IMAP_ARG_ATOM)	/* NIL */
		return;
	if (strcasecmp(k->str, "x-originating-ip") == 0)
		fw->ip = v->str;
	else if (strcasecmp(k->str, "x-originating-port") == 0)
		fw->port = (unsigned int)strtoul(v->str, NULL, 10);
	else if (strcasecmp(k->str, "x-session-id") == 0 ||
		 strcasecmp(k->str, "x-session-ext-id") == 0)
		fw->session = v->str;
	else if (strcasecmp(k->str, "x-connected-ip") == 0)
		fw->connected_ip = v->str;
}

static bool session_id_ok(const char *s)
{
	size_t len = strlen(s);
	return len > 0 && len <= 64 &&
		strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		       "0123456789+/=-_.") == len;
}

static void id_send_reply(struct imap_cmd *cmd)
{
	struct buf out = BUF_INIT;
	id_reply(cmd->client, &out);
	imap_client_send(cmd->client, "%s", out.data);
	buf_free(&out);
	imap_cmd_reply(cmd, "OK", "ID completed.");
}

static void id_trust_reply(struct imap_cmd *cmd, const struct rpc_reply *reply)
{
	struct imap_client *client = cmd->client;
	struct id_forward *fw = cmd->ctx;
	const Stratus__TrustReply *r = (const void *)reply->msg;
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		log_warning(&client->log, "ID: trust check failed (%s); "
			    "forwarded fields ignored", reply->error != NULL ?
			    reply->error : rpc_status_name(reply->status));
	} else if (r->trusted) {
		if (r->client_ip[0] != '\0' &&
		    strlen(r->client_ip) < sizeof(client->ip))
			memcpy(client->ip, r->client_ip,
			       strlen(r->client_ip) + 1);
		if (r->client_port != 0)
			client->port = r->client_port;
		if (r->session[0] != '\0' && session_id_ok(r->session)) {
			free(client->session);
			client->session = xstrdup(r->session);
			client->log.session = client->session;
		}
		if (fw->connected_ip != NULL &&
		    strlen(fw->connected_ip) < sizeof(client->local_ip))
			memcpy(client->local_ip, fw->connected_ip,
			       strlen(fw->connected_ip) + 1);
		client->forwarded = true;
		log_info(&client->log, "ID from trusted %s: client %s:%u",
			 client->peer_ip, client->ip, client->port);
	}
	id_send_reply(cmd);
	imap_cmd_done(cmd);
}

/* Before login: asks svc-auth whether the peer may forward the client's
 * address and session (login_trusted_networks). */
static bool id_forward(struct imap_cmd *cmd, struct id_forward *fw)
{
	struct imap_client *client = cmd->client;
	int method = rpc_method_index(&stratus__auth__descriptor, "Trust");
	if (client->state != IMAP_STATE_NOT_AUTH || client->forwarded ||
	    (fw->ip == NULL && fw->session == NULL) || method < 0)
		return false;
	Stratus__TrustRequest req = STRATUS__TRUST_REQUEST__INIT;
	req.ip = client->peer_ip;
	req.protocol = (char *)"imap";
	req.forwarded_ip = (char *)(fw->ip != NULL ? fw->ip : "");
	req.forwarded_port = fw->port;
	req.forwarded_session = (char *)(fw->session != NULL ?
					 fw->session : "");
	cmd->ctx = fw;
	imap_rpc_call(cmd, client->ctx->auth, method, &req.base, NULL, 0,
		      id_trust_reply);
	return true;
}

bool cmd_id(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	const struct imap_arg *args = cmd->c.args;
	struct id_forward *fw = imap_pool_alloc(&cmd->pool, sizeof(*fw));

	if (cmd->c.n_args != 1 ||
	    (args[0].type != IMAP_ARG_LIST &&
	     !imap_arg_atom_equals(&args[0], "NIL"))) {
		imap_cmd_bad(cmd, "Invalid ID parameters");
		return true;
	}
	if (args[0].type == IMAP_ARG_LIST) {
		const struct imap_arg *l = args[0].list;
		size_t n = args[0].list_count;
		if (n % 2 != 0 || n / 2 > IMAP_ID_MAX_PAIRS) {
			imap_cmd_bad(cmd, "Invalid ID parameters");
			return true;
		}
		struct buf logline = BUF_INIT;
		for (size_t i = 0; i < n; i += 2) {
			if (!imap_arg_is_astring(&l[i]) ||
			    l[i].type == IMAP_ARG_ATOM ||
			    l[i].len > IMAP_ID_MAX_KEY ||
			    (!imap_arg_is_astring(&l[i + 1]) ||
			     l[i + 1].len > IMAP_ID_MAX_VALUE) ||
			    (l[i + 1].type == IMAP_ARG_ATOM &&
			     !imap_arg_atom_equals(&l[i + 1], "NIL"))) {
				buf_free(&logline);
				imap_cmd_bad(cmd, "Invalid ID parameters");
				return true;
			}
			id_forward_field(fw, &l[i], &l[i + 1]);
			const char *log_keys = client->ctx->set.id_log;
			if (strcmp(log_keys, "*") == 0 ||
			    strcasestr(log_keys, l[i].str) != NULL)
				buf_printf(&logline, "%s%s=%s",
					   logline.len > 0 ? ", " : "",
					   l[i].str, l[i + 1].type ==
					   IMAP_ARG_ATOM ? "" : l[i + 1].str);
		}
		if (logline.len > 0 && !client->id_logged)
			log_info(&client->log, "ID sent: %s", logline.data);
		client->id_logged = true;
		buf_free(&logline);
	}
	if (id_forward(cmd, fw))
		return false;
	id_send_reply(cmd);
	return true;
}

bool cmd_enable(struct imap_cmd *cmd)
{
	if (cmd->c.n_args == 0) {
		imap_cmd_bad(cmd, "Missing arguments.");
		return true;
	}
	for (size_t i = 0; i < cmd->c.n_args; i++) {
		if (cmd->c.args[i].type != IMAP_ARG_ATOM) {
			imap_cmd_bad(cmd, "Invalid arguments.");
			return true;
		}
	}
	/* RFC 5161: unknown ones are ignored; the ENABLED list names what
	 * this command switched on. */
	struct imap_client *client = cmd->client;
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* ENABLED");
	for (size_t i = 0; i < cmd->c.n_args; i++) {
		const struct imap_arg *a = &cmd->c.args[i];
		if (imap_arg_atom_equals(a, "CONDSTORE") && !client->condstore) {
			imap_client_enable_condstore(client);
			buf_append_str(&out, " CONDSTORE");
		} else if (imap_arg_atom_equals(a, "QRESYNC") &&
			   !client->qresync) {
			imap_client_enable_condstore(client);
			client->qresync = true;
			buf_append_str(&out, " QRESYNC");
		} else if (imap_arg_atom_equals(a, "IMAP4rev2") &&
			   !client->imap4rev2) {
			client->imap4rev2 = true;
			buf_append_str(&out, " IMAP4rev2");
		} else if (imap_arg_atom_equals(a, "UTF8=ACCEPT") &&
			   !client->utf8_accept) {
			client->utf8_accept = true;
			buf_append_str(&out, " UTF8=ACCEPT");
		}
	}
	imap_client_send(client, "%s", out.data);
	buf_free(&out);
	imap_cmd_reply(cmd, "OK", "Enabled.");
	return true;
}

void imap_client_enable_condstore(struct imap_client *client)
{
	if (client->condstore)
		return;
	client->condstore = true;
	if (client->state == IMAP_STATE_SELECTED)
		imap_client_send(client, "* OK [HIGHESTMODSEQ %llu] Highest",
				 (unsigned long long)client->highest_modseq);
}

static void namespace_list(const struct imap_settings *set, const char *type,
			   struct buf *out)
{
	size_t n = 0;
	for (size_t i = 0; i < set->n_namespaces; i++) {
		const struct imap_namespace *ns = &set->namespaces[i];
		if (ns->hidden || strcmp(ns->type, type) != 0)
			continue;
		buf_append_str(out, n++ == 0 ? "((" : "(");
		imap_quote_string(out, ns->prefix);
		buf_printf(out, " \"%s%c\")", ns->sep == '\\' || ns->sep == '"' ?
			   "\\" : "", ns->sep);
	}
	buf_append_str(out, n == 0 ? "NIL" : ")");
}

bool cmd_namespace(struct imap_cmd *cmd)
{
	const struct imap_settings *set = &cmd->client->ctx->set;
	if (cmd->c.n_args != 0) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	struct buf out = BUF_INIT;
	buf_append_str(&out, "* NAMESPACE ");
	namespace_list(set, "private", &out);
	buf_append_c(&out, ' ');
	namespace_list(set, "shared", &out);
	buf_append_c(&out, ' ');
	namespace_list(set, "public", &out);
	imap_client_send(cmd->client, "%s", out.data);
	buf_free(&out);
	imap_cmd_reply(cmd, "OK", "Namespace completed.");
	return true;
}
