#!/usr/bin/env bash
# Builds the prebuilt libraries a package ships, one folder per platform
# (named as Bun's process.platform-process.arch):
#
#   native/prebuilt/linux-x64/libringside.so     native cc
#   native/prebuilt/linux-arm64/libringside.so   cross: Debian's aarch64-linux-gnu-gcc
#                                                against liburing-dev:arm64 (multiarch)
#
# Each links the system's liburing (NEEDED liburing.so.2, Debian/Ubuntu package
# liburing2) and glibc: at run time no headers and no compiler. RUNPATH $ORIGIN
# lets an image put liburing.so.2 beside the library instead (as the Dockerfile
# does); elsewhere the loader falls through to the system's copy.
# native/Makefile stays the one place that knows how to compile: this script
# only picks CC and the output folder, then checks what came out.
#
#   scripts/build-prebuilt.sh                 both platforms into native/prebuilt/
#   OUT=/tmp/p scripts/build-prebuilt.sh linux-arm64
#
# Installs nothing: scripts/install-prerequisites.sh brings the cross tools.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-native/prebuilt}
platforms=("$@")
((${#platforms[@]})) || platforms=(linux-x64 linux-arm64)

die() { echo "build-prebuilt: $*" >&2; exit 1; }

# platform -> compiler, readelf's Machine, where its liburing.so must be.
spec() {
  case $1 in
    linux-x64) cc=${CC_X64:-cc} machine=X86-64 uring=/usr/lib/x86_64-linux-gnu/liburing.so ;;
    linux-arm64) cc=${CC_ARM64:-aarch64-linux-gnu-gcc} machine=AArch64 uring=/usr/lib/aarch64-linux-gnu/liburing.so ;;
    *) die "unknown platform '$1' (linux-x64, linux-arm64)" ;;
  esac
}

check_tools() {
  local cc=$1 uring=$2
  command -v "$cc" >/dev/null || die "$cc missing: run scripts/install-prerequisites.sh (as root)"
  [ -e "$uring" ] || die "$uring missing (liburing-dev for that architecture): run scripts/install-prerequisites.sh"
}

# The library must be for the right machine and take liburing from the system.
verify() {
  local lib=$1 machine=$2
  readelf -h "$lib" | grep -q "Machine:.*$machine" || die "$lib is not $machine: $(readelf -h "$lib" | grep Machine:)"
  readelf -d "$lib" | grep -q 'NEEDED.*\[liburing\.so\.2\]' || die "$lib does not NEED liburing.so.2"
}

for platform in "${platforms[@]}"; do
  spec "$platform"
  check_tools "$cc" "$uring"
  build="native/build/prebuilt/$platform"
  # -B: always rebuilt, so the flags below are the ones shipped. No -g and
  # stripped (-s): ~50-70 KB instead of ~250 KB. $$ is make's $.
  make -B -s -C native lib CC="$cc" BUILD="build/prebuilt/$platform" CFLAGS=-O2 LDFLAGS='-s -Wl,-rpath,\$$ORIGIN'
  verify "$build/libringside.so" "$machine"
  mkdir -p "$OUT/$platform"
  cp "$build/libringside.so" "$OUT/$platform/libringside.so.tmp"
  mv -f "$OUT/$platform/libringside.so.tmp" "$OUT/$platform/libringside.so"
  needs=$(readelf -d "$OUT/$platform/libringside.so" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p' | paste -sd,)
  glibc=$(readelf -V "$OUT/$platform/libringside.so" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
  uring_v=$(readelf -V "$OUT/$platform/libringside.so" | grep -o 'LIBURING_[0-9.]*' | sort -uV | tail -1)
  echo "$OUT/$platform/libringside.so: $machine, $(stat -c %s "$OUT/$platform/libringside.so") bytes, needs $needs (at least $glibc, $uring_v)"
done
