"""Helpers of the unit tests: stack configs as Pulumi hands them to the program, and look-ups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from explain_infra.features import FEATURES_BY_KEY  # noqa: E402
from explain_infra.offline import Evaluation, evaluate  # noqa: E402


def with_requirements(*keys: str) -> dict[str, bool]:
    """The switches ``keys`` plus, transitively, every switch they require."""
    enabled: dict[str, bool] = {}
    pending = list(keys)
    while pending:
        key = pending.pop()
        if key in enabled:
            continue
        enabled[key] = True
        pending.extend(FEATURES_BY_KEY[key].requires)
    return enabled


def raw_config(features: dict[str, Any] | None = None, **settings: Any) -> dict[str, str]:
    """A minimal valid config (builds off, so no build context is needed), plus ``settings``."""
    values: dict[str, Any] = {"dataType": "Time-Series", "tag": "v1.0", "dockerHubUser": "explain",
                              "build": {"enabled": False}, "features": features or {}}
    values.update(settings)
    return {f"explain:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in values.items()}


def run(raw: dict[str, str], stack: str = "test", secret_keys=()) -> Evaluation:
    return evaluate(raw, stack, secret_keys)


def objects(evaluation: Evaluation, kind: str) -> list[dict[str, Any]]:
    """Inputs of every Kubernetes object of ``kind`` the program registered."""
    return [resource.inputs for resource in evaluation.resources
            if resource.type.startswith("kubernetes:") and resource.type.endswith(f":{kind}")]


def names(evaluation: Evaluation, kind: str) -> set[str]:
    return {document["metadata"]["name"] for document in objects(evaluation, kind)}
