/* IP network lists (login_trusted_networks, allow_nets): "10.0.0.0/24
 * 192.168.1.5 ::1 fe80::/10", separated by spaces or commas. */
#ifndef NET_MATCH_H
#define NET_MATCH_H

#include <stdbool.h>

struct net_list;

/* NULL with *error_r (malloc'd) on a malformed entry. An empty string
 * gives an empty list. */
struct net_list *net_list_parse(const char *text, char **error_r);
void net_list_free(struct net_list **list);
/* False for an unparsable ip or an empty list. */
bool net_list_match(const struct net_list *list, const char *ip);
bool net_is_loopback(const char *ip);

#endif
