"""The Pulumi program: read the stack config once, build the platform, export what users need."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime.config as runtime_config

from components.platform import Platform, PlatformArgs, PlatformSecrets

from .config import NAMESPACE, PROJECT_ROOT, StackConfig, load_stack_config
from .errors import ConfigError

BUILD_DIR = PROJECT_ROOT / ".build"
"""Where ``pulumi up`` writes rendered Dockerfiles for the builder (git-ignored)."""


def raw_stack_config() -> tuple[dict[str, Any], frozenset[str]]:
    """Every key the engine passed to the program, and which of them are secrets.

    All namespaces, not only ``explain:``: the validator skips those of providers but reports keys
    that were meant for this program (a misspelt ``explain:``, or no namespace at all).
    """
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secure = frozenset(key for key in raw if runtime_config.is_config_secret(key))
    return raw, secure


def read_secrets() -> PlatformSecrets:
    """The secret keys of ``SECRET_KEYS``, as Pulumi secret outputs (None when not set)."""
    config = pulumi.Config(NAMESPACE)
    return PlatformSecrets(
        minio_root_password=config.get_secret("minioRootPassword"),
        jupyter_token=config.get_secret("jupyterToken"),
        mlflow_admin_password=config.get_secret("mlflowAdminPassword"),
        registry_password=config.get_secret("registryPassword"),
    )


def main(build_dir: Path = BUILD_DIR, fetch_sources: bool = True) -> Platform:
    """The whole program. ``build_dir`` is where Dockerfiles are rendered and git build contexts fetched;
    offline runs keep their own and fetch nothing (``fetch_sources``)."""
    raw, secure = raw_stack_config()
    try:
        config: StackConfig = load_stack_config(raw, pulumi.get_stack(), secure)
    except ConfigError as error:
        # RunError: the engine prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(error)) from None
    platform = Platform("explain", PlatformArgs(config=config, secrets=read_secrets(), build_dir=build_dir,
                                                 fetch_sources=fetch_sources))
    pulumi.export("namespace", platform.namespace)
    pulumi.export("services", platform.endpoints)
    pulumi.export("images", platform.images)
    pulumi.export("features", config.features.as_config())
    return platform
