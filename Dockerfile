# syntax=docker/dockerfile:1
#
# firedrill's container image, for the in-cluster jobs in k8s/harness/, for
# machines that reach Docker Hub and gcr.io:
#
#   docker build -t ghcr.io/firedrill/firedrill:0.1.0 .
#   kind load docker-image ghcr.io/firedrill/firedrill:0.1.0   # or push it to a registry
#
# Without them, `sudo scripts/build-image` builds the same image from
# Debian's packages (what CI builds and runs). Both lay it out as
# image/layout says — paths, user, entrypoint, labels — and tests/image.rs
# checks this file's runtime stage against it: change both together.
#
# The image runs drills against a cluster's own Prometheus (scenarios with
# `prometheus: { url: ... }` or `prometheus: { kubernetes: ... }`). The
# embedded environment (`firedrill run` with no `prometheus:`, e.g. the
# scenarios in /scenarios-default) needs a `prometheus` binary, which this
# image does not have: those scenarios stop with an error here.

# Rust 1.88 at least (Cargo.toml's rust-version): crates in Cargo.lock
# (time 0.3.55, icu_* 2.4, hdrhistogram 7.6, encoding_rs) declare it.
ARG RUST_VERSION=1.88

FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src

# 1. Dependencies only, cached until Cargo.toml or Cargo.lock changes: build
#    the real dependency graph around an empty crate, then forget the empty
#    crate's own artifacts so the next step compiles the real one.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src \
        target/release/firedrill target/release/firedrill.d \
        target/release/libfiredrill.* \
        target/release/deps/firedrill-* target/release/deps/libfiredrill-* \
        target/release/.fingerprint/firedrill-*

# 2. The crate. Besides src/ (which holds src/report/html/template.html),
#    the build embeds two files of the monitoring stack with include_str!
#    (src/rules/mod.rs): they must be here before `cargo build`.
COPY src ./src
COPY k8s/monitoring/prometheus-rules.yaml k8s/monitoring/prometheus-config.yaml ./k8s/monitoring/
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && cp target/release/firedrill /usr/local/bin/firedrill

# Runtime: glibc and libgcc (the binary is dynamically linked against them;
# TLS is rustls, no OpenSSL), CA certificates, no shell, no package manager.
# Debian 12 like the builder, so the glibc matches.
FROM gcr.io/distroless/cc-debian12:nonroot
LABEL org.opencontainers.image.title="firedrill" \
      org.opencontainers.image.description="Load generation and SLO/alert drills for services monitored by Prometheus" \
      org.opencontainers.image.licenses="Apache-2.0"

COPY --from=builder /usr/local/bin/firedrill /usr/local/bin/firedrill
# The repository's example scenarios (optional; they use the embedded
# environment, see above). The in-cluster scenarios come from the
# firedrill-scenarios ConfigMap, mounted at /scenarios.
COPY scenarios /scenarios-default
# The monitoring stack, so `firedrill deploy k8s/monitoring` works from the
# image's working directory (/) with the firedrill-deployer ServiceAccount.
COPY k8s/monitoring /k8s/monitoring

WORKDIR /
# The distroless `nonroot` user, numerically, so runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/firedrill"]
CMD ["--help"]
