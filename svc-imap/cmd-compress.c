/* COMPRESS (RFC 4978): switches the connection to raw deflate in both
 * directions. The tagged OK is the last uncompressed byte the server
 * sends; the client compresses from its first command after COMPRESS, so
 * bytes it already sent behind the command are inflated, not parsed. */
#include "imap-common.h"
#include "imap-compress.h"

#include <strings.h>

/* What the client sent behind COMPRESS always fits the inflate buffer. */
_Static_assert(IMAP_INPUT_CHUNK <= IMAP_COMPRESS_IN_MAX,
	       "client input larger than the inflate buffer");

bool cmd_compress(struct imap_cmd *cmd)
{
	struct imap_client *client = cmd->client;
	if (cmd->c.n_args != 1 || cmd->c.args[0].type != IMAP_ARG_ATOM) {
		imap_cmd_bad(cmd, "Invalid arguments.");
		return true;
	}
	if (!imap_arg_atom_equals(&cmd->c.args[0], "DEFLATE")) {
		imap_cmd_reply(cmd, "NO", "Unknown compression mechanism.");
		return true;
	}
	/* Section 3: the same mechanism active already is NO with
	 * COMPRESSIONACTIVE (TLS never compresses here, so that only
	 * happens for a second COMPRESS). */
	if (imap_compress_held(client->stream) > 0 || client->compressed) {
		imap_cmd_reply(cmd, "NO", "[COMPRESSIONACTIVE] DEFLATE "
			       "is already active.");
		return true;
	}
	size_t before = client->out.len;
	imap_cmd_reply(cmd, "OK", "DEFLATE active");
	if (imap_compress_start(&client->stream, client->out.data,
				client->out.len, client->in.data,
				client->in.len) < 0) {
		client->out.len = before;
		client->out.data[before] = '\0';
		imap_cmd_reply(cmd, "NO", "Compression could not start.");
		return true;
	}
	buf_reset(&client->out);
	buf_consume(&client->in, client->in.len);
	client->compressed = true;
	log_debug(&client->log, "COMPRESS: DEFLATE started");
	return true;
}
