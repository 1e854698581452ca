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
# arm64: cross-compile the prebuilt library and the C tests (liburing-dev:arm64
# through dpkg multiarch), run them under qemu-user; binfmt-support registers
# qemu for mmdebstrap's and podman's arm64 builds (mmdebstrap checks it with arch-test).
ARM64="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static binfmt-support arch-test liburing-dev:arm64"

# liburing-dev:arm64 needs the foreign architecture before apt can see it.
added_arch=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  added_arch=1
fi

missing=()
for pkg in $SERVE $TEST $CONTAINER $ARM64; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})) || ((added_arch)); then
  apt-get update -qq
  ((${#missing[@]} == 0)) || apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# qemu-user-static's binfmt entries live in binfmt_misc, which a container or a
# fresh VM may not have mounted; binfmt-support's update-binfmts enables them.
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
fi
if [ -e /proc/sys/fs/binfmt_misc/status ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi

# npm: Bun comes from it, and test/deploy/package.test.ts packs with it (npm pack
# makes what npm publish uploads). Any npm will do: Debian's only when there is none
# (a NodeSource nodejs brings its own, which Debian's npm would conflict with).
if ! command -v npm >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends npm
fi

# Bun comes from npm; its binary ships in a platform package, so npm's warning
# about the skipped install script is harmless.
if ! command -v bun >/dev/null 2>&1; then
  npm install -g bun@1.4.5
fi
bun --version

# Bun's arm64 binary (its npm platform package), for starting the server under
# qemu-user in test/native/arm64.test.ts. Same version as the host's Bun.
BUN_ARM64_DIR=/var/cache/ringside/bun-linux-aarch64-$(bun --version)
if [ ! -x "$BUN_ARM64_DIR/bin/bun" ]; then
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "@oven/bun-linux-aarch64@$(bun --version)" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$(dirname "$BUN_ARM64_DIR")"
  rm -rf "$BUN_ARM64_DIR" && mv "$tmp/package" "$BUN_ARM64_DIR"
  rm -rf "$tmp"
fi
