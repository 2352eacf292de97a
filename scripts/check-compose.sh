#!/usr/bin/env bash
# Validates docker-compose.yml without a container engine: `docker-compose config -q` parses the
# file, checks it against the Compose schema and interpolates its variables; it needs no Docker
# daemon. `scripts/install-deps.sh compose` installs Debian's docker-compose when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f docker-compose.yml config -q
elif docker compose version >/dev/null 2>&1; then
    docker compose -f docker-compose.yml config -q
else
    echo "error: neither docker-compose nor 'docker compose' is installed; run scripts/install-deps.sh compose" >&2
    exit 1
fi
echo "docker-compose.yml is valid"
