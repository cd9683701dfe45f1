#!/bin/sh
# bench/profile-pop3.sh BUILD [messages size]: perf profile of svc-pop3
# and the services it calls during one session's RETR of every message
# (see bench/profile_lmtp_pop3.py); default 1000 4096; SIZE "corpus" is
# bench/run.sh's POP3 corpus (1000 messages up to 128 KB, seed 43).
exec python3 "$(dirname "$0")/profile_lmtp_pop3.py" pop3 "$@"
