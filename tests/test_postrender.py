"""The MinIO release's Helm post-renderer: probes on the server container, nothing else touched."""

from __future__ import annotations

import copy
import subprocess

import yaml
from helpers import ROOT

from components.platform import HELM_POSTRENDER
from explain_infra.postrender import LIVENESS_PATH, READINESS_PATH, add_minio_probes


def deployment(*containers):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "minio"},
            "spec": {"template": {"spec": {"containers": list(containers)}}}}


MINIO = {"name": "minio", "ports": [{"name": "http", "containerPort": 9000},
                                    {"name": "http-console", "containerPort": 9001}]}
SIDECAR = {"name": "exporter", "ports": [{"name": "metrics", "containerPort": 9100}]}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "minio"}, "spec": {"ports": []}}


def test_server_container_gets_readiness_and_liveness_on_the_api_port():
    (rendered,) = add_minio_probes([deployment(copy.deepcopy(MINIO))])
    container = rendered["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": READINESS_PATH, "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": LIVENESS_PATH, "port": "http"}


def test_other_containers_kinds_and_existing_probes_are_left_alone():
    own_probe = {"tcpSocket": {"port": "http"}}
    documents = [deployment({**copy.deepcopy(MINIO), "livenessProbe": own_probe}, copy.deepcopy(SIDECAR)),
                 copy.deepcopy(SERVICE)]
    rendered = add_minio_probes(documents)
    minio, sidecar = rendered[0]["spec"]["template"]["spec"]["containers"]
    assert minio["livenessProbe"] == own_probe and "readinessProbe" in minio
    assert sidecar == SIDECAR and rendered[1] == SERVICE


def test_the_executable_helm_runs_rewrites_a_manifest_stream():
    stream = "---\n" + yaml.safe_dump(deployment(MINIO)) + "---\n" + yaml.safe_dump(SERVICE) + "---\n"
    result = subprocess.run([str(ROOT / HELM_POSTRENDER)], input=stream, capture_output=True, text=True,
                            check=True, timeout=60)
    documents = list(yaml.safe_load_all(result.stdout))
    assert [document["kind"] for document in documents] == ["Deployment", "Service"]
    container = documents[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == READINESS_PATH
