"""The Pulumi program: read the stack config once, build the platform, export what users need."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.runtime.config as runtime_config

from components.platform import Platform, PlatformArgs, PlatformSecrets

from .config import NAMESPACE, PROJECT_ROOT, StackConfig, load_stack_config
from .errors import ConfigError

BUILD_DIR = PROJECT_ROOT / ".build"


def raw_stack_config() -> tuple[dict[str, Any], frozenset[str]]:
    """Every ``explain:`` key the engine passed to the program, and which of them are secrets."""
    raw = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw = {key: value for key, value in raw.items() if key.startswith(f"{NAMESPACE}:")}
    secure = frozenset(key for key in raw if runtime_config.is_config_secret(key))
    return raw, secure


def read_secrets() -> PlatformSecrets:
    """The secret keys of ``SECRET_KEYS``, as Pulumi secret outputs (None when not set)."""
    config = pulumi.Config(NAMESPACE)
    return PlatformSecrets(
        minio_root_password=config.get_secret("minioRootPassword"),
        jupyter_token=config.get_secret("jupyterToken"),
        registry_password=config.get_secret("registryPassword"),
    )


def main() -> Platform:
    raw, secure = raw_stack_config()
    try:
        config: StackConfig = load_stack_config(raw, pulumi.get_stack(), secure)
    except ConfigError as error:
        # RunError: the engine prints the message alone, without a Python traceback.
        raise pulumi.RunError(str(error)) from None
    platform = Platform("explain", PlatformArgs(config=config, secrets=read_secrets(), build_dir=BUILD_DIR))
    pulumi.export("namespace", platform.namespace)
    pulumi.export("services", platform.endpoints)
    pulumi.export("images", platform.images)
    pulumi.export("features", config.features.as_config())
    return platform
