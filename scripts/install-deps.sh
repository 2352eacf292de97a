#!/usr/bin/env bash
# Installs what building Sluice needs beyond Swift: librdkafka's headers (Debian's librdkafka-dev)
# and pkg-config. Does nothing when they are already there.
set -euo pipefail
if pkg-config --exists rdkafka 2>/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: librdkafka (pkg-config 'rdkafka') is missing and this is not a Debian/Ubuntu system;" >&2
    echo "       install librdkafka >= 2.0 with its headers (e.g. 'brew install librdkafka')." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing librdkafka-dev and pkg-config..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librdkafka-dev pkg-config >/dev/null
pkg-config --modversion rdkafka
