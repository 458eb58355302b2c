"""The deployment files are what they claim: the Kubernetes manifests are valid objects of the API,
HAProxy accepts its configuration, and the production endpoints, the script that runs them and the
cluster's copy agree on every variable."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import ValidationError

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES_VERSION = "1.28.0"


def manifests() -> List[Dict[str, Any]]:
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        found.extend(doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc)
    return found


def config_map(name: str) -> Dict[str, str]:
    return next(m for m in manifests() if m["kind"] == "ConfigMap" and m["metadata"]["name"] == name)["data"]


def placeholders(text: str) -> set:
    return set(re.findall(r"\$\{(\w+)\}", text))


@pytest.mark.parametrize("manifest", manifests(), ids=lambda m: f"{m['kind']}/{m['metadata']['name']}")
def test_every_manifest_is_a_valid_kubernetes_object(manifest):
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_wrong_manifest():
    deployment = next(m for m in manifests() if m["kind"] == "Deployment")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_manifests_cover_the_production_topology():
    kinds = {(m["kind"], m["metadata"]["name"]) for m in manifests()}
    assert {
        ("Deployment", "xinghe-rasa"),
        ("Deployment", "xinghe-actions"),
        ("Deployment", "xinghe-workspace"),
    } <= kinds
    replicas = {
        m["metadata"]["name"]: m["spec"]["replicas"] for m in manifests() if m["kind"] == "Deployment"
    }
    assert replicas["xinghe-rasa"] >= 2 and replicas["xinghe-actions"] >= 2


def test_the_clusters_endpoints_are_the_production_endpoints():
    """One topology: the cluster's endpoints differ from deploy/endpoints.prod.yml only in where
    the action servers are (the HAProxy beside each Rasa container)."""
    cluster = yaml.safe_load(config_map("xinghe-rasa-endpoints")["endpoints.yml"])
    production = yaml.safe_load((DEPLOY / "endpoints.prod.yml").read_text(encoding="utf-8"))
    for part in ("tracker_store", "lock_store", "event_broker"):
        assert cluster[part] == production[part], part


def test_every_endpoint_variable_is_set_by_run_prod_and_in_the_cluster():
    needed = placeholders((DEPLOY / "endpoints.prod.yml").read_text(encoding="utf-8"))
    script = (ROOT / "scripts" / "run_prod.sh").read_text(encoding="utf-8")
    given_by_script = set(re.findall(r"(\w+)=\$\{\1:-", script))  # NAME=${NAME:-default}
    assert needed <= given_by_script, needed - given_by_script
    rasa = next(
        m for m in manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == "xinghe-rasa"
    )
    container = rasa["spec"]["template"]["spec"]["containers"][0]
    in_cluster = set(config_map("xinghe-config")) | {e["name"] for e in container["env"]}
    assert needed | {"ACTIONS_TOKEN"} <= in_cluster, (needed | {"ACTIONS_TOKEN"}) - in_cluster


def test_the_clusters_answers_for_unreachable_action_servers_are_the_same_as_haproxys():
    data = config_map("xinghe-actions-proxy")
    for name in ("actions_unavailable.http", "session_start_unavailable.http"):
        assert data[name].replace("\r\n", "\n") == (DEPLOY / name).read_text(encoding="utf-8").replace(
            "\r\n", "\n"
        )


def test_rasa_reads_the_production_endpoints(monkeypatch):
    from rasa.core.utils import read_endpoints_from_path

    from persistence.lock_store import RedisTicketLockStore

    for name in placeholders((DEPLOY / "endpoints.prod.yml").read_text(encoding="utf-8")):
        monkeypatch.setenv(name, "1")
    endpoints = read_endpoints_from_path(DEPLOY / "endpoints.prod.yml")
    assert endpoints.tracker_store.type == "persistence.tracker_store.MaskingSQLTrackerStore"
    assert endpoints.lock_store.type == f"{RedisTicketLockStore.__module__}.{RedisTicketLockStore.__name__}"
    assert endpoints.event_broker.type == "pika"


def haproxy_environment() -> Dict[str, str]:
    return {
        **os.environ,
        "XINGHE_BIND": "127.0.0.1",
        "XINGHE_PUBLIC_PORT": "5005",
        "XINGHE_ACTIONS_PORT": "5055",
        "XINGHE_RASA1": "127.0.0.1:5011",
        "XINGHE_RASA2": "127.0.0.1:5012",
        "XINGHE_ACTIONS1": "127.0.0.1:5061",
        "XINGHE_ACTIONS2": "127.0.0.1:5062",
        "XINGHE_ACTIONS_TIMEOUT": "8s",
        "XINGHE_DEPLOY_DIR": str(DEPLOY),
    }


def test_haproxy_accepts_its_configuration_with_what_run_prod_sets():
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy not found: run scripts/install_system_deps.sh", pytrace=False)
    script = (ROOT / "scripts" / "run_prod.sh").read_text(encoding="utf-8")
    for name in placeholders((DEPLOY / "haproxy.cfg").read_text(encoding="utf-8")):
        assert f"export {name}=" in script or f" {name}=" in script, name
    checked = subprocess.run(
        ["haproxy", "-c", "-f", str(DEPLOY / "haproxy.cfg")],
        env=haproxy_environment(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
