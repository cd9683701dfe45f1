/* libFuzzer target for the fs string parser (obox_fs / obox_index_fs):
 * any input must either parse into a chain whose driver is last, or fail
 * with an error; never crash, leak or echo a secret. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "../../svc-blob/fs-chain.h"
#include "../../svc-blob/blob-keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *str = xstrndup((const char *)data, size);
	struct fs_chain chain;
	char *error = NULL;
	const char *kerr;

	if (fs_chain_parse(str, &chain, &error) == 0) {
		if (chain.n_layers == 0 || chain.n_layers > FS_CHAIN_MAX_LAYERS)
			abort();
		enum fs_layer_kind last = chain.layers[chain.n_layers - 1].kind;
		if (last == FS_LAYER_FSCACHE || last == FS_LAYER_COMPRESS)
			abort();
		fs_chain_free(&chain);
	} else {
		if (error == NULL || chain.n_layers != 0)
			abort();
		free(error);
	}
	(void)blob_key_valid(str, true, &kerr);
	free(str);
	return 0;
}
