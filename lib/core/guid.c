#include "guid.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>

void guid_generate(char out[GUID_HEX_LEN + 1])
{
	unsigned char raw[GUID_HEX_LEN / 2];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t usecs = (uint64_t)ts.tv_sec * 1000000u +
			 (uint64_t)ts.tv_nsec / 1000u;
	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(usecs >> (56 - 8 * i));
	size_t got = 8;
	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);
		if (n > 0)
			got += (size_t)n;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[GUID_HEX_LEN] = '\0';
}
