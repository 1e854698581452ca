#!/bin/sh
# Regenerates deploy/seccomp.json: the container runtime's default seccomp
# profile with io_uring_setup, io_uring_enter and io_uring_register added to
# its main allow rule, and nothing else changed. See deploy/seccomp.md.
#
#   deploy/make-seccomp.sh [DEFAULT_PROFILE] > deploy/seccomp.json
#
# DEFAULT_PROFILE defaults to /usr/share/containers/seccomp.json (podman's,
# from Debian's golang-github-containers-common). Needs jq.
set -eu
src=${1:-/usr/share/containers/seccomp.json}
command -v jq >/dev/null || { echo "make-seccomp: jq missing: apt-get install jq" >&2; exit 1; }
[ -r "$src" ] || { echo "make-seccomp: cannot read $src: pass the runtime's default profile" >&2; exit 1; }
# The main allow rule is the unconditional SCMP_ACT_ALLOW rule that lists io_setup.
jq --tab '
  (.syscalls[] | select(.action == "SCMP_ACT_ALLOW" and (.names | index("io_setup")) and (.args // [] | length) == 0
                        and (.includes // {} | length) == 0 and (.excludes // {} | length) == 0)
  ).names |= (. + ["io_uring_enter", "io_uring_register", "io_uring_setup"] | unique)
' "$src"
