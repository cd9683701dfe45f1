#include "fs-drivers.h"
#include "buf.h"
int fs_scality_init(struct fs *fs, const struct fs_layer *layer,
		    const struct fs_settings *set, char **error_r)
{
	(void)fs; (void)layer; (void)set;
	*error_r = xstrdup("scality: not built yet");
	return -1;
}
