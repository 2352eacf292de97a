# syntax=docker/dockerfile:1
#
# The `sluice` consumer image: build with Swift and librdkafka-dev, run on a slim Debian with
# librdkafka1. The Swift runtime is linked statically (--static-swift-stdlib), so the runtime
# stage needs no Swift libraries.
#
#   docker build -t sluice .
#   docker run --rm sluice run --brokers kafka:9092 --topic orders --handler score-orders
#
# An application of your own (see examples/) builds the same way: change --product.

# ---- build ------------------------------------------------------------------------------------
FROM swift:6.3-bookworm AS build

RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends librdkafka-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build

# Resolve dependencies first, so that source edits do not invalidate this layer.
COPY Package.swift Package.resolved* ./
RUN swift package resolve

COPY . .
RUN swift build -c release --product sluice --static-swift-stdlib \
    && mkdir /staging \
    && cp "$(swift build -c release --show-bin-path)/sluice" /staging/
# A statically linked crash reporter, so that a crashing handler still prints a backtrace.
RUN cp /usr/libexec/swift/linux/swift-backtrace-static /staging/

# ---- run --------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# librdkafka1 (with its TLS, SASL and compression libraries), libstdc++ for the Swift runtime,
# CA certificates for TLS brokers, curl for health checks.
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get -q update \
    && apt-get -q install -y --no-install-recommends librdkafka1 libstdc++6 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 1000 --home-dir /app --create-home sluice
WORKDIR /app
COPY --from=build --chown=sluice:sluice /staging/ /app/
USER sluice:sluice

# The crash backtracer is for the consumer: `sluice run --isolation process` turns it off in its workers
# (a trapping worker would be held for seconds and count as a timeout) unless SLUICE_WORKER_BACKTRACES=1.
ENV PATH=/app:$PATH \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/app/swift-backtrace-static \
    SLUICE_METRICS_HOST=0.0.0.0 \
    SLUICE_METRICS_PORT=9090

EXPOSE 9090

# /health/ready: the consumer has joined its group and is polling; /health/live: the process is up.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${SLUICE_METRICS_PORT}/health/ready" || exit 1

# SIGTERM drains in-flight handlers, commits and leaves the group (give it --drain-timeout). Worker
# processes ignore it: the consumer stops them once it has drained. Pass credentials as environment
# variables (SLUICE_X_SASL_PASSWORD, …), never as arguments.
STOPSIGNAL SIGTERM
ENTRYPOINT ["sluice"]
CMD ["--help"]
