#!/bin/sh
# Builds the two local base images the Dockerfile can start from when no
# registry is reachable (CI, air-gapped hosts), and prints their names:
#
#   BASE=localhost/ringside-base:run-ARCH-KEY          Debian essential (no apt) + liburing2
#                                                      + Bun: the Dockerfile copies Bun and its
#                                                      libraries out of it; with the package, a
#                                                      machine that can run ringside but not build it
#   BUILD_BASE=localhost/ringside-base:build-ARCH-KEY  Debian minbase + cc, make, liburing-dev
#
# Use them with:
#   eval "$(deploy/build-base-image.sh)"
#   podman build --format docker --build-arg BASE="$BASE" --build-arg BUILD_BASE="$BUILD_BASE" -t ringside .
# (--format docker keeps the HEALTHCHECK, which the OCI format drops.)
#
# ARCH=arm64 on an amd64 host builds the arm64 bases: mmdebstrap runs their
# maintainer scripts under qemu-user (qemu-user-static's binfmt entry), Bun is
# the arm64 binary of Bun's npm platform package (scripts/install-prerequisites.sh
# caches it), and podman records the architecture for `podman build --platform
# linux/arm64`. IMAGES="run" skips the build base (the prebuilt library needs none).
#
# KEY is a hash of everything that goes into the images (this script, the
# Bun binary, suite, mirror, architecture), so a changed input makes new images and an
# unchanged one reuses them. The root filesystems are cached as tarballs in
# $RINGSIDE_BASE_CACHE (default /var/tmp/ringside-base): when podman's store
# is wiped, re-importing takes seconds instead of a fresh mmdebstrap.
#
# Needs: root (or a working `mmdebstrap --mode=unshare`), mmdebstrap, podman,
# and an apt mirror. Env: ARCH (the host's), IMAGES ("run build"), BUN_BINARY
# (default: the bun on PATH, resolved; for a foreign ARCH, the cached npm package's),
# SUITE (bookworm), MIRROR (http://deb.debian.org/debian), PODMAN (podman).
set -eu

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PODMAN=${PODMAN:-podman}
CACHE=${RINGSIDE_BASE_CACHE:-/var/tmp/ringside-base}
REPO=localhost/ringside-base
HOST_ARCH=$(dpkg --print-architecture)
ARCH=${ARCH:-$HOST_ARCH}
IMAGES=${IMAGES:-run build}

die() { echo "build-base-image: $*" >&2; exit 1; }

# ELF e_machine as readelf names it (to check BUN_BINARY), qemu's name.
case $ARCH in
amd64) machine=X86-64 qemu=x86_64 ;;
arm64) machine=AArch64 qemu=aarch64 ;;
*) die "ARCH=$ARCH: amd64 or arm64" ;;
esac
if [ -z "${BUN_BINARY:-}" ]; then
	if [ "$ARCH" = "$HOST_ARCH" ]; then
		BUN_BINARY=$(command -v bun || true)
		[ -n "$BUN_BINARY" ] || die "no bun on PATH: npm install -g bun, or set BUN_BINARY"
	else
		BUN_BINARY=/var/cache/ringside/bun-linux-aarch64-$(bun --version)/bin/bun
		[ -e "$BUN_BINARY" ] || die "no arm64 Bun at $BUN_BINARY: run scripts/install-prerequisites.sh, or set BUN_BINARY"
	fi
fi
BUN_BINARY=$(readlink -f "$BUN_BINARY")
[ -x "$BUN_BINARY" ] || die "BUN_BINARY=$BUN_BINARY is not an executable file"
readelf -h "$BUN_BINARY" | grep -q "Machine:.*$machine" || die "BUN_BINARY=$BUN_BINARY is not an $ARCH binary"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
command -v "$PODMAN" >/dev/null || die "podman missing: apt-get install podman"
if [ "$ARCH" != "$HOST_ARCH" ] && [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$qemu" ]; then
	die "no qemu binfmt entry for $ARCH: apt-get install qemu-user-static binfmt-support (scripts/install-prerequisites.sh)"
fi

KEY=$({
	sha256sum "$0" | cut -d' ' -f1
	sha256sum "$BUN_BINARY" | cut -d' ' -f1
	echo "$SUITE $MIRROR $ARCH"
} | sha256sum | cut -c1-16)

# Keep images small: no docs, man pages or translations.
SLIM="--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-include=/usr/share/doc/*/copyright
--dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/locale/*
--dpkgopt=path-exclude=/usr/share/info/*"

# ensure NAME VARIANT INCLUDE [extra mmdebstrap args...]
ensure() {
	name=$1 variant=$2 include=$3
	shift 3
	image="$REPO:$name-$ARCH-$KEY"
	tar="$CACHE/$name-$ARCH-$KEY.tar"
	if "$PODMAN" image exists "$image"; then
		echo "build-base-image: $image exists" >&2
		return
	fi
	if [ ! -s "$tar" ]; then
		mkdir -p "$CACHE"
		echo "build-base-image: mmdebstrap $SUITE ($name: $include) -> $tar" >&2
		# shellcheck disable=SC2086
		mmdebstrap --quiet --architectures="$ARCH" --variant="$variant" --format=tar ${include:+--include="$include"} $SLIM \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
			"$@" "$SUITE" "$tar.tmp" "$MIRROR"
		mv -f "$tar.tmp" "$tar"
	fi
	echo "build-base-image: podman import $tar -> $image" >&2
	"$PODMAN" import --quiet --os linux --arch "$ARCH" \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh"]' "$tar" "$image" >/dev/null
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$BUN_BINARY" "$stage/bun"
chmod 0755 "$stage/bun"

for image in $IMAGES; do
	case $image in
	run) ensure run essential liburing2 --customize-hook="copy-in $stage/bun /usr/local/bin" ;;
	build) ensure build minbase gcc,libc6-dev,make,liburing-dev ;;
	*) die "IMAGES: run and/or build, not '$image'" ;;
	esac
done
# Keep one set of cached root filesystems per architecture: drop this
# architecture's of other keys, and those named before there was one.
find "$CACHE" -maxdepth 1 -name "*-$ARCH-*.tar" ! -name "*-$KEY.tar" -delete
find "$CACHE" -maxdepth 1 -regex '.*/\(run\|build\)-[0-9a-f]*\.tar' -delete

echo "BASE=$REPO:run-$ARCH-$KEY"
case " $IMAGES " in *" build "*) echo "BUILD_BASE=$REPO:build-$ARCH-$KEY" ;; esac
