# ringside as a sidecar image.
#
#   docker build -t ringside .
#   docker run --rm -p 8000:8000 --security-opt seccomp=deploy/seccomp.json ringside
#
# Default container seccomp profiles block io_uring (Docker 25+, containerd
# 2.0 RuntimeDefault, podman): run with deploy/seccomp.json, or set
# RINGSIDE_FALLBACK=1 to serve through Bun.serve, degraded. See
# docs/deploy.md.
#
# Without a registry (CI): deploy/build-base-image.sh makes both bases locally,
#   eval "$(deploy/build-base-image.sh)"
#   podman build --format docker --build-arg BASE="$BASE" --build-arg BUILD_BASE="$BUILD_BASE" -t ringside .
# (--format docker keeps the HEALTHCHECK, which the OCI format drops.)
#
# The image holds only what runs: the Bun binary and the glibc it links,
# the library and liburing, and the app bundled into one JavaScript file.
# No shell, no package manager, no distribution.

# Any glibc image with cc, make and liburing-dev, or one apt can add them to.
ARG BUILD_BASE=docker.io/library/debian:bookworm-slim
# Any glibc image with Bun, a shell and ldd: the Bun binary and its libraries
# are copied out of it.
ARG BASE=docker.io/oven/bun:1.4.5-slim

FROM ${BUILD_BASE} AS native
# PREBUILT=linux-arm64 (or linux-x64): take native/prebuilt/PLATFORM/libringside.so,
# cross-compiled by scripts/build-prebuilt.sh, instead of compiling here. For an
# emulated build (podman build --platform linux/arm64) BUILD_BASE then needs only
# a shell, ldd and liburing2, which the local run base has: no toolchain image.
ARG PREBUILT=
# Skipped when BUILD_BASE already has the toolchain (the local build base does), or with PREBUILT.
RUN if [ -z "$PREBUILT" ] && { ! command -v cc >/dev/null || ! command -v make >/dev/null || [ ! -e /usr/include/liburing.h ]; }; then \
        apt-get update \
        && apt-get install -y --no-install-recommends gcc libc6-dev make liburing-dev \
        && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /build/native
COPY native/ ./
# RUNPATH $ORIGIN: libringside.so finds the liburing.so.2 copied next to it,
# so the runtime needs no ldconfig (the prebuilt libraries carry it too).
RUN mkdir -p /out \
    && if [ -n "$PREBUILT" ]; then cp "prebuilt/$PREBUILT/libringside.so" /out/; \
       else make -s lib CFLAGS='-O2 -Wl,-rpath,\$$ORIGIN' && cp build/libringside.so /out/; fi \
    && cp -L "$(ldd /out/libringside.so | awk '/liburing/ { print $3 }')" /out/liburing.so.2

# The root filesystem of the image: Bun and the shared objects it needs, and
# the app as one minified bundle (no TypeScript to transpile at each start).
FROM ${BASE} AS rootfs
WORKDIR /build
COPY package.json ./
COPY src/ ./src/
RUN set -e; \
    mkdir -p /rootfs/app/lib /rootfs/usr/local/bin; \
    bun build src/cli.ts --target bun --minify --outfile /rootfs/app/ringside.js; \
    cp -L "$(command -v bun)" /rootfs/usr/local/bin/bun; \
    for so in $(ldd /rootfs/usr/local/bin/bun | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }'); do \
        cp -L --parents "$so" /rootfs/; \
    done
COPY --from=native /out/ /rootfs/app/lib/

FROM scratch
COPY --from=rootfs /rootfs/ /
# RINGSIDE_LIB: use the prebuilt library, never rebuild at start.
# BUN_RUNTIME_TRANSPILER_CACHE_PATH=0: write nothing (readOnlyRootFilesystem).
ENV PATH=/usr/local/bin \
    PORT=8000 \
    HOST=0.0.0.0 \
    RINGSIDE_LIB=/app/lib/libringside.so \
    BUN_RUNTIME_TRANSPILER_CACHE_PATH=0
# Numeric, so Kubernetes runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8000
STOPSIGNAL SIGTERM
# Exec form, no shell and no curl: ringside's own check, against this
# server's HOST/PORT ("/" is resolved against them, so -e PORT=... follows).
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["bun", "/app/ringside.js", "--check", "/"]
# Bun is PID 1 and handles SIGTERM/SIGINT itself: drain, summary, exit 0.
ENTRYPOINT ["bun", "/app/ringside.js"]
