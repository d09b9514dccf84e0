"""Config errors that name the key, the rule it breaks and the command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
import shlex
from typing import Iterable, Optional


@dataclass(frozen=True)
class ConfigIssue:
    """One broken rule of the stack config."""

    key: str
    """Full config key, e.g. ``explain:features.automl``."""
    rule: str
    """What is wrong, in one sentence."""
    fix: str
    """A command (usually ``pulumi config set …``) or an instruction that fixes it."""

    def __str__(self) -> str:
        return f"{self.key}: {self.rule}\n    fix: {self.fix}"


class ConfigError(Exception):
    """Raised before any resource is registered when the stack config is invalid."""

    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        count = len(self.issues)
        header = f"invalid stack config ({count} problem{'s' if count != 1 else ''}); nothing was deployed"
        super().__init__("\n".join([header, *(f"  - {issue}" for issue in self.issues)]))


def config_set(key: str, value: object) -> str:
    """The ``pulumi config set`` command that sets ``key`` (``explain:a.b``) to ``value``."""
    return f"pulumi config set {_key_argument(key, is_path(key))} {_cli_value(value)}"


def config_rm(key: str, path: Optional[bool] = None) -> str:
    """The ``pulumi config rm`` command for ``key``; ``path=False`` for a literal top-level key with a dot
    in its name (set without ``--path``), which ``--path`` would not find."""
    return f"pulumi config rm {_key_argument(key, is_path(key) if path is None else path)}"


def is_path(key: str) -> bool:
    """Whether ``key`` names a value inside an object or list (``explain:a.b``, ``explain:a[0]``)."""
    name = key.partition(":")[2]
    return "." in name or "[" in name


def _key_argument(key: str, path: bool) -> str:
    # Quoted for the shell: a path always (its `[` would glob), any other key where it needs it.
    if path:
        return f"--path '{key}'" if "'" not in key else f"--path {shlex.quote(key)}"
    return shlex.quote(key)


def _cli_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text.replace("-", "").replace("_", "").replace(".", "").isalnum() else shlex.quote(text)
