"""The stack's life on a real API server: preview, up, no-op up, tag change, feature off, destroy.

The tests run in file order and share one stack: each starts from the state the one before left.
"""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest
from support import ROOT, Stack, e2e_config

pytestmark = pytest.mark.e2e

BUILT_WORKLOADS = {"ml-flow", "jupyter", "evidently", "data-streaming"}
CLAIMS = {"minio-data", "ml-flow-data", "jupyter-data", "evidently-data"}


def test_invalid_config_fails_preview_and_changes_nothing(stack: Stack):
    stack.write_config(e2e_config(features={"automl": True}))
    result = stack.pulumi("preview", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "explain:features.automl" in output and "requires `modelTrainingAndUpdate`" in output
    assert "pulumi config set --path 'explain:features.modelTrainingAndUpdate' true" in output
    assert stack.kubectl("get", "namespace", stack.namespace, check=False).returncode != 0


def test_preview_lists_the_creates_and_changes_nothing(stack: Stack):
    stack.write_config(e2e_config())
    steps = stack.preview_steps()
    assert steps and {step["op"] for step in steps} == {"create"}
    created_types = {step["urn"].split("::")[-2].split("$")[-1] for step in steps}
    assert {"kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:helm.sh/v3:Release",
            "kubernetes:core/v1:PersistentVolumeClaim", "kubernetes:core/v1:Secret"} <= created_types
    assert stack.kubectl("get", "namespace", stack.namespace, check=False).returncode != 0


def test_up_converges_and_workloads_become_ready(stack: Stack):
    stack.pulumi("up", "--yes", "--skip-preview")
    deployments = {item["metadata"]["name"]: item for item in stack.get("deployments")}
    assert set(deployments) == BUILT_WORKLOADS | {"minio"}
    for name, deployment in deployments.items():
        assert deployment["status"].get("readyReplicas") == 1, name
    assert stack.names("services") == {"minio", "minio-console", "ml-flow-service", "jupyter-service",
                                       "evidently-service", "data-streaming-service"}
    claims = {item["metadata"]["name"]: item for item in stack.get("pvc")}
    assert set(claims) == CLAIMS and all(c["status"]["phase"] == "Bound" for c in claims.values())
    # The chart defines no probes: the release's post-renderer adds them.
    minio = deployments["minio"]["spec"]["template"]["spec"]["containers"][0]
    assert minio["readinessProbe"]["httpGet"] == {"path": "/minio/health/ready", "port": "http", "scheme": "HTTP"}
    assert minio["livenessProbe"]["httpGet"]["path"] == "/minio/health/live"
    mlflow = deployments["ml-flow"]["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item for item in mlflow["env"]}
    assert env["MLFLOW_S3_ENDPOINT_URL"]["value"] == f"http://minio.{stack.namespace}.svc.cluster.local:9000"
    assert env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]["name"] == "minio-credentials"
    assert mlflow["image"] == "docker.io/e2e/mlflow:v1"
    secret = stack.get("secret", "minio-credentials")
    assert set(secret["data"]) == {"rootUser", "rootPassword"} and len(secret["data"]["rootPassword"]) > 20


def test_second_up_reports_no_changes(stack: Stack):
    password_before = stack.get("secret", "minio-credentials")["data"]["rootPassword"]
    stack.pulumi("up", "--yes", "--expect-no-changes")
    assert stack.get("secret", "minio-credentials")["data"]["rootPassword"] == password_before


def test_render_matches_what_up_created(stack: Stack, tmp_path):
    subprocess.run([sys.executable, "-m", "explain_infra", "render", "--stack", stack.name, "--out", str(tmp_path)],
                   cwd=stack.directory, check=True, env={**stack.env, "PYTHONPATH": str(ROOT)})
    import yaml

    rendered = set()
    for path in (tmp_path / "manifests").glob("*.yaml"):
        document = yaml.safe_load(path.read_text())
        if document["kind"] != "HelmRelease":
            rendered.add((document["kind"], document["metadata"].get("namespace"), document["metadata"]["name"]))
    import json

    state = json.loads(stack.pulumi("stack", "export").stdout)
    created = {
        (resource["outputs"]["kind"], resource["outputs"]["metadata"].get("namespace"),
         resource["outputs"]["metadata"]["name"])
        for resource in state["deployment"]["resources"]
        if resource["type"].startswith("kubernetes:") and resource.get("custom")
        and "kind" in resource.get("outputs", {}) and resource["type"] != "kubernetes:helm.sh/v3:Release"
    }
    assert rendered == created
    for kind, namespace, name in created:
        args = ["get", kind, name] + (["-n", namespace] if namespace else [])
        assert stack.kubectl(*args, check=False).returncode == 0, (kind, name)


def test_tag_change_updates_exactly_the_built_workloads(stack: Stack):
    stack.write_config(e2e_config(tag="v2"))
    steps = stack.preview_steps()
    assert {step["op"] for step in steps} == {"update"}, steps
    updated = {step["urn"].split("::")[-1] for step in steps}
    assert updated == {"mlflow-deployment", "jupyter-deployment", "monitoring-deployment",
                       "dataStreaming-deployment"}
    uids = {item["metadata"]["name"]: item["metadata"]["uid"] for item in stack.get("pvc")}
    stack.pulumi("up", "--yes", "--skip-preview")
    for deployment in stack.get("deployments"):
        if deployment["metadata"]["name"] in BUILT_WORKLOADS:
            assert deployment["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2")
    assert {item["metadata"]["name"]: item["metadata"]["uid"] for item in stack.get("pvc")} == uids


def test_a_secret_set_later_replaces_the_generated_one_and_restarts_its_readers(stack: Stack):
    before = stack.get("deployment", "jupyter")["spec"]["template"]["metadata"]["annotations"]
    stack.pulumi("config", "set", "--secret", "explain:jupyterToken", "e2e-token-5f1c9a7d")
    steps = stack.preview_steps()
    # In place (kubernetes:enableSecretMutable in Pulumi.yaml): the Secret, and the pods that read it.
    assert {step["urn"].split("::")[-1]: step["op"] for step in steps} == {
        "jupyter-token-secret": "update", "jupyter-deployment": "update"}, steps
    stack.pulumi("up", "--yes", "--skip-preview")
    token = stack.get("secret", "jupyter-token")["data"]["token"]
    assert base64.b64decode(token).decode() == "e2e-token-5f1c9a7d"
    after = stack.get("deployment", "jupyter")["spec"]["template"]["metadata"]["annotations"]
    assert after["explain-mlops.io/secret-revisions"] != before["explain-mlops.io/secret-revisions"]
    stack.pulumi("up", "--yes", "--expect-no-changes")


def test_feature_off_deletes_its_objects_but_keeps_its_volume(stack: Stack):
    claim_uid = stack.get("pvc", "jupyter-data")["metadata"]["uid"]
    config = e2e_config(tag="v2")
    config["features"]["developmentIde"] = False
    stack.write_config(config)
    stack.pulumi("up", "--yes", "--skip-preview")
    assert stack.get("deployment", "jupyter") is None
    assert stack.get("service", "jupyter-service") is None
    assert stack.get("secret", "jupyter-token") is None
    assert stack.get("pvc", "jupyter-data")["metadata"]["uid"] == claim_uid

    # Switching it on again adopts the very same claim.
    stack.write_config(e2e_config(tag="v2"))
    stack.pulumi("up", "--yes", "--skip-preview")
    assert stack.get("deployment", "jupyter")["status"].get("readyReplicas") == 1
    assert stack.get("pvc", "jupyter-data")["metadata"]["uid"] == claim_uid


def test_destroy_removes_everything_but_the_data(stack: Stack):
    uids = {item["metadata"]["name"]: item["metadata"]["uid"] for item in stack.get("pvc")}
    stack.pulumi("destroy", "--yes", "--skip-preview")
    assert stack.get("deployments") == []
    assert stack.get("services") == []
    assert not {item["metadata"]["name"] for item in stack.get("secrets")} & {"minio-credentials", "jupyter-token"}
    assert {item["metadata"]["name"]: item["metadata"]["uid"] for item in stack.get("pvc")} == uids
    assert set(uids) == CLAIMS
