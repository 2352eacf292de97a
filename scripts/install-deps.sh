#!/usr/bin/env bash
# Installs what building Sluice needs beyond Swift: librdkafka's headers (Debian's librdkafka-dev)
# and pkg-config; with the argument `compose`, also docker-compose (to validate docker-compose.yml;
# no container engine is installed or needed); with `tmux`, tmux (the terminal test of `sluice
# demo`); with `deploy`, Debian's prometheus (for promtool) and python3-venv (for
# kubernetes-validate), which scripts/check-deploy.sh uses; with `postgres`, Debian's postgresql
# (the server that scripts/check-postgres-sink.sh starts for examples/postgres-sink). Does nothing
# when they are already there.
set -euo pipefail
packages=()
if ! pkg-config --exists rdkafka 2>/dev/null; then
    packages+=(librdkafka-dev pkg-config)
fi
for extra in "$@"; do
    case "$extra" in
        compose)
            if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
                packages+=(docker-compose)
            fi ;;
        tmux)
            command -v tmux >/dev/null 2>&1 || packages+=(tmux) ;;
        deploy)
            command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
            python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || packages+=(python3-venv) ;;
        postgres)
            # Debian keeps the server's programs off PATH, in /usr/lib/postgresql/VERSION/bin.
            if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
                packages+=(postgresql)
            fi ;;
        *)
            echo "error: unknown argument '$extra' (compose, tmux, deploy, postgres)" >&2
            exit 64 ;;
    esac
done
if [ ${#packages[@]} -eq 0 ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: missing ${packages[*]} and this is not a Debian/Ubuntu system;" >&2
    echo "       install librdkafka >= 2.0 with its headers (e.g. 'brew install librdkafka')" >&2
    echo "       and docker-compose (or Docker's compose plugin), tmux, promtool, PostgreSQL as asked." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "Installing ${packages[*]}..."
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# --no-install-recommends: docker-compose recommends docker.io (a container engine), not needed here;
# prometheus's server is installed with promtool but not started (nothing here needs it); the
# cluster Debian's postgresql may set up is left alone: the tests start a throwaway server of their own.
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
pkg-config --modversion rdkafka
