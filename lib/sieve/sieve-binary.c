/* The compiled form as bytes: a versioned, self-delimiting encoding of the
 * validated tree, so svc-managesieve can cache it beside the script and
 * svc-lmtp can run it without parsing the source. Loading treats the
 * bytes as hostile: every count is bounded by what is left, nesting and
 * sizes by the compiler's own limits, and the tree is validated again. */
#include <stdlib.h>
#include <string.h>

#include "sieve-private.h"

#define SVBIN_MAGIC "SVBN"
#define SVBIN_HEADER 12

static void put_varint(struct buf *b, uint64_t v)
{
	while (v >= 0x80) {
		buf_append_c(b, (char)(0x80 | (v & 0x7f)));
		v >>= 7;
	}
	buf_append_c(b, (char)v);
}

static void save_nodes(struct buf *b, const struct sieve_node *nodes,
		       uint32_t n);

static void save_arg(struct buf *b, const struct sieve_arg *a)
{
	buf_append_c(b, (char)a->kind);
	put_varint(b, a->line);
	put_varint(b, a->col);
	switch (a->kind) {
	case ARG_NUM:
		put_varint(b, a->num);
		break;
	case ARG_TAG:
		buf_append_c(b, (char)a->tag);
		break;
	default:
		put_varint(b, a->n_strs);
		for (uint32_t i = 0; i < a->n_strs; i++) {
			size_t len = strlen(a->strs[i]);

			put_varint(b, len);
			buf_append(b, a->strs[i], len);
		}
		break;
	}
}

static void save_nodes(struct buf *b, const struct sieve_node *nodes,
		       uint32_t n)
{
	put_varint(b, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct sieve_node *node = &nodes[i];

		put_varint(b, node->op);
		put_varint(b, node->line);
		put_varint(b, node->col);
		put_varint(b, node->n_args);
		for (uint32_t j = 0; j < node->n_args; j++)
			save_arg(b, &node->args[j]);
		save_nodes(b, node->tests, node->n_tests);
		buf_append_c(b, node->has_block ? 1 : 0);
		save_nodes(b, node->block, node->n_block);
	}
}

void sieve_binary_save(const struct sieve_script *script, void **data_r,
		       size_t *len_r)
{
	struct buf b;
	unsigned char hdr[SVBIN_HEADER];

	buf_init(&b, 0);
	memcpy(hdr, SVBIN_MAGIC, 4);
	hdr[4] = SIEVE_BINARY_VERSION & 0xff;
	hdr[5] = (SIEVE_BINARY_VERSION >> 8) & 0xff;
	hdr[6] = hdr[7] = 0;
	for (int i = 0; i < 4; i++)
		hdr[8 + i] = (unsigned char)(script->ext_mask >> (8 * i));
	buf_append(&b, hdr, sizeof(hdr));
	save_nodes(&b, script->cmds, script->n_cmds);
	*len_r = b.len;
	*data_r = buf_steal(&b);
}

struct reader {
	const unsigned char *p, *end;
	struct sieve_arena *arena;
	unsigned int nodes;
};

static int get_u8(struct reader *r, uint8_t *v_r)
{
	if (r->p >= r->end)
		return -1;
	*v_r = *r->p++;
	return 0;
}

static int get_varint(struct reader *r, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		uint8_t c;

		if (get_u8(r, &c) < 0)
			return -1;
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			if (v > max)
				return -1;
			*v_r = v;
			return 0;
		}
	}
	return -1;
}

static int get_u32(struct reader *r, uint32_t max, uint32_t *v_r)
{
	uint64_t v;

	if (get_varint(r, max, &v) < 0)
		return -1;
	*v_r = (uint32_t)v;
	return 0;
}

static int load_nodes(struct reader *r, unsigned int depth,
		      struct sieve_node **nodes_r, uint32_t *n_r);

static int load_arg(struct reader *r, struct sieve_arg *a)
{
	uint8_t kind;

	if (get_u8(r, &kind) < 0 || kind > ARG_TAG ||
	    get_u32(r, UINT32_MAX, &a->line) < 0 ||
	    get_u32(r, UINT32_MAX, &a->col) < 0)
		return -1;
	a->kind = kind;
	switch (kind) {
	case ARG_NUM:
		return get_varint(r, UINT64_MAX, &a->num);
	case ARG_TAG:
		return get_u8(r, &a->tag) < 0 || a->tag >= TAG_COUNT ? -1 : 0;
	default:
		if (get_u32(r, SIEVE_MAX_LIST_ITEMS, &a->n_strs) < 0 ||
		    a->n_strs == 0 ||
		    a->n_strs > (size_t)(r->end - r->p) ||
		    (kind == ARG_STR && a->n_strs != 1))
			return -1;
		a->strs = sieve_arena_calloc(r->arena, a->n_strs,
					     sizeof(char *));
		for (uint32_t i = 0; i < a->n_strs; i++) {
			uint32_t len;

			if (get_u32(r, SIEVE_MAX_STRING_SIZE, &len) < 0 ||
			    len > (size_t)(r->end - r->p) ||
			    memchr(r->p, '\0', len) != NULL)
				return -1;
			a->strs[i] = sieve_arena_strndup(r->arena,
				(const char *)r->p, len);
			r->p += len;
		}
		return 0;
	}
}

static int load_nodes(struct reader *r, unsigned int depth,
		      struct sieve_node **nodes_r, uint32_t *n_r)
{
	struct sieve_node *nodes;
	uint32_t n;

	/* Each node takes at least 7 bytes, so n is bounded by the input
	 * before anything is allocated. */
	if (depth > SIEVE_MAX_NESTING + 1 ||
	    get_u32(r, SIEVE_MAX_COMMANDS, &n) < 0 ||
	    n > (size_t)(r->end - r->p) / 7)
		return -1;
	nodes = sieve_arena_calloc(r->arena, n, sizeof(*nodes));
	for (uint32_t i = 0; i < n; i++) {
		struct sieve_node *node = &nodes[i];
		uint32_t op;
		uint8_t block;

		if (++r->nodes > SIEVE_MAX_COMMANDS ||
		    get_u32(r, OP_COUNT - 1, &op) < 0 ||
		    get_u32(r, UINT32_MAX, &node->line) < 0 ||
		    get_u32(r, UINT32_MAX, &node->col) < 0 ||
		    get_u32(r, SIEVE_MAX_ARGS, &node->n_args) < 0 ||
		    node->n_args > (size_t)(r->end - r->p))
			return -1;
		node->op = (uint16_t)op;
		node->args = sieve_arena_calloc(r->arena, node->n_args,
						sizeof(struct sieve_arg));
		for (uint32_t j = 0; j < node->n_args; j++) {
			if (load_arg(r, &node->args[j]) < 0)
				return -1;
		}
		if (load_nodes(r, depth + 1, &node->tests,
			       &node->n_tests) < 0 ||
		    get_u8(r, &block) < 0 || block > 1 ||
		    load_nodes(r, depth + 1, &node->block,
			       &node->n_block) < 0)
			return -1;
		node->has_block = block == 1;
	}
	*nodes_r = nodes;
	*n_r = n;
	return 0;
}

int sieve_binary_load(const void *data, size_t len,
		      struct sieve_script **script_r)
{
	const unsigned char *p = data;
	struct sieve_script *script;
	struct sieve_errors errs;
	struct reader r;
	uint32_t mask;
	int ret;

	*script_r = NULL;
	if (len < SVBIN_HEADER || memcmp(p, SVBIN_MAGIC, 4) != 0)
		return SIEVE_BINARY_CORRUPT;
	if ((p[4] | (p[5] << 8)) != SIEVE_BINARY_VERSION)
		return SIEVE_BINARY_STALE;
	mask = (uint32_t)p[8] | ((uint32_t)p[9] << 8) |
	       ((uint32_t)p[10] << 16) | ((uint32_t)p[11] << 24);
	script = xcalloc(1, sizeof(*script));
	script->arena = sieve_arena_new();
	r = (struct reader){ p + SVBIN_HEADER, p + len, script->arena, 0 };
	ret = load_nodes(&r, 0, &script->cmds, &script->n_cmds);
	if (ret == 0 && r.p != r.end)
		ret = -1;
	if (ret == 0) {
		buf_init(&errs.text, 0);
		errs.count = 0;
		ret = sieve_validate_tree(script, &errs, false);
		buf_free(&errs.text);
		if (script->ext_mask != mask)
			ret = -1;
	}
	if (ret < 0) {
		sieve_script_free(&script);
		return SIEVE_BINARY_CORRUPT;
	}
	*script_r = script;
	return SIEVE_BINARY_OK;
}
