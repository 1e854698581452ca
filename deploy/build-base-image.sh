#!/bin/sh
# Builds the two local base images the Dockerfile can start from when no
# registry is reachable (CI, air-gapped hosts), and prints their names:
#
#   BASE=localhost/ringside-base:run-KEY          Debian essential (no apt) + Bun: the
#                                                 Dockerfile copies Bun and its libraries out of it
#   BUILD_BASE=localhost/ringside-base:build-KEY  Debian minbase + cc, make, liburing-dev
#
# Use them with:
#   eval "$(deploy/build-base-image.sh)"
#   podman build --format docker --build-arg BASE="$BASE" --build-arg BUILD_BASE="$BUILD_BASE" -t ringside .
# (--format docker keeps the HEALTHCHECK, which the OCI format drops.)
#
# KEY is a hash of everything that goes into the images (this script, the
# Bun binary, suite, mirror), so a changed input makes new images and an
# unchanged one reuses them. The root filesystems are cached as tarballs in
# $RINGSIDE_BASE_CACHE (default /var/tmp/ringside-base): when podman's store
# is wiped, re-importing takes seconds instead of a fresh mmdebstrap.
#
# Needs: root (or a working `mmdebstrap --mode=unshare`), mmdebstrap, podman,
# and an apt mirror. Env: BUN_BINARY (default: the bun on PATH, resolved),
# SUITE (bookworm), MIRROR (http://deb.debian.org/debian), PODMAN (podman).
set -eu

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PODMAN=${PODMAN:-podman}
CACHE=${RINGSIDE_BASE_CACHE:-/var/tmp/ringside-base}
REPO=localhost/ringside-base

die() { echo "build-base-image: $*" >&2; exit 1; }

BUN_BINARY=${BUN_BINARY:-$(command -v bun || true)}
[ -n "$BUN_BINARY" ] || die "no bun on PATH: npm install -g bun, or set BUN_BINARY"
BUN_BINARY=$(readlink -f "$BUN_BINARY")
[ -x "$BUN_BINARY" ] || die "BUN_BINARY=$BUN_BINARY is not an executable file"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
command -v "$PODMAN" >/dev/null || die "podman missing: apt-get install podman"

KEY=$({
	sha256sum "$0" | cut -d' ' -f1
	sha256sum "$BUN_BINARY" | cut -d' ' -f1
	echo "$SUITE $MIRROR"
} | sha256sum | cut -c1-16)

# Keep images small: no docs, man pages or translations.
SLIM="--dpkgopt=path-exclude=/usr/share/doc/* --dpkgopt=path-include=/usr/share/doc/*/copyright
--dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/locale/*
--dpkgopt=path-exclude=/usr/share/info/*"

# ensure NAME VARIANT INCLUDE [extra mmdebstrap args...]
ensure() {
	name=$1 variant=$2 include=$3
	shift 3
	image="$REPO:$name-$KEY"
	tar="$CACHE/$name-$KEY.tar"
	if "$PODMAN" image exists "$image"; then
		echo "build-base-image: $image exists" >&2
		return
	fi
	if [ ! -s "$tar" ]; then
		mkdir -p "$CACHE"
		echo "build-base-image: mmdebstrap $SUITE ($name: $include) -> $tar" >&2
		# shellcheck disable=SC2086
		mmdebstrap --quiet --variant="$variant" --format=tar ${include:+--include="$include"} $SLIM \
			--customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
			"$@" "$SUITE" "$tar.tmp" "$MIRROR"
		mv -f "$tar.tmp" "$tar"
	fi
	echo "build-base-image: podman import $tar -> $image" >&2
	"$PODMAN" import --quiet \
		--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'CMD ["/bin/sh"]' "$tar" "$image" >/dev/null
}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp "$BUN_BINARY" "$stage/bun"
chmod 0755 "$stage/bun"

ensure run essential "" --customize-hook="copy-in $stage/bun /usr/local/bin"
ensure build minbase gcc,libc6-dev,make,liburing-dev
# Keep one set of cached root filesystems: drop those of other keys.
find "$CACHE" -maxdepth 1 -name '*.tar' ! -name "*-$KEY.tar" -delete

echo "BASE=$REPO:run-$KEY"
echo "BUILD_BASE=$REPO:build-$KEY"
