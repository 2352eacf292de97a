#!/usr/bin/env bash
# Builds Sluice with every warning as an error and runs the whole test suite, then builds and
# tests examples/consumer-template and examples/postgres-sink against this checkout, and checks
# deploy/ offline.
# Works on a fresh Debian machine with Swift: installs librdkafka-dev, and docker-compose (to
# validate docker-compose.yml), tmux (the terminal test of `sluice demo`), promtool and a venv
# with kubernetes-validate (deploy/), and PostgreSQL (examples/postgres-sink) when missing.
# Arguments go to `swift test` (e.g. --filter StatusFormatterTests); SLUICE_TEST_TEMPLATE=0 skips
# the template, SLUICE_TEST_POSTGRES=0 the PostgreSQL sink (and its server), SLUICE_TEST_DEPLOY=0
# the deploy/ checks (for quicker runs while developing).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh compose tmux deploy
# No container engine or cluster runs here: check docker-compose.yml and deploy/ statically.
scripts/check-compose.sh
if [ "${SLUICE_TEST_DEPLOY:-1}" != 0 ]; then scripts/check-deploy.sh; fi
swift build --build-tests \
    -Xswiftc -warnings-as-errors \
    --explicit-target-dependency-import-check error
# Suites share two cores and an in-process Kafka broker each: run them one after another.
swift test --skip-build --no-parallel "$@"
if [ "${SLUICE_TEST_TEMPLATE:-1}" != 0 ]; then scripts/check-template.sh; fi
if [ "${SLUICE_TEST_POSTGRES:-1}" != 0 ]; then scripts/check-postgres-sink.sh; fi
