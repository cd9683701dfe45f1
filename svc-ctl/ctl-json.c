/* JSON output for stratusctl --json: strings escaped per RFC 8259, so a
 * user name or field value with quotes or control bytes stays valid. */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

void ctl_json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

bool ctl_take_flag(struct ctl_args *args, const char *flag)
{
	bool found = false;
	int n = 0;
	for (int i = 0; i < args->argc; i++) {
		if (strcmp(args->argv[i], flag) == 0)
			found = true;
		else
			args->argv[n++] = args->argv[i];
	}
	args->argc = n;
	return found;
}
