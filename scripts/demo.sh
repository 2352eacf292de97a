#!/usr/bin/env bash
# Runs the Sluice demo on an embedded Kafka broker: writes JSON order events, scores them with a
# CPU-bound handler on all cores, and prints a summary. Works on a fresh Debian machine with Swift
# (installs librdkafka-dev when missing). Extra arguments go to `sluice demo` (e.g. --count 50000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product sluice
exec .build/release/sluice demo "$@"
