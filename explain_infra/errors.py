"""Config errors that name the key, the rule it breaks and the command that fixes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


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
    rendered = _cli_value(value)
    if "." in key.partition(":")[2]:
        return f"pulumi config set --path '{key}' {rendered}"
    return f"pulumi config set {key} {rendered}"


def config_rm(key: str) -> str:
    if "." in key.partition(":")[2]:
        return f"pulumi config rm --path '{key}'"
    return f"pulumi config rm {key}"


def _cli_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return text if text.replace("-", "").replace("_", "").replace(".", "").isalnum() else f"'{text}'"
