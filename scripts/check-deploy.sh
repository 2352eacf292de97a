#!/usr/bin/env bash
# Checks deploy/ offline, without a cluster: the Prometheus alert rules (promtool, Debian's
# `prometheus` package), the Kubernetes manifests against the Kubernetes schemas
# (kubernetes-validate from PyPI, which bundles them, in a venv), the kustomization rendered by
# `kubectl kustomize` where kubectl is installed, KEDA's ScaledObject against a schema vendored in
# deploy/kubernetes/schemas (a CRD: kubernetes-validate has none), the systemd unit
# (systemd-analyze where it exists), and the consistency checks of scripts/check-deploy.py.
# Whether the dashboard and alerts name metrics that /metrics serves is a Swift test
# (DeployMetricNamesTests), since it needs a running `sluice run`.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh deploy
promtool check rules deploy/prometheus/alerts.yml

venv="${SLUICE_DEPLOY_VENV:-.build-deploy-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    echo "installing kubernetes-validate into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'kubernetes-validate==1.37.0'
fi
# --strict rejects unknown fields (a typo in a probe would otherwise pass unnoticed).
"$venv/bin/kubernetes-validate" --strict --quiet \
    deploy/kubernetes/deployment.yaml deploy/kubernetes/poddisruptionbudget.yaml

rendered=""
if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    rendered="$(mktemp)"
    trap 'rm -f "$rendered"' EXIT
    kubectl kustomize deploy/kubernetes >"$rendered"
    # The ConfigMap, Deployment and PDB as kustomize emits them; the ScaledObject is left to
    # check-deploy.py (kubernetes-validate only warns that it has no schema for it).
    "$venv/bin/kubernetes-validate" --strict --quiet "$rendered"
    echo "kustomization renders and validates"
else
    echo "note: kubectl (with kustomize) not installed: the kustomization is checked for its files, not rendered"
fi
"$venv/bin/python" scripts/check-deploy.py $rendered

if command -v systemd-analyze >/dev/null 2>&1; then
    # Verified as an instance, with the binary and user it names faked where they are missing.
    unitdir="$(mktemp -d)"
    cp deploy/systemd/sluice@.service "$unitdir/sluice@.service"
    sed -i -e "s|/usr/local/bin/sluice|/bin/true|" -e "/^User=/d" -e "/^Group=/d" "$unitdir/sluice@.service"
    SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$unitdir/sluice@check.service" 2>&1 \
        | grep -v "Failed to load environment files\|EnvironmentFile" | tee "$unitdir/out" || true
    status=0; [ -s "$unitdir/out" ] && status=1
    rm -rf "$unitdir"
    [ "$status" = 0 ] || { echo "error: systemd-analyze verify reported the above" >&2; exit 1; }
    echo "deploy/systemd/sluice@.service verifies"
fi
echo "deploy/ is valid"
