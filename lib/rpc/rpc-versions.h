/* Contract versions of each service's RPC (see the bump rule in
 * proto/common.proto). Client and server include the same numbers. */
#ifndef STRATUS_RPC_VERSIONS_H
#define STRATUS_RPC_VERSIONS_H

#define AUTH_RPC_MAJOR 1
#define AUTH_RPC_MINOR 4
#define BLOB_RPC_MAJOR 1
#define BLOB_RPC_MINOR 2
#define INDEX_RPC_MAJOR 2
#define INDEX_RPC_MINOR 2
#define QUOTA_RPC_MAJOR 1
#define QUOTA_RPC_MINOR 1
#define SESSION_RPC_MAJOR 1
#define SESSION_RPC_MINOR 0

#endif
