# Dockerfile: the K-SISS controller image (`make image`). Two stages on
# Debian 12 slim: the build stage installs scripts/deps.sh's `build` set and
# runs `make build`; the runtime stage holds only build/ksiss and the
# RUNTIME_PACKAGES below, runs as a numeric non-root user and writes nothing
# outside /tmp, so it works with readOnlyRootFilesystem.
#
# There is no Docker engine on the development machine:
# scripts/image-build-steps.sh reads THIS file (base image, RUN steps of the
# build stage, RUNTIME_PACKAGES, USER, ENTRYPOINT) and runs / checks the same
# steps on the same Debian base; `make check-deploy` checks that it can.
# Keep to the instructions it understands (ARG FROM WORKDIR COPY RUN ENV
# USER EXPOSE ENTRYPOINT LABEL), one per line.

ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
ARG GIT_REV=unknown
WORKDIR /src
COPY scripts/deps.sh scripts/deps.sh
RUN scripts/deps.sh build
COPY . .
RUN make -j"$(nproc)" build GIT_REV="${GIT_REV}"

FROM ${DEBIAN_IMAGE}
# Every shared library build/ksiss links against must come from one of these
# packages or their dependencies (scripts/image-build-steps.sh checks it with ldd).
ARG RUNTIME_PACKAGES="libyaml-0-2 libjansson4 libcurl4 libmicrohttpd12 zlib1g ca-certificates"
LABEL org.opencontainers.image.title="ksiss" org.opencontainers.image.description="GPU-aware autoscaler for LLM inference services on Kubernetes + Knative"
RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${RUNTIME_PACKAGES} && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/build/ksiss /usr/local/bin/ksiss
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/ksiss", "run"]
