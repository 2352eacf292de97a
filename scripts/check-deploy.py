#!/usr/bin/env python3
"""Consistency checks of deploy/ that no schema expresses, run by scripts/check-deploy.sh.

- the ScaledObject against the vendored schema (KEDA's CRD is not in kubernetes-validate),
  its maxReplicaCount against the topic's partition count, its target against the Deployment;
- the Deployment's grace period against the real stop budget (the defaults are read from the
  Swift sources, so that a change there fails here), probes, port, resources and secrets;
- the PodDisruptionBudget's selector against the Deployment's;
- the systemd unit's stop timeout against the same budget;
- the Grafana dashboard: JSON with a PromQL expression in every panel.

Usage: check-deploy.py [RENDERED.yaml]   (the output of `kubectl kustomize deploy/kubernetes`)
"""
import json
import pathlib
import re
import sys

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def seconds(text):
    """`30s`, `500ms`, `2m` → seconds (as Sluice's DurationArgument reads them)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return float(match[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match[2]]


def swift_default(path, pattern):
    source = (ROOT / path).read_text()
    match = re.search(pattern, source)
    if not match:
        sys.exit(f"check-deploy: cannot find the default {pattern!r} in {path}: update scripts/check-deploy.py")
    return float(match[1])


# The stop budget: drain, then the final commit and leaving the group, then 1 s for dead-letter
# writes in flight (SluiceConfiguration.closeTimeout's doc comment).
DRAIN_DEFAULT = swift_default("Sources/SluiceCLI/Options/ConsumerOptions.swift",
                              r'"drain-timeout"[^\n]*\n\s*var drainTimeout[^=]*= DurationArgument\(\.seconds\((\d+)\)\)')
CLOSE = swift_default("Sources/Sluice/Configuration/SluiceConfiguration.swift", r"self\.closeTimeout = \.seconds\((\d+)\)")
DEAD_LETTER_GRACE = 1


def load_all(path):
    return [doc for doc in yaml.safe_load_all(pathlib.Path(path).read_text()) if doc]


def check_manifests(docs, where):
    by_kind = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployment = by_kind["Deployment"][0]
    scaled = by_kind["ScaledObject"][0]
    pdb = by_kind["PodDisruptionBudget"][0]

    schema = json.loads((K8S / "schemas" / "scaledobject-keda-v1alpha1.json").read_text())
    for error in jsonschema.Draft202012Validator(schema).iter_errors(scaled):
        failures.append(f"{where}: ScaledObject {'/'.join(map(str, error.absolute_path))}: {error.message}")

    spec = scaled["spec"]
    partitions = int(scaled["metadata"].get("annotations", {}).get("sluice/topic-partitions", 0))
    check(partitions > 0, f"{where}: the ScaledObject needs the annotation sluice/topic-partitions")
    check(spec["maxReplicaCount"] <= partitions,
          f"{where}: maxReplicaCount {spec['maxReplicaCount']} exceeds the topic's {partitions} partitions: "
          "replicas beyond the partition count sit idle")
    check(spec.get("minReplicaCount", 0) <= spec["maxReplicaCount"], f"{where}: minReplicaCount above maxReplicaCount")
    check(spec["scaleTargetRef"]["name"] == deployment["metadata"]["name"],
          f"{where}: the ScaledObject scales {spec['scaleTargetRef']['name']}, not the Deployment")
    check(any(t["type"] == "kafka" for t in spec["triggers"]), f"{where}: no kafka trigger")

    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e for e in container.get("env", [])}
    drain = seconds(env["SLUICE_DRAIN_TIMEOUT"]["value"]) if "SLUICE_DRAIN_TIMEOUT" in env else DRAIN_DEFAULT
    budget = drain + CLOSE + DEAD_LETTER_GRACE
    grace = pod.get("terminationGracePeriodSeconds", 30)
    check(grace > budget, f"{where}: terminationGracePeriodSeconds {grace} must exceed the stop budget "
                          f"{budget:g} s (drain {drain:g} + close {CLOSE:g} + {DEAD_LETTER_GRACE})")
    check(container.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health/live", f"{where}: liveness probe")
    check(container.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/health/ready", f"{where}: readiness probe")
    port = int(env["SLUICE_METRICS_PORT"]["value"])
    check(any(p["containerPort"] == port and p.get("name") == "metrics" for p in container["ports"]),
          f"{where}: no container port named metrics on SLUICE_METRICS_PORT {port}")
    check(env.get("SLUICE_METRICS_HOST", {}).get("value") == "0.0.0.0", f"{where}: metrics must listen on 0.0.0.0 in a pod")
    workers = env["SLUICE_WORKERS"]
    resources = container["resources"]
    check(workers.get("valueFrom", {}).get("resourceFieldRef", {}).get("resource") == "requests.cpu"
          or workers.get("value") == str(resources["requests"]["cpu"]),
          f"{where}: SLUICE_WORKERS must match the CPU request")
    check(resources["requests"]["cpu"] == resources["limits"]["cpu"], f"{where}: CPU requests ≠ limits (throttling)")
    for name, entry in env.items():
        if re.search(r"PASSWORD|SECRET|TOKEN", name):
            check("secretKeyRef" in entry.get("valueFrom", {}), f"{where}: {name} must come from a Secret")
    check(not any(re.search(r"password|secret", arg, re.I) for arg in container.get("args", [])),
          f"{where}: a secret on the command line")

    check(pdb["spec"]["selector"] == deployment["spec"]["selector"], f"{where}: the PDB selects other pods than the Deployment")
    return budget


# The files as they are (kubectl apply -f works on them too) …
docs = [doc for name in ("deployment.yaml", "poddisruptionbudget.yaml", "scaledobject.yaml") for doc in load_all(K8S / name)]
budget = check_manifests(docs, "deploy/kubernetes")
kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
for resource in kustomization["resources"]:
    check((K8S / resource).is_file(), f"kustomization.yaml: missing resource {resource}")
# … and as kustomize renders them, when it is available.
if len(sys.argv) > 1:
    rendered = load_all(sys.argv[1])
    check_manifests(rendered, "kustomize output")
    scaled = next(d for d in rendered if d["kind"] == "ScaledObject")
    config = next(d for d in rendered if d["kind"] == "ConfigMap")["data"]
    trigger = scaled["spec"]["triggers"][0]["metadata"]
    for key, variable in (("topic", "SLUICE_TOPIC"), ("consumerGroup", "SLUICE_GROUP"), ("bootstrapServers", "SLUICE_BROKERS")):
        check(trigger[key] == config[variable], f"kustomize output: the trigger's {key} {trigger[key]!r} ≠ {variable} {config[variable]!r}")

unit = (ROOT / "deploy" / "systemd" / "sluice@.service").read_text()
settings = dict(re.findall(r"^(\w+)=(.*)$", unit, re.M))
check(settings.get("KillSignal") == "SIGTERM", "sluice@.service: KillSignal must be SIGTERM (graceful stop)")
check(seconds(settings.get("TimeoutStopSec", "90") + "s") > DRAIN_DEFAULT + CLOSE + DEAD_LETTER_GRACE,
      f"sluice@.service: TimeoutStopSec must exceed the stop budget {DRAIN_DEFAULT + CLOSE + DEAD_LETTER_GRACE:g} s")

dashboard = json.loads((ROOT / "deploy" / "grafana" / "sluice.json").read_text())
panels = [p for p in dashboard["panels"] if p.get("type") != "row"]
check(dashboard.get("uid") and dashboard.get("title"), "sluice.json: uid and title")
for panel in panels:
    exprs = [t.get("expr", "") for t in panel.get("targets", [])]
    check(exprs and all(exprs), f"sluice.json: panel {panel.get('title')!r} has no PromQL expression")

if failures:
    print("\n".join(f"check-deploy: {f}" for f in failures), file=sys.stderr)
    sys.exit(1)
print(f"deploy/: ScaledObject, Deployment, PDB, systemd unit and dashboard ({len(panels)} panels) are consistent; "
      f"stop budget {budget:g} s")
