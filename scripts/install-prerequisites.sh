#!/usr/bin/env bash
# Installs what ringside needs to build, serve and be tested on Debian/Ubuntu,
# as root. Idempotent: installed packages are skipped.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# To build and serve: liburing, a C compiler, make.
SERVE="liburing-dev gcc make"
# To test and benchmark: real clients, strace, the fuzzer, nginx, containers.
TEST="curl apache2-utils wrk strace hyperfine linux-perf nginx-light clang libclang-rt-14-dev util-linux"
# The container test: podman on runc with its network stack, local base images by mmdebstrap.
CONTAINER="podman runc netavark aardvark-dns iptables mmdebstrap debian-archive-keyring"

missing=()
for pkg in $SERVE $TEST $CONTAINER; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Bun comes from npm; its binary ships in a platform package, so npm's warning
# about the skipped install script is harmless.
if ! command -v bun >/dev/null 2>&1; then
  npm install -g bun@1.4.5
fi
bun --version
