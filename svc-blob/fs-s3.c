#include "fs-drivers.h"
#include "buf.h"
int fs_s3_init(struct fs *fs, const struct fs_layer *layer,
	       const struct fs_settings *set, char **error_r)
{
	(void)fs; (void)layer; (void)set;
	*error_r = xstrdup("s3: not built yet");
	return -1;
}
