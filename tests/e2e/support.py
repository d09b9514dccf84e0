"""Helpers of the end-to-end tests: a throwaway Pulumi project and stack, and kubectl look-ups."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
STANDIN_CHART = Path(__file__).resolve().parent / "charts" / "minio-standin"
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "explain_infra", "components", "templates", "tools", "scripts", ".venv")
"""What a throwaway project links to, so that it runs this repository's program."""


@dataclass
class Stack:
    """A throwaway Pulumi project (links to this repository's program) with one stack."""

    name: str
    directory: Path
    env: dict[str, str]

    @property
    def namespace(self) -> str:
        return f"explain-{self.name}"

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(["pulumi", *args, "--stack", self.name, "--non-interactive"],
                                cwd=self.directory, env=self.env, capture_output=True, text=True, timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def write_config(self, config: dict[str, Any]) -> None:
        document = {"config": {f"explain:{key}": value for key, value in config.items()}}
        (self.directory / f"Pulumi.{self.name}.yaml").write_text(yaml.safe_dump(document))

    def preview_steps(self) -> list[dict[str, Any]]:
        """``pulumi preview --json`` steps, without the stack and provider bookkeeping."""
        output = json.loads(self.pulumi("preview", "--json").stdout)
        return [step for step in output.get("steps", [])
                if step["op"] != "same" and not step["urn"].split("::")[-2].startswith("pulumi:")]

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(["kubectl", *args], env=self.env, capture_output=True, text=True, timeout=120,
                              check=check)

    def get(self, kind: str, name: str | None = None) -> Any:
        args = ["get", kind, "-n", self.namespace, "-o", "json"] + ([name] if name else [])
        result = self.kubectl(*args, check=False)
        if result.returncode != 0:
            return None
        document = json.loads(result.stdout)
        return document if name else document["items"]

    def names(self, kind: str) -> set[str]:
        return {item["metadata"]["name"] for item in self.get(kind) or []}


def e2e_config(**overrides: Any) -> dict[str, Any]:
    """The stack config the end-to-end tests converge: no image builds (no Docker engine here), MinIO
    from the stand-in chart, every service of this release on."""
    config: dict[str, Any] = {
        "dataType": "Time-Series",
        "tag": "v1",
        "dockerHubUser": "e2e",
        "build": {"enabled": False},
        "charts": {"minio": {"path": str(STANDIN_CHART)}},
        "features": {
            "dataRepository": True, "s3TypeDatabase": True, "memorySize": 256,
            "developmentIde": True, "monitoring": True, "driftDetection": True,
            "dataStreaming": True, "liveDataAndDriftSimulation": True,
        },
        "services": {name: {"resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}
                     for name in ("mlflow", "jupyter", "monitoring", "dataStreaming")},
    }
    config.update(overrides)
    return config


