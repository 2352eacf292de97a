#!/usr/bin/env bash
# Builds Sluice with every warning as an error and runs the whole test suite.
# Works on a fresh Debian machine with Swift: installs librdkafka-dev (and docker-compose, to
# validate docker-compose.yml) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh compose
# No container engine runs here: check docker-compose.yml statically.
scripts/check-compose.sh
swift build --build-tests \
    -Xswiftc -warnings-as-errors \
    --explicit-target-dependency-import-check error
# Suites share two cores and an in-process Kafka broker each: run them one after another.
swift test --skip-build --no-parallel "$@"
