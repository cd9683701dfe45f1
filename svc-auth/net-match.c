/* IP network lists (see net-match.h). IPv4 is matched as IPv4-mapped
 * IPv6, so "10.0.0.0/24" also matches "::ffff:10.0.0.7". */
#include "net-match.h"
#include "buf.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct net {
	unsigned char addr[16];
	unsigned int bits;	/* of the 128 */
};

struct net_list {
	struct net *nets;
	size_t n;
};

static int ip_parse(const char *s, unsigned char out[16], bool *v4_r)
{
	struct in_addr a4;
	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		*v4_r = true;
		return 0;
	}
	*v4_r = false;
	return inet_pton(AF_INET6, s, out) == 1 ? 0 : -1;
}

static int net_parse(const char *s, struct net *n)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	if (strlen(s) >= sizeof(tmp))
		return -1;
	strcpy(tmp, s);
	char *slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash++ = '\0';
	bool v4;
	if (ip_parse(tmp, n->addr, &v4) < 0)
		return -1;
	unsigned int max = v4 ? 32 : 128;
	unsigned long bits = max;
	if (slash != NULL) {
		char *end;
		if (*slash == '\0')
			return -1;
		bits = strtoul(slash, &end, 10);
		if (*end != '\0' || bits > max)
			return -1;
	}
	n->bits = (unsigned int)bits + (v4 ? 96 : 0);
	return 0;
}

struct net_list *net_list_parse(const char *text, char **error_r)
{
	struct net_list *l = xcalloc(1, sizeof(*l));
	char *copy = xstrdup(text != NULL ? text : ""), *save = NULL;
	for (char *tok = strtok_r(copy, " ,\t", &save); tok != NULL;
	     tok = strtok_r(NULL, " ,\t", &save)) {
		struct net n;
		if (net_parse(tok, &n) < 0) {
			*error_r = xasprintf("invalid network '%s'", tok);
			free(copy);
			net_list_free(&l);
			return NULL;
		}
		l->nets = xreallocarray(l->nets, l->n + 1, sizeof(*l->nets));
		l->nets[l->n++] = n;
	}
	free(copy);
	return l;
}

void net_list_free(struct net_list **_l)
{
	struct net_list *l = *_l;
	if (l == NULL)
		return;
	*_l = NULL;
	free(l->nets);
	free(l);
}

static bool net_contains(const struct net *n, const unsigned char ip[16])
{
	unsigned int full = n->bits / 8, rest = n->bits % 8;
	if (memcmp(n->addr, ip, full) != 0)
		return false;
	if (rest == 0)
		return true;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (ip[full] & mask);
}

bool net_list_match(const struct net_list *l, const char *ip)
{
	unsigned char a[16];
	bool v4;
	if (l == NULL || ip == NULL || ip_parse(ip, a, &v4) < 0)
		return false;
	for (size_t i = 0; i < l->n; i++) {
		if (net_contains(&l->nets[i], a))
			return true;
	}
	return false;
}

bool net_is_loopback(const char *ip)
{
	unsigned char a[16];
	bool v4;
	if (ip == NULL || ip_parse(ip, a, &v4) < 0)
		return false;
	if (v4)
		return a[12] == 127;
	static const unsigned char lo6[16] = { [15] = 1 };
	return memcmp(a, lo6, 16) == 0;
}
