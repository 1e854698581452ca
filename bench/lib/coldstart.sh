#!/usr/bin/env bash
# Cold start to the first 200, for hyperfine (run by bench/lib/hyperfine.ts):
#   coldstart.sh PORT PIDFILE CMD...   start CMD in the background, poll
#                                      127.0.0.1:PORT with an HTTP/1.0 GET every
#                                      1 ms (at most 10 s) until a 200 arrives;
#                                      leave the server running, its pid in PIDFILE
#   coldstart.sh --kill PIDFILE        stop that server (TERM, then KILL after 5 s)
#                                      and wait until it is gone; hyperfine runs
#                                      this as --prepare/--cleanup, outside the timing
# No forks in the poll loop: /dev/tcp for the probe, read -t on a pipe we hold
# both ends of for the 1 ms sleep.
set -u

gone() { # true when pid $1 has exited (zombies count: nobody may reap them)
	local st
	[[ -r /proc/$1/stat ]] || return 0
	read -r st </proc/$1/stat 2>/dev/null || return 0
	st=${st##*) }
	[[ ${st:0:1} == Z ]]
}

exec {tick}<> <(:)
nap() { read -r -t "$1" -u "$tick" _ || true; }

if [[ ${1:-} == --kill ]]; then
	pidfile=$2
	[[ -s $pidfile ]] || exit 0
	pid=$(<"$pidfile")
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 5000; i++)); do gone "$pid" && break; nap 0.001; done
	gone "$pid" || { kill -KILL "$pid" 2>/dev/null; for ((i = 0; i < 1000; i++)); do gone "$pid" && break; nap 0.001; done; }
	: >"$pidfile"
	exit 0
fi

port=$1 pidfile=$2
shift 2
"$@" </dev/null >/dev/null 2>&1 &
pid=$!
echo "$pid" >"$pidfile"
for ((i = 0; i < 10000; i++)); do
	if { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
		printf 'GET / HTTP/1.0\r\nHost: bench\r\n\r\n' >&"$fd"
		line=
		IFS= read -r -t 2 -u "$fd" line
		exec {fd}>&-
		[[ $line == "HTTP/1."[01]" 200 "* ]] && exit 0
	fi
	gone "$pid" && { echo "coldstart: server exited before serving: $*" >&2; exit 1; }
	nap 0.001
done
echo "coldstart: no 200 from 127.0.0.1:$port within 10 s: $*" >&2
exit 1
