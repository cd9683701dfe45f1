/* stratusctl fs: the configured object storage by hand, through the
 * running svc-blob (so exactly the chain, cache and accounting the mail
 * services use).
 *   fs put [--index] USER KEY FILE|-     store a file (or stdin)
 *   fs get [--index] USER KEY [FILE]     print or save an object
 *   fs head [--index] USER KEY           size and metadata
 *   fs ls [--index] [--page N] USER [PREFIX]  list keys (all pages,
 *                                        N keys a page; default: driver's)
 *   fs rm [--index] USER KEY...          delete
 *   fs cp [--index] USER SRC DST         server-side copy
 *   fs stats [--json]                    request accounting
 * doveadm's names work too: stat = head, iter = ls, delete = rm, copy = cp. */
#include "ctl.h"
#include "blob.pb-c.h"
#include "buf.h"
#include "rpc.h"
#include "rpc-versions.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CTL_FS_TIMEOUT_MS 120000

enum { M_PUT, M_GET, M_HEAD, M_DELETE, M_COPY, M_LIST };

static int fs_call(struct rpc_client *c, uint32_t method,
		   const ProtobufCMessage *req, const int *fds, size_t n_fds,
		   struct rpc_reply *reply)
{
	if (rpc_client_call_sync(c, method, req, fds, n_fds, CTL_FS_TIMEOUT_MS,
				 reply) < 0) {
		fprintf(stderr, "stratusctl fs: %s: %s\n",
			rpc_status_name(reply->status),
			reply->error ? reply->error : "");
		return -1;
	}
	return 0;
}

static int file_to_memfd(const char *path)
{
	int in = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fprintf(stderr, "stratusctl fs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int fd = memfd_create("stratusctl-put", MFD_CLOEXEC);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(fd, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	}
	if (in != 0)
		close(in);
	if (n < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int fd_to_file(int fd, const char *path)
{
	int out = path == NULL ? 1 : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	char buf[65536];
	ssize_t n;
	int ret = 0;
	if (out < 0)
		return -1;
	(void)lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			ret = -1;
			break;
		}
	}
	if (n < 0)
		ret = -1;
	if (out != 1)
		close(out);
	return ret;
}

static int ctl_fs_stats(struct loop *loop, const struct config *cfg,
			bool json)
{
	char *path = service_rpc_socket_path(cfg, "blob");
	struct rpc_client *c = rpc_client_new(loop, path,
		&stratus__control__descriptor, RPC_CONTROL_MAJOR, RPC_CONTROL_MINOR);
	Stratus__StatusRequest req = STRATUS__STATUS_REQUEST__INIT;
	struct rpc_reply reply;
	int ret = fs_call(c, RPC_METHOD_STATUS, &req.base, NULL, 0, &reply);
	if (ret == 0) {
		const Stratus__StatusReply *r = (const void *)reply.msg;
		if (json)
			fputc('{', stdout);
		for (size_t i = 0; i < r->n_counters; i++) {
			if (json) {
				fputs(i > 0 ? "," : "", stdout);
				ctl_json_string(stdout, r->counters[i]->name);
				printf(":%llu", (unsigned long long)
				       r->counters[i]->value);
				continue;
			}
			printf("%s %llu\n", r->counters[i]->name,
			       (unsigned long long)r->counters[i]->value);
		}
		if (json)
			fputs("}\n", stdout);
	}
	rpc_reply_clear(&reply);
	rpc_client_free(&c);
	free(path);
	return ret;
}

static int ctl_fs_run(struct rpc_client *c, Stratus__BlobChain chain,
		      const char *cmd, int argc, char **argv)
{
	struct rpc_reply reply = { 0 };
	int ret = -1;
	if (strcmp(cmd, "put") == 0 && argc == 3) {
		Stratus__BlobPutRequest req = STRATUS__BLOB_PUT_REQUEST__INIT;
		Stratus__BlobMeta meta = STRATUS__BLOB_META__INIT;
		int fd = file_to_memfd(argv[2]);
		if (fd < 0)
			return -1;
		req.chain = chain;
		req.user = argv[0];
		req.key = argv[1];
		req.meta = &meta;
		if (fs_call(c, M_PUT, &req.base, &fd, 1, &reply) == 0) {
			const Stratus__BlobPutReply *r = (const void *)reply.msg;
			printf("%s %llu\n", r->object_id,
			       (unsigned long long)r->stored_size);
			ret = 0;
		}
		close(fd);
	} else if (strcmp(cmd, "get") == 0 && (argc == 2 || argc == 3)) {
		Stratus__BlobGetRequest req = STRATUS__BLOB_GET_REQUEST__INIT;
		req.chain = chain;
		req.user = argv[0];
		req.key = argv[1];
		if (fs_call(c, M_GET, &req.base, NULL, 0, &reply) == 0) {
			if (reply.n_fds < 1 ||
			    fd_to_file(reply.fds[0], argc == 3 ? argv[2] : NULL) < 0)
				fprintf(stderr, "stratusctl fs: get: no body\n");
			else
				ret = 0;
		}
	} else if (strcmp(cmd, "head") == 0 && argc == 2) {
		Stratus__BlobHeadRequest req = STRATUS__BLOB_HEAD_REQUEST__INIT;
		req.chain = chain;
		req.user = argv[0];
		req.key = argv[1];
		if (fs_call(c, M_HEAD, &req.base, NULL, 0, &reply) == 0) {
			const Stratus__BlobHeadReply *r = (const void *)reply.msg;
			const Stratus__BlobMeta *m = r->meta;
			printf("size %llu\n", (unsigned long long)r->size);
			if (m != NULL)
				printf("mailbox_guid %s\nmessage_guid %s\nreceived_date %lld\n"
				       "save_date %lld\nphysical_size %llu\nvirtual_size %llu\n",
				       m->mailbox_guid, m->message_guid,
				       (long long)m->received_date, (long long)m->save_date,
				       (unsigned long long)m->physical_size,
				       (unsigned long long)m->virtual_size);
			ret = 0;
		}
	} else if (strcmp(cmd, "ls") == 0 && argc >= 1) {
		Stratus__BlobListRequest req = STRATUS__BLOB_LIST_REQUEST__INIT;
		if (argc >= 3 && strcmp(argv[0], "--page") == 0) {
			req.max_keys = (uint32_t)strtoul(argv[1], NULL, 10);
			argc -= 2;
			argv += 2;
		}
		if (argc != 1 && argc != 2) {
			fprintf(stderr, "usage: stratusctl fs ls [--index] [--page N] USER [PREFIX]\n");
			return -2;
		}
		char *cont = xstrdup("");
		req.chain = chain;
		req.user = argv[0];
		req.prefix = argc == 2 ? argv[1] : "";
		ret = 0;
		do {
			req.continuation = cont;
			if (fs_call(c, M_LIST, &req.base, NULL, 0, &reply) < 0) {
				ret = -1;
				break;
			}
			const Stratus__BlobListReply *r = (const void *)reply.msg;
			for (size_t i = 0; i < r->n_entries; i++)
				printf("%s %llu\n", r->entries[i]->key,
				       (unsigned long long)r->entries[i]->size);
			free(cont);
			cont = xstrdup(r->continuation);
			rpc_reply_clear(&reply);
		} while (cont[0] != '\0');
		free(cont);
	} else if (strcmp(cmd, "rm") == 0 && argc >= 2) {
		Stratus__BlobDeleteRequest req = STRATUS__BLOB_DELETE_REQUEST__INIT;
		req.chain = chain;
		req.user = argv[0];
		req.n_keys = (size_t)argc - 1;
		req.keys = argv + 1;
		if (fs_call(c, M_DELETE, &req.base, NULL, 0, &reply) == 0) {
			const Stratus__BlobDeleteReply *r = (const void *)reply.msg;
			printf("deleted %u\n", r->deleted);
			for (size_t i = 0; i < r->n_failed; i++)
				printf("failed %s\n", r->failed[i]);
			ret = r->n_failed == 0 ? 0 : -1;
		}
	} else if (strcmp(cmd, "cp") == 0 && argc == 3) {
		Stratus__BlobCopyRequest req = STRATUS__BLOB_COPY_REQUEST__INIT;
		req.chain = chain;
		req.user = argv[0];
		req.src_key = argv[1];
		req.dst_key = argv[2];
		ret = fs_call(c, M_COPY, &req.base, NULL, 0, &reply);
	} else {
		fprintf(stderr, "usage: stratusctl fs put|get|stat|iter|delete|copy [--index] USER ... | fs stats [--json]\n");
		return -2;
	}
	rpc_reply_clear(&reply);
	return ret;
}

int ctl_cmd_fs(struct ctl_args *args)
{
	if (args->argc < 1) {
		fprintf(stderr, "usage: stratusctl fs put|get|stat|iter|delete|copy [--index] USER ... | fs stats [--json]\n");
		return CTL_EXIT_USAGE;
	}
	struct config *cfg = ctl_config_load(args->config_path);
	if (cfg == NULL)
		return CTL_EXIT_FAILURE;
	struct loop *loop = loop_new();
	int ret;
	static const char *const aliases[][2] = {
		{ "stat", "head" }, { "iter", "ls" }, { "delete", "rm" },
		{ "copy", "cp" },
	};
	bool json = ctl_take_flag(args, "--json");
	const char *cmd = args->argv[0];
	int argc = args->argc - 1;
	char **argv = args->argv + 1;
	for (size_t i = 0; i < N_ELEMENTS(aliases); i++) {
		if (strcmp(cmd, aliases[i][0]) == 0)
			cmd = aliases[i][1];
	}
	if (strcmp(cmd, "stats") == 0) {
		ret = ctl_fs_stats(loop, cfg, json);
	} else {
		Stratus__BlobChain chain = STRATUS__BLOB_CHAIN__CHAIN_MAIL;
		if (argc > 0 && strcmp(argv[0], "--index") == 0) {
			chain = STRATUS__BLOB_CHAIN__CHAIN_INDEX;
			argc--;
			argv++;
		}
		char *path = service_rpc_socket_path(cfg, "blob");
		struct rpc_client *c = rpc_client_new(loop, path,
			&stratus__blob__descriptor, BLOB_RPC_MAJOR, BLOB_RPC_MINOR);
		ret = ctl_fs_run(c, chain, cmd, argc, argv);
		rpc_client_free(&c);
		free(path);
	}
	loop_free(&loop);
	config_free(&cfg);
	return ret == -2 ? CTL_EXIT_USAGE : ret < 0 ? CTL_EXIT_FAILURE : 0;
}
