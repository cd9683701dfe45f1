# Process-tree measurements for bench/run.sh (sourced, POSIX sh + awk).
# A server is measured as its whole process tree under one root PID
# (Dovecot's master, stratusctl): memory as PSS summed over the tree
# (RSS would count the pages shared between Dovecot's many processes
# once per process), CPU as user+sys of every live process plus the
# cutime/cstime of reaped children, so processes that exited during a
# run (one Dovecot imap process per session) are still counted.

# tree_pids ROOT: ROOT and all its descendants, one per line.
tree_pids() {
	ps -e -o pid=,ppid= | awk -v root="$1" '
		{ kids[$2] = kids[$2] " " $1 }
		END {
			n = 1; q[1] = root; print root
			for (i = 1; i <= n; i++) {
				m = split(kids[q[i]], k, " ")
				for (j = 1; j <= m; j++) { q[++n] = k[j]; print k[j] }
			}
		}'
}

# tree_pss_kb ROOT: summed Pss in KiB. One awk for every process: with
# 10,000 Dovecot processes a fork per process would take minutes.
tree_pss_kb() {
	# (processes that exit meanwhile are skipped: cat's errors are ignored)
	tree_pids "$1" | sed 's|.*|/proc/&/smaps_rollup|' | xargs cat 2>/dev/null |
		awk '/^Pss:/ { t += $2 } END { print t + 0 }'
	return 0
}

# tree_nprocs ROOT: number of processes in the tree.
tree_nprocs() {
	tree_pids "$1" | wc -l
}

# tree_cpu_ticks ROOT: utime+stime+cutime+cstime summed, in clock ticks.
tree_cpu_ticks() {
	# the command name may hold spaces: take the fields after ")"
	tree_pids "$1" | sed 's|.*|/proc/&/stat|' | xargs cat 2>/dev/null |
		sed -e 's/^.*) //' | awk '{ t += $12 + $13 + $14 + $15 } END { print t + 0 }'
	return 0
}
