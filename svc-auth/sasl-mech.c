/* PLAIN and LOGIN decoding (see sasl-mech.h). */
#include "sasl-mech.h"
#include "auth-common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sasl_mech_find(const char *name, enum sasl_mech *mech_r)
{
	if (strcasecmp(name, "PLAIN") == 0)
		*mech_r = SASL_MECH_PLAIN;
	else if (strcasecmp(name, "LOGIN") == 0)
		*mech_r = SASL_MECH_LOGIN;
	else
		return -1;
	return 0;
}

const char *sasl_mech_name(enum sasl_mech mech)
{
	return mech == SASL_MECH_PLAIN ? "PLAIN" : "LOGIN";
}

bool sasl_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned int cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

void sasl_exchange_init(struct sasl_exchange *ex, enum sasl_mech mech)
{
	memset(ex, 0, sizeof(*ex));
	ex->mech = mech;
}

static void free_secret(char **s)
{
	if (*s != NULL) {
		explicit_bzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

void sasl_exchange_clear(struct sasl_exchange *ex)
{
	free(ex->authzid);
	free(ex->authcid);
	free_secret(&ex->password);
	ex->authzid = ex->authcid = NULL;
}

/* One field: no NUL inside (the caller split on them), within max,
 * UTF-8. */
static int take_field(const unsigned char *p, size_t len, size_t max,
		      char **out, const char **error_r)
{
	if (len > max) {
		*error_r = "field too long";
		return -1;
	}
	if (memchr(p, '\0', len) != NULL) {
		*error_r = "NUL in field";
		return -1;
	}
	if (!sasl_utf8_valid(p, len)) {
		*error_r = "invalid UTF-8";
		return -1;
	}
	*out = xstrndup((const char *)p, len);
	return 0;
}

int sasl_plain_decode(struct sasl_exchange *ex, const unsigned char *data,
		      size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty PLAIN response";
		return -1;
	}
	const unsigned char *nul1 = memchr(data, '\0', len);
	if (nul1 == NULL) {
		*error_r = "PLAIN response without NUL separators";
		return -1;
	}
	size_t rest = len - (size_t)(nul1 + 1 - data);
	const unsigned char *nul2 = memchr(nul1 + 1, '\0', rest);
	if (nul2 == NULL) {
		*error_r = "PLAIN response with one NUL separator";
		return -1;
	}
	size_t pwlen = len - (size_t)(nul2 + 1 - data);
	if (memchr(nul2 + 1, '\0', pwlen) != NULL) {
		*error_r = "PLAIN response with more than two NULs";
		return -1;
	}
	size_t zlen = (size_t)(nul1 - data);
	size_t clen = (size_t)(nul2 - nul1 - 1);
	if (clen == 0) {
		*error_r = "PLAIN response with empty authcid";
		return -1;
	}
	sasl_exchange_clear(ex);
	if (take_field(data, zlen, AUTH_MAX_USERNAME_LEN, &ex->authzid,
		       error_r) < 0 ||
	    take_field(nul1 + 1, clen, AUTH_MAX_USERNAME_LEN, &ex->authcid,
		       error_r) < 0 ||
	    take_field(nul2 + 1, pwlen, AUTH_MAX_PASSWORD_LEN, &ex->password,
		       error_r) < 0) {
		sasl_exchange_clear(ex);
		return -1;
	}
	return 0;
}

static enum sasl_step_result
login_step(struct sasl_exchange *ex, bool has_response,
	   const unsigned char *data, size_t len, const char **challenge_r,
	   const char **error_r)
{
	/* Step 0 without a response asks for the user name; an initial
	 * response (RFC 4954 style) is the user name itself. */
	if (ex->step == 0 && !has_response) {
		ex->step = 1;
		*challenge_r = "Username:";
		return SASL_STEP_CONTINUE;
	}
	if (ex->step <= 1) {
		if (len == 0) {
			*error_r = "empty LOGIN user name";
			return SASL_STEP_FAIL;
		}
		free(ex->authcid);
		ex->authcid = NULL;
		if (take_field(data, len, AUTH_MAX_USERNAME_LEN, &ex->authcid,
			       error_r) < 0)
			return SASL_STEP_FAIL;
		ex->step = 2;
		*challenge_r = "Password:";
		return SASL_STEP_CONTINUE;
	}
	if (ex->step == 2) {
		if (take_field(data, len, AUTH_MAX_PASSWORD_LEN,
			       &ex->password, error_r) < 0)
			return SASL_STEP_FAIL;
		ex->step = 3;
		return SASL_STEP_DONE;
	}
	*error_r = "LOGIN exchange already finished";
	return SASL_STEP_FAIL;
}

enum sasl_step_result
sasl_exchange_step(struct sasl_exchange *ex, bool has_response,
		   const unsigned char *data, size_t len,
		   const char **challenge_r, const char **error_r)
{
	*challenge_r = "";
	if (data == NULL || len == 0) {
		/* protobuf-c gives NULL for an empty bytes field. */
		data = (const unsigned char *)"";
		len = 0;
	}
	if (has_response && len > AUTH_MAX_SASL_RESPONSE) {
		*error_r = "SASL response too long";
		return SASL_STEP_FAIL;
	}
	if (ex->mech == SASL_MECH_LOGIN)
		return login_step(ex, has_response, data, len, challenge_r,
				  error_r);
	if (!has_response) {
		if (ex->step > 0) {
			*error_r = "PLAIN continuation without response";
			return SASL_STEP_FAIL;
		}
		/* Empty challenge: the client sends its response next. */
		ex->step = 1;
		return SASL_STEP_CONTINUE;
	}
	if (ex->step > 1) {
		*error_r = "PLAIN exchange already finished";
		return SASL_STEP_FAIL;
	}
	ex->step = 2;
	if (sasl_plain_decode(ex, data, len, error_r) < 0)
		return SASL_STEP_FAIL;
	return SASL_STEP_DONE;
}
