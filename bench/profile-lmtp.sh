#!/bin/sh
# bench/profile-lmtp.sh BUILD [size rcpts conns seconds]: perf profile of
# svc-lmtp/svc-index/svc-blob under stratus-loadgen lmtp (see
# bench/profile_lmtp_pop3.py); default 4096 1 4 5.
exec python3 "$(dirname "$0")/profile_lmtp_pop3.py" lmtp "$@"
