/* Message GUIDs: 128 bits as 32 lowercase hex digits. The first 64 bits
 * are the creation time in microseconds (big-endian), the rest random,
 * so GUIDs of one backend sort in creation order: a mailbox rebuilt from
 * object listings (whose keys end in the GUID) keeps the delivery order
 * of messages saved within the same second, and with it their UIDs and
 * POP3 UIDLs. Dovecot's GUIDs also carry their creation time. */
#ifndef STRATUS_GUID_H
#define STRATUS_GUID_H

#define GUID_HEX_LEN 32

void guid_generate(char out[GUID_HEX_LEN + 1]);

#endif
