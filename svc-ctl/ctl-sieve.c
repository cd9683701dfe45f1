/* stratusctl sieve: a user's Sieve scripts by hand, through the running
 * svc-blob, in the layout svc-managesieve and svc-lmtp use
 * (lib/sieve/sieve-storage.h).
 *   sieve list USER                  names, the active one marked ACTIVE
 *   sieve get USER NAME [FILE]       print or save a script's source
 *   sieve put [-a] USER NAME FILE|-  compile, store source and binary
 *                                    (-a: then activate it)
 *   sieve activate USER NAME         make NAME the active script
 *   sieve deactivate USER            no active script
 *   sieve delete USER NAME           not the active one
 * put refuses a script that does not compile with the same
 * "line L, column C" errors PUTSCRIPT gives; like doveadm sieve put, it
 * does not apply the per-user quotas (operators may exceed them). */
#include "ctl.h"
#include "blob.pb-c.h"
#include "buf.h"
#include "rpc-versions.h"
#include "service.h"
#include "sieve-storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CTL_SIEVE_TIMEOUT_MS 60000
#define CTL_SIEVE_EXIT_NOTFOUND 68	/* as doveadm: EX_NOUSER */
#define CTL_SIEVE_DEFAULT_MAX_SIZE (1024 * 1024)

enum { M_PUT, M_GET, M_HEAD, M_DELETE, M_COPY, M_LIST };
enum { CS_OK = 0, CS_FAIL = -1, CS_NOTFOUND = -2, CS_USAGE = -3 };

struct ctl_sieve {
	struct rpc_client *blob;
	const char *user;
	size_t max_size;	/* sieve_max_script_size */
	unsigned int max_errors;	/* managesieve_max_compile_errors */
};

static int sieve_call(struct ctl_sieve *cs, uint32_t method,
		      const ProtobufCMessage *req, const int *fds,
		      size_t n_fds, struct rpc_reply *reply)
{
	if (rpc_client_call_sync(cs->blob, method, req, fds, n_fds,
				 CTL_SIEVE_TIMEOUT_MS, reply) == 0)
		return CS_OK;
	if (reply->status == STRATUS__STATUS__STATUS_NOT_FOUND)
		return CS_NOTFOUND;
	fprintf(stderr, "stratusctl sieve: blob: %s: %s\n",
		rpc_status_name(reply->status),
		reply->error != NULL ? reply->error : "");
	return CS_FAIL;
}

/* Reads object `key` into *out (bounded by the script size limit). */
static int sieve_get(struct ctl_sieve *cs, const char *key, struct buf *out)
{
	Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	char tmp[16384];
	ssize_t n = 0;
	int ret;

	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)cs->user;
	req.key = (char *)key;
	ret = sieve_call(cs, M_GET, &req.base, NULL, 0, &reply);
	if (ret == CS_OK && reply.n_fds < 1)
		ret = CS_FAIL;
	buf_init(out, cs->max_size + 1);
	while (ret == CS_OK && (n = read(reply.fds[0], tmp, sizeof(tmp))) > 0) {
		if (buf_append(out, tmp, (size_t)n) < 0) {
			fprintf(stderr, "stratusctl sieve: %s is larger than "
				"sieve_max_script_size\n", key);
			ret = CS_FAIL;
		}
	}
	if (ret == CS_OK && n < 0)
		ret = CS_FAIL;
	rpc_reply_clear(&reply);
	return ret;
}

static int sieve_put(struct ctl_sieve *cs, const char *key, const void *data,
		     size_t len)
{
	Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	int fd = memfd_create("stratusctl-sieve", MFD_CLOEXEC);
	int ret;

	if (fd < 0 || (len > 0 && write(fd, data, len) != (ssize_t)len) ||
	    lseek(fd, 0, SEEK_SET) < 0) {
		fprintf(stderr, "stratusctl sieve: memfd: %s\n",
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return CS_FAIL;
	}
	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)cs->user;
	req.key = (char *)key;
	ret = sieve_call(cs, M_PUT, &req.base, &fd, 1, &reply);
	close(fd);
	rpc_reply_clear(&reply);
	return ret;
}

static int sieve_delete(struct ctl_sieve *cs, char **keys, size_t n)
{
	Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	int ret;

	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)cs->user;
	req.keys = keys;
	req.n_keys = n;
	ret = sieve_call(cs, M_DELETE, &req.base, NULL, 0, &reply);
	if (ret == CS_OK &&
	    ((const Stratus__BlobDeleteReply *)reply.msg)->n_failed > 0)
		ret = CS_FAIL;
	rpc_reply_clear(&reply);
	return ret;
}

/* The active script's name into *name_r ("" when none). */
static int sieve_active(struct ctl_sieve *cs, char **name_r)
{
	struct buf b = BUF_INIT;
	int ret = sieve_get(cs, SIEVE_STORAGE_ACTIVE_KEY, &b);

	*name_r = NULL;
	if (ret == CS_NOTFOUND)
		ret = CS_OK;
	if (ret == CS_OK)
		*name_r = b.data != NULL ? buf_steal(&b) : xstrdup("");
	buf_free(&b);
	return ret;
}

static int name_arg(const char *name)
{
	if (sieve_storage_name_valid(name, strlen(name)))
		return CS_OK;
	fprintf(stderr, "stratusctl sieve: invalid script name '%s'\n", name);
	return CS_USAGE;
}

static int not_found(const char *name)
{
	fprintf(stderr, "stratusctl sieve: script '%s' does not exist\n",
		name);
	return CS_NOTFOUND;
}

static int cmd_list(struct ctl_sieve *cs)
{
	Stratus__BlobListRequest req = STRATUS__BLOB_LIST_REQUEST__INIT;
	struct rpc_reply reply = { 0 };
	char *active, *cont = xstrdup("");
	int ret = sieve_active(cs, &active);

	req.chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
	req.user = (char *)cs->user;
	req.prefix = (char *)SIEVE_STORAGE_PREFIX;
	while (ret == CS_OK) {
		const Stratus__BlobListReply *r;

		req.continuation = cont;
		ret = sieve_call(cs, M_LIST, &req.base, NULL, 0, &reply);
		if (ret == CS_NOTFOUND)
			ret = CS_OK;	/* no folder yet: no scripts */
		if (ret != CS_OK || reply.msg == NULL)
			break;
		r = (const void *)reply.msg;
		for (size_t i = 0; i < r->n_entries; i++) {
			const char *name =
				sieve_storage_key_script_name(r->entries[i]->key);

			if (name != NULL)
				printf("%s%s\n", name, strcmp(name, active) == 0 ?
				       " ACTIVE" : "");
		}
		free(cont);
		cont = xstrdup(r->continuation);
		rpc_reply_clear(&reply);
		if (cont[0] == '\0')
			break;
	}
	rpc_reply_clear(&reply);
	free(cont);
	free(active);
	return ret;
}

static int cmd_get(struct ctl_sieve *cs, const char *name, const char *path)
{
	struct buf b = BUF_INIT;
	char *key = sieve_storage_script_key(name);
	int ret = sieve_get(cs, key, &b);
	FILE *out = stdout;

	free(key);
	if (ret == CS_NOTFOUND)
		ret = not_found(name);
	if (ret == CS_OK && path != NULL &&
	    (out = fopen(path, "we")) == NULL) {
		fprintf(stderr, "stratusctl sieve: %s: %s\n", path,
			strerror(errno));
		ret = CS_FAIL;
	}
	if (ret == CS_OK && b.len > 0 && fwrite(b.data, 1, b.len, out) != b.len)
		ret = CS_FAIL;
	if (out != stdout && out != NULL && fclose(out) != 0)
		ret = CS_FAIL;
	buf_free(&b);
	return ret;
}

static int read_input(struct ctl_sieve *cs, const char *path, struct buf *b)
{
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	char tmp[16384];
	ssize_t n = 0;
	int ret = CS_OK;

	if (fd < 0) {
		fprintf(stderr, "stratusctl sieve: %s: %s\n", path,
			strerror(errno));
		return CS_FAIL;
	}
	buf_init(b, cs->max_size);
	while (ret == CS_OK && (n = read(fd, tmp, sizeof(tmp))) > 0) {
		if (buf_append(b, tmp, (size_t)n) < 0) {
			fprintf(stderr, "stratusctl sieve: %s: script is "
				"larger than sieve_max_script_size (%zu)\n",
				path, cs->max_size);
			ret = CS_FAIL;
		}
	}
	if (n < 0)
		ret = CS_FAIL;
	if (fd != 0)
		close(fd);
	return ret;
}

static int cmd_activate(struct ctl_sieve *cs, const char *name);

static int cmd_put(struct ctl_sieve *cs, const char *name, const char *path,
		   bool activate)
{
	struct buf src = BUF_INIT;
	void *bin = NULL;
	size_t bin_len = 0;
	char *error, *key;
	int ret = read_input(cs, path, &src);

	if (ret == CS_OK &&
	    sieve_storage_compile(src.data != NULL ? src.data : "", src.len,
				  cs->max_size, cs->max_errors, &bin, &bin_len,
				  &error) < 0) {
		fprintf(stderr, "stratusctl sieve: %s: compile failed:\n%s\n",
			name, error);
		free(error);
		ret = CS_FAIL;
	}
	if (ret == CS_OK) {
		key = sieve_storage_script_key(name);
		ret = sieve_put(cs, key, src.data, src.len);
		free(key);
	}
	if (ret == CS_OK) {
		key = sieve_storage_binary_key(name);
		ret = sieve_put(cs, key, bin, bin_len);
		free(key);
	}
	free(bin);
	buf_free(&src);
	if (ret == CS_OK && activate)
		ret = cmd_activate(cs, name);
	return ret;
}

static int cmd_activate(struct ctl_sieve *cs, const char *name)
{
	struct buf src = BUF_INIT;
	char *key = sieve_storage_script_key(name), *error;
	int ret = sieve_get(cs, key, &src);

	free(key);
	if (ret == CS_NOTFOUND)
		ret = not_found(name);
	/* As SETACTIVE: a script that no longer compiles stays inactive. */
	if (ret == CS_OK &&
	    sieve_storage_compile(src.data != NULL ? src.data : "", src.len,
				  cs->max_size, cs->max_errors, NULL, NULL,
				  &error) < 0) {
		fprintf(stderr, "stratusctl sieve: %s: compile failed:\n%s\n",
			name, error);
		free(error);
		ret = CS_FAIL;
	}
	buf_free(&src);
	if (ret == CS_OK)
		ret = sieve_put(cs, SIEVE_STORAGE_ACTIVE_KEY, name, strlen(name));
	return ret;
}

static int cmd_deactivate(struct ctl_sieve *cs)
{
	char *keys[] = { (char *)SIEVE_STORAGE_ACTIVE_KEY };

	return sieve_delete(cs, keys, 1);
}

static int cmd_delete(struct ctl_sieve *cs, const char *name)
{
	struct buf src = BUF_INIT;
	char *active, *keys[2];
	int ret = sieve_active(cs, &active);

	if (ret == CS_OK && strcmp(active, name) == 0) {
		fprintf(stderr, "stratusctl sieve: cannot delete the active "
			"script '%s' (deactivate it first)\n", name);
		ret = CS_FAIL;
	}
	free(active);
	keys[0] = sieve_storage_script_key(name);
	keys[1] = sieve_storage_binary_key(name);
	/* The store deletes missing keys silently: look first. */
	if (ret == CS_OK) {
		ret = sieve_get(cs, keys[0], &src);
		if (ret == CS_NOTFOUND)
			ret = not_found(name);
	}
	if (ret == CS_OK)
		ret = sieve_delete(cs, keys, 2);
	buf_free(&src);
	free(keys[0]);
	free(keys[1]);
	return ret;
}

static int sieve_run(struct ctl_sieve *cs, const char *cmd, int argc,
		     char **argv)
{
	bool activate = argc > 0 && strcmp(argv[0], "-a") == 0;

	if (strcmp(cmd, "put") == 0 && activate) {
		argc--;
		argv++;
	}
	if (argc < 1)
		return CS_USAGE;
	cs->user = argv[0];
	if (argc >= 2 && name_arg(argv[1]) != CS_OK)
		return CS_USAGE;
	if (strcmp(cmd, "list") == 0 && argc == 1)
		return cmd_list(cs);
	if (strcmp(cmd, "get") == 0 && (argc == 2 || argc == 3))
		return cmd_get(cs, argv[1], argc == 3 ? argv[2] : NULL);
	if (strcmp(cmd, "put") == 0 && argc == 3)
		return cmd_put(cs, argv[1], argv[2], activate);
	if (strcmp(cmd, "activate") == 0 && argc == 2)
		return cmd_activate(cs, argv[1]);
	if (strcmp(cmd, "deactivate") == 0 && argc == 1)
		return cmd_deactivate(cs);
	if (strcmp(cmd, "delete") == 0 && argc == 2)
		return cmd_delete(cs, argv[1]);
	return CS_USAGE;
}

static void sieve_settings(const struct config *cfg, struct ctl_sieve *cs)
{
	const char *v = config_plugin_get(cfg, "sieve", "sieve_max_script_size");
	uint64_t n;

	cs->max_size = CTL_SIEVE_DEFAULT_MAX_SIZE;
	if (v != NULL && config_parse_size(v, &n) == 0 && n > 0 &&
	    n < SIZE_MAX)
		cs->max_size = (size_t)n;
	cs->max_errors = (unsigned int)config_get_uint(cfg, "sieve",
		"managesieve_max_compile_errors");
	if (cs->max_errors == 0)
		cs->max_errors = 5;
}

static const char sieve_usage[] =
	"usage: stratusctl sieve list USER | get USER NAME [FILE] |\n"
	"       put [-a] USER NAME FILE|- | activate USER NAME |\n"
	"       deactivate USER | delete USER NAME\n"
	"       (or -u USER|-A in place of USER, as doveadm sieve)\n";

/* doveadm's form: -u USER|MASK or -A instead of the positional USER, the
 * command run once per user; with several users each one's output
 * follows a "USER:" line. */
static int sieve_run_users(struct ctl_sieve *cs, const struct config *cfg,
			   struct ctl_args *args)
{
	struct ctl_users users;
	const char *cmd = args->argv[0];
	struct ctl_args rest = { args->config_path, args->argc - 1,
				 args->argv + 1 };
	int r = ctl_users_take(&rest, cfg, &users);
	if (r != 0)
		return r < 0 ? CS_FAIL : CS_USAGE;
	char **argv = xcalloc((size_t)rest.argc + 2, sizeof(char *));
	int ret = CS_OK;
	bool flag = rest.argc > 0 && strcmp(rest.argv[0], "-a") == 0;
	for (size_t u = 0; u < users.n; u++) {
		int n = 0;
		if (flag)
			argv[n++] = rest.argv[0];
		argv[n++] = users.names[u];
		for (int i = flag ? 1 : 0; i < rest.argc; i++)
			argv[n++] = rest.argv[i];
		if (users.n > 1)
			printf("%s:\n", users.names[u]);
		fflush(stdout);
		int one = sieve_run(cs, cmd, n, argv);
		if (one != CS_OK && (ret == CS_OK || one == CS_USAGE))
			ret = one;
		if (one == CS_USAGE)
			break;
	}
	free(argv);
	ctl_users_free(&users);
	return ret;
}

int ctl_cmd_sieve(struct ctl_args *args)
{
	struct ctl_sieve cs = { 0 };
	struct config *cfg;
	struct loop *loop;
	char *path;
	int ret;

	if (args->argc < 2) {
		fputs(sieve_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	sieve_settings(cfg, &cs);
	loop = loop_new();
	path = service_rpc_socket_path(cfg, "blob");
	cs.blob = rpc_client_new(loop, path, &stratus__blob__descriptor,
				 BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
	ret = ctl_users_given(args) ? sieve_run_users(&cs, cfg, args) :
		sieve_run(&cs, args->argv[0], args->argc - 1, args->argv + 1);
	rpc_client_free(&cs.blob);
	free(path);
	loop_free(&loop);
	config_free(&cfg);
	if (ret == CS_USAGE)
		fputs(sieve_usage, stderr);
	return ret == CS_OK ? 0 : ret == CS_USAGE ? CTL_EXIT_USAGE :
	       ret == CS_NOTFOUND ? CTL_SIEVE_EXIT_NOTFOUND : CTL_EXIT_FAILURE;
}
