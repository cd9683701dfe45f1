/* SASL steps and session counting through svc-auth (see sasl-client.h). */
#include "sasl-client.h"

#include <stdlib.h>
#include <string.h>

#include "auth.pb-c.h"
#include "log.h"

/* Method numbers of auth.proto, looked up once. */
static uint32_t sasl_client_method(const char *name)
{
	int i = rpc_method_index(&stratus__auth__descriptor, name);
	if (i < 0)
		log_panic("auth.proto has no method %s", name);
	return (uint32_t)i;
}

struct sasl_client_req {
	sasl_client_cb *cb;
	void *ctx;
};

static enum sasl_client_result sasl_client_result_of(Stratus__SaslResult r)
{
	switch (r) {
	case STRATUS__SASL_RESULT__SASL_CONTINUE:
		return SASL_CLIENT_CONTINUE;
	case STRATUS__SASL_RESULT__SASL_SUCCESS:
		return SASL_CLIENT_OK;
	case STRATUS__SASL_RESULT__SASL_LIMIT:
		return SASL_CLIENT_LIMIT;
	case STRATUS__SASL_RESULT__SASL_TEMPFAIL:
		return SASL_CLIENT_TEMPFAIL;
	case STRATUS__SASL_RESULT__SASL_FAILURE:
	default:
		return SASL_CLIENT_FAILED;
	}
}

static void sasl_client_reply(const struct rpc_reply *reply, void *ctx)
{
	struct sasl_client_req *req = ctx;
	struct sasl_client_answer a = {
		.result = SASL_CLIENT_TEMPFAIL, .reason = "", .user = "",
	};
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		a.error = reply->error != NULL ? reply->error :
			rpc_status_name(reply->status);
	} else {
		const Stratus__SaslReply *r = (const void *)reply->msg;
		a.result = sasl_client_result_of(r->result);
		a.sasl_id = r->sasl_id;
		a.challenge = r->challenge.data;
		a.challenge_len = r->challenge.len;
		a.user = r->user != NULL ? r->user : "";
		a.reason = r->reason != NULL ? r->reason : "";
		/* a success without a user cannot log anyone in */
		if (a.result == SASL_CLIENT_OK && a.user[0] == '\0') {
			a.result = SASL_CLIENT_TEMPFAIL;
			a.error = "svc-auth answered success without a user";
		}
	}
	req->cb(&a, req->ctx);
	free(req);
}

static void sasl_client_ignore(const struct rpc_reply *reply, void *ctx)
{
	(void)reply;
	(void)ctx;
}

void sasl_client_send(struct rpc_client *auth, const Stratus__Context *ctx,
		      const struct sasl_client_step *step,
		      uint32_t timeout_ms, sasl_client_cb *cb, void *cb_ctx)
{
	static uint32_t method = UINT32_MAX;
	if (method == UINT32_MAX)
		method = sasl_client_method("Sasl");
	Stratus__SaslRequest req = STRATUS__SASL_REQUEST__INIT;
	req.mechanism = (char *)step->mechanism;
	req.sasl_id = step->sasl_id;
	req.response.data = (uint8_t *)step->response;
	req.response.len = step->response_len;
	req.has_response = step->has_response;
	req.protocol = (char *)step->protocol;
	req.local_ip = (char *)(step->local_ip != NULL ? step->local_ip : "");
	req.local_port = step->local_port;
	req.secured = step->secured;
	req.valid_client_cert = step->valid_client_cert;
	req.abort = step->abort;
	req.remote_ip = (char *)(step->remote_ip != NULL ? step->remote_ip :
				 "");
	if (cb == NULL) {
		rpc_client_call(auth, method, ctx, &req.base, NULL, 0,
				timeout_ms, sasl_client_ignore, NULL);
		return;
	}
	struct sasl_client_req *r = xcalloc(1, sizeof(*r));
	r->cb = cb;
	r->ctx = cb_ctx;
	rpc_client_call(auth, method, ctx, &req.base, NULL, 0, timeout_ms,
			sasl_client_reply, r);
}

struct sasl_client_connect_req {
	sasl_client_connect_cb *cb;
	void *ctx;
};

static void sasl_client_connect_reply(const struct rpc_reply *reply,
				      void *ctx)
{
	struct sasl_client_connect_req *req = ctx;
	struct sasl_client_connect_answer a = { .allowed = true };
	if (reply->status != STRATUS__STATUS__STATUS_OK) {
		a.error = reply->error != NULL ? reply->error :
			rpc_status_name(reply->status);
	} else {
		const Stratus__ConnectReply *r = (const void *)reply->msg;
		a.allowed = r->allowed;
		a.limit = r->limit;
	}
	req->cb(&a, req->ctx);
	free(req);
}

void sasl_client_connect(struct rpc_client *auth, const Stratus__Context *ctx,
			 const char *user, const char *protocol,
			 const char *ip, bool release, uint32_t timeout_ms,
			 sasl_client_connect_cb *cb, void *cb_ctx)
{
	static uint32_t method = UINT32_MAX;
	if (method == UINT32_MAX)
		method = sasl_client_method("Connect");
	Stratus__ConnectRequest req = STRATUS__CONNECT_REQUEST__INIT;
	req.user = (char *)user;
	req.protocol = (char *)protocol;
	req.ip = (char *)ip;
	req.release = release;
	if (cb == NULL) {
		rpc_client_call(auth, method, ctx, &req.base, NULL, 0,
				timeout_ms, sasl_client_ignore, NULL);
		return;
	}
	struct sasl_client_connect_req *r = xcalloc(1, sizeof(*r));
	r->cb = cb;
	r->ctx = cb_ctx;
	rpc_client_call(auth, method, ctx, &req.base, NULL, 0, timeout_ms,
			sasl_client_connect_reply, r);
}

bool sasl_client_secured(const char *peer_ip)
{
	return strncmp(peer_ip, "127.", 4) == 0 ||
	       strcmp(peer_ip, "::1") == 0 || strcmp(peer_ip, "local") == 0;
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void sasl_base64_encode(const void *in_, size_t len, struct buf *out)
{
	const unsigned char *in = in_;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		buf_append_c(out, b64[(v >> 18) & 63]);
		buf_append_c(out, b64[(v >> 12) & 63]);
		buf_append_c(out, i + 1 < len ? b64[(v >> 6) & 63] : '=');
		buf_append_c(out, i + 2 < len ? b64[v & 63] : '=');
	}
}

int sasl_base64_decode(const char *in, size_t len, struct buf *out)
{
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int j = 0; j < 4; j++) {
			char c = in[i + j];
			const char *p = c == '\0' ? NULL : strchr(b64, c);
			if (c == '=' && i + 4 == len && j >= 2) {
				pad++;
				v <<= 6;
				continue;
			}
			if (p == NULL || pad > 0)
				return -1;
			v = (v << 6) | (uint32_t)(p - b64);
		}
		char bytes[3] = { (char)(v >> 16), (char)(v >> 8), (char)v };
		if (buf_append(out, bytes, (size_t)(3 - pad)) < 0)
			return -1;	/* over the buffer's bound */
	}
	return 0;
}

void sasl_buf_wipe_free(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_free(b);
}
