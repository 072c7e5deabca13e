# The agent image: the self-contained agent bundle and nothing else (no shell, no libc).
#
#   docker build -t ghcr.io/vault-exec/vault-exec-agent:0.1.0 .
#
# The tag is the package version (transformer/__init__.py), which is the transformer's
# default `agentImage`. Its init container runs the image's own
# `vault-exec-agent install /vault-exec-target` (no shell needed), which copies
# the bundle into the pod's emptyDir; app containers mount that read-only at
# /vault-exec. Paths: transformer/agent/contract.py (tests/test_bundle.py checks
# that this file agrees with it). Recipe and measurements: docs/distroless.md.

# Build stage: Debian's own Python 3.11 (as `make agent-bundle` uses), running the
# very script `make agent-bundle` runs and the tests run on this machine.
FROM debian:bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3.11 python3.11-venv libpython3.11 binutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY packaging/ packaging/
COPY transformer/ transformer/
RUN ["/usr/bin/python3.11", "packaging/build_bundle.py", "--python", "/usr/bin/python3.11"]

# Final stage: FROM scratch. The bundle brings its own glibc loader and libraries;
# its ELF interpreter is patched to /vault-exec/lib/ld-linux-x86-64.so.2, so it
# must live at exactly /vault-exec.
FROM scratch
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="vault-exec-agent" \
      org.opencontainers.image.description="vault-exec's run-time agent bundle (install into an emptyDir, then exec the app as PID 1)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /src/dist/vault-exec-agent/ /vault-exec/
USER 65532:65532
ENTRYPOINT ["/vault-exec/vault-exec-agent"]
CMD ["install", "/vault-exec-target"]
