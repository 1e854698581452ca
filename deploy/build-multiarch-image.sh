#!/usr/bin/env bash
# Builds the ringside image for linux/amd64 and linux/arm64 on an amd64 host,
# from local base images (deploy/build-base-image.sh; no registry), and a
# manifest list holding both:
#
#   $TAG-amd64   the Dockerfile as CI builds it: the library compiled in the build stage
#   $TAG-arm64   podman build --platform linux/arm64 under qemu-user, with the
#                cross-compiled library (scripts/build-prebuilt.sh, PREBUILT=linux-arm64):
#                the arm64 base is the run base alone, no emulated toolchain image
#   $TAG         the manifest list (podman manifest create/add)
#
# Prints each step's time. Cold (no cached bases) the arm64 run base dominates
# (mmdebstrap under emulation); warm, every step takes seconds to a minute.
# Pushing is a maintainer's step (docs/deploy.md): nothing here leaves the machine.
#
# Env: TAG (localhost/ringside:multiarch), PODMAN ("podman"; on Debian bookworm as
# root: "podman --runtime runc --cgroup-manager=cgroupfs"), RINGSIDE_BASE_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${TAG:-localhost/ringside:multiarch}
read -ra PODMAN <<<"${PODMAN:-podman}"
# At or under the caller's own limits, which podman cannot raise (as the container test does).
nofile=$(ulimit -n) nproc=$(ulimit -u)
((nofile <= 65536)) || nofile=65536
((nproc <= 4096)) || nproc=4096
ULIMITS=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")

step() {
  local what=$1 start=$SECONDS
  shift
  echo "build-multiarch: $what ..." >&2
  "$@"
  echo "build-multiarch: $what: $((SECONDS - start)) s" >&2
}

# KEY=VALUE lines from build-base-image.sh, as variables of this shell.
bases() {
  local line
  while IFS= read -r line; do
    case $line in BASE=* | BUILD_BASE=*) declare -g "$line" ;; esac
  done < <(PODMAN="${PODMAN[0]}" "$@") # it only imports and inspects: no runtime flags
}

build() {
  local platform=$1 tag=$2
  shift 2
  "${PODMAN[@]}" build --quiet --platform "$platform" --format docker --pull=never "${ULIMITS[@]}" "$@" -t "$tag" . >/dev/null
}

step "arm64 library (cross-compiled)" scripts/build-prebuilt.sh linux-arm64 >&2

step "amd64 bases" bases deploy/build-base-image.sh
step "amd64 image" build linux/amd64 "$TAG-amd64" --build-arg BASE="$BASE" --build-arg BUILD_BASE="$BUILD_BASE"

step "arm64 run base" bases env ARCH=arm64 IMAGES=run deploy/build-base-image.sh
step "arm64 image (emulated)" build linux/arm64 "$TAG-arm64" \
  --build-arg BASE="$BASE" --build-arg BUILD_BASE="$BASE" --build-arg PREBUILT=linux-arm64

# A fresh list each time: `manifest add` to an old one would keep stale entries.
manifest() {
  if "${PODMAN[@]}" manifest exists "$TAG" 2>/dev/null; then "${PODMAN[@]}" manifest rm "$TAG" >/dev/null; fi
  "${PODMAN[@]}" manifest create "$TAG" >/dev/null
  for arch in amd64 arm64; do
    "${PODMAN[@]}" manifest add "$TAG" "containers-storage:$TAG-$arch" >/dev/null
  done
}
step "manifest list" manifest

for arch in amd64 arm64; do
  "${PODMAN[@]}" image inspect --format "$TAG-$arch: {{.Os}}/{{.Architecture}}, {{.Size}} bytes" "$TAG-$arch"
done
"${PODMAN[@]}" manifest inspect "$TAG"
