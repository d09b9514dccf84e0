"""End-to-end fixtures: the real Pulumi CLI and Kubernetes provider against the local control plane.

Run by ``scripts/test`` (which builds the toolchain and starts ``scripts/cluster``). Outside it,
these tests are skipped unless ``EXPLAIN_E2E=1``, in which case a missing piece is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest
from support import PROJECT_FILES, ROOT, Stack


def _toolchain_env() -> dict[str, str]:
    env_file = ROOT / ".toolchain" / "env"
    if not env_file.is_file():
        raise FileNotFoundError(f"{env_file} missing: run scripts/toolchain")
    dump = subprocess.run(["bash", "-c", f"set -a; source '{env_file}'; env -0"], check=True,
                          capture_output=True, env=os.environ.copy()).stdout
    return dict(item.split("=", 1) for item in dump.decode().split("\0") if "=" in item)


@pytest.fixture(scope="session")
def e2e_env(tmp_path_factory) -> dict[str, str]:
    required = os.environ.get("EXPLAIN_E2E") == "1"
    try:
        env = _toolchain_env()
        kubeconfig = ROOT / ".cluster" / "kubeconfig"
        if not kubeconfig.is_file():
            raise FileNotFoundError(f"{kubeconfig} missing: run scripts/cluster start")
        env["KUBECONFIG"] = str(kubeconfig)
        subprocess.run(["kubectl", "version", "--request-timeout=10s"], check=True, env=env, capture_output=True)
    except (FileNotFoundError, subprocess.CalledProcessError) as error:
        if required:
            raise
        pytest.skip(f"end-to-end tests need the toolchain and the local control plane: {error}")
    state = tmp_path_factory.mktemp("pulumi-state")
    env.update({
        "PULUMI_BACKEND_URL": f"file://{state}",
        "PULUMI_CONFIG_PASSPHRASE": "e2e-" + uuid.uuid4().hex,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    })
    return env


@pytest.fixture(scope="module")
def stack(e2e_env, tmp_path_factory) -> Stack:
    directory = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        (directory / name).symlink_to(ROOT / name)
    created = Stack(name="e2e-" + uuid.uuid4().hex[:6], directory=directory, env=e2e_env)
    created.pulumi("stack", "init", "--secrets-provider", "passphrase")
    yield created
    created.pulumi("destroy", "--yes", check=False)
    created.pulumi("stack", "rm", "--yes", "--force", check=False)
    created.kubectl("delete", "namespace", created.namespace, "--wait=false", check=False)
    shutil.rmtree(directory, ignore_errors=True)
