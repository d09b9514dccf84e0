"""``Pulumi.<stack>.yaml`` read the way the Pulumi CLI reads it, so that offline checks see what the program
sees under ``pulumi preview``.

Pulumi reads the file with Go's YAML 1.2 library and hands each value to the program as text: a scalar
as JSON would write it, an object or a list as JSON. So `yes` is text, `010` is 8, `1.0` is `1`, a
date is Go's rendering of a time, and an empty value is the empty string. A key given twice is an error.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, Optional

import yaml

from .config import PROJECT_NAME, PROJECT_ROOT

ENCRYPTED_SHOWN_AS = "<encrypted, not readable offline>"
"""What an encrypted value reads as offline; long enough for every length rule of secrets."""

_SHAPE = ("a stack file is a mapping whose `config:` is a mapping of `explain:<key>: <value>` entries, "
          "as `pulumi config set` writes them")
_KINDS = {list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}


class StackFileError(Exception):
    """``Pulumi.<stack>.yaml`` is not a stack config at all; the message names the file and the fix."""


def load_stack_file(stack: str, root: Optional[Path] = None) -> tuple[dict[str, str], frozenset[str]]:
    """The config of ``Pulumi.<stack>.yaml`` as the engine hands it to the program: full key → text.

    The file is looked up in ``root``, else the current directory, else the project root. A value that
    is encrypted, or holds an encrypted part, is a secret: it cannot be read offline and reads as
    ``ENCRYPTED_SHOWN_AS``. Raises StackFileError when the file is not valid YAML or not a stack config.
    """
    path = _stack_file(stack, root)
    raw: dict[str, str] = {}
    secure: set[str] = set()
    # The project's own `config:` (Pulumi.yaml), then the stack's, which wins.
    entries = {**_project_config(path.parent / "Pulumi.yaml"), **_config_section(path)}
    for key, value in entries.items():
        full_key = _full_key(key)
        if _is_encrypted(value):
            secure.add(full_key)
            raw[full_key] = ENCRYPTED_SHOWN_AS
        else:
            raw[full_key] = config_text(value)
    return raw, frozenset(secure)


def config_text(value: Any) -> str:
    """The text Pulumi hands the program for a value of the stack file."""
    if value is None:
        return ""  # Pulumi: "currently treated as an empty string"
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return _go_time(value)
    return _json(value)


def _json(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, dt.datetime):
        return json.dumps(_go_time(value))
    if isinstance(value, dict):
        items = sorted((_go_key(key), item) for key, item in value.items())  # Go writes a map's keys in order
        return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{_json(item)}" for key, item in items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(item) for item in value) + "]"
    if value is None:
        return "null"
    return json.dumps(value, ensure_ascii=False)


def _go_float(number: float) -> str:
    """As Go's encoding/json writes a float64: fixed notation, exponent below 1e-6 and from 1e21 on."""
    if number == 0:
        return "0"
    if math.isinf(number) or math.isnan(number):
        raise ValueError("infinite or NaN")  # Pulumi refuses the file: caught by the reader
    if 1e-6 <= abs(number) < 1e21:
        return format(Decimal(repr(number)).normalize(), "f")
    mantissa, _, exponent = repr(number).partition("e")
    return f"{mantissa.removesuffix('.0')}e{exponent[0]}{exponent[1:].lstrip('0')}"


def _go_time(moment: dt.datetime) -> str:
    """Go's ``time.Time.String()``: ``2024-01-15 10:20:30.5 +0000 UTC``."""
    text = f"{moment.year:04d}-{moment:%m-%d %H:%M:%S}"
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    offset = moment.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    zone = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{text} {zone} {'UTC' if minutes == 0 else zone}"


def _go_key(key: Any) -> str:
    return key if isinstance(key, str) else config_text(key)


def _full_key(key: Any) -> str:
    text = _go_key(key)
    namespace, _, name = text.partition(":")
    if name.startswith("config:"):
        return f"{namespace}:{name.removeprefix('config:')}"  # Pulumi's legacy `<namespace>:config:<key>`
    # Pulumi puts a key given without a namespace into the project's.
    return text if name else f"{PROJECT_NAME}:{text}"


def _is_encrypted(value: Any) -> bool:
    if isinstance(value, dict):
        return (set(value) == {"secure"} and isinstance(value["secure"], str)) or any(
            _is_encrypted(item) for item in value.values())
    if isinstance(value, list):
        return any(_is_encrypted(item) for item in value)
    return False


def _stack_file(stack: str, root: Optional[Path]) -> Path:
    candidates = [root] if root else [Path.cwd(), PROJECT_ROOT]
    path = next((folder / f"Pulumi.{stack}.yaml" for folder in candidates
                 if (folder / f"Pulumi.{stack}.yaml").is_file()), None)
    if path is None:
        raise FileNotFoundError(f"no stack config Pulumi.{stack}.yaml in {' or '.join(map(str, candidates))}: "
                                f"create it with `pulumi stack init {stack}`")
    return path


# --------------------------------------------------------------------------------------------------
# YAML as Go's YAML 1.2 library resolves plain scalars

_INT_TAG, _FLOAT_TAG, _TIME_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"
_GO_INT = re.compile(r"^[-+]?(0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|0[0-7_]*|[1-9][0-9_]*)$")
_GO_FLOAT = re.compile(r"^[-+]?(\.[0-9_]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9_]+)?$"
                       r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$")
_GO_TIME = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
                      r"([Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?(Z|[-+][0-9]{2}:[0-9]{2})"
                      r"| [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(\.[0-9]+)?)?$")


class GoYamlLoader(yaml.SafeLoader):
    """Booleans are only true/false, integers as Go parses them (`010` is octal), timestamps in Go's four
    forms; a key given twice, or a key that is not a scalar, is an error."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)  # `<<: *anchor` first, as the base class does
        seen: dict[str, yaml.Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, "a key must be text", key_node.start_mark)
            text = _go_key(key)
            if text in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"key {text!r} is given twice (first at line {seen[text].start_mark.line + 1})", key_node.start_mark)
            seen[text] = key_node
        return super().construct_mapping(node, deep=deep)

    def construct_go_int(self, node: yaml.ScalarNode) -> int | float | str:
        plain = self.construct_scalar(node)
        text = plain.replace("_", "")
        sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
        try:
            if digits[:2].lower() in ("0b", "0o", "0x"):
                number = sign * int(digits, 0)
            else:
                number = sign * int(digits, 8 if len(digits) > 1 and digits[0] == "0" else 10)
        except ValueError:
            return plain  # `0x_`: Go reads no number in it either
        if -2**63 <= number < 2**64:
            return number
        # Beyond 64 bits Go parses a decimal as a float, and keeps any other form as text.
        return float(number) if digits[:2].lower() not in ("0b", "0o", "0x") else plain

    def construct_go_float(self, node: yaml.ScalarNode) -> float:
        return float(self.construct_scalar(node).replace("_", "").replace(".inf", "inf").replace(".Inf", "inf")
                     .replace(".INF", "inf").replace(".nan", "nan").replace(".NaN", "nan").replace(".NAN", "nan"))

    def construct_go_time(self, node: yaml.ScalarNode) -> dt.datetime | str:
        try:
            return self._go_time(self.construct_scalar(node))
        except ValueError:
            return self.construct_scalar(node)  # `2024-02-30`: no date to Go either, so text

    @staticmethod
    def _go_time(plain: str) -> dt.datetime:
        text = plain.replace("t", "T").replace("Z", "+00:00")
        date, _, clock = text.replace(" ", "T").partition("T")
        year, month, day = (int(part) for part in date.split("-"))
        if not clock:
            return dt.datetime(year, month, day, tzinfo=dt.timezone.utc)
        zone = re.search(r"[-+][0-9]{2}:[0-9]{2}$", clock)
        offset = dt.timezone.utc
        if zone:
            hours, minutes = int(zone.group()[1:3]), int(zone.group()[4:6])
            sign = -1 if zone.group()[0] == "-" else 1
            offset = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
            clock = clock[: zone.start()]
        hms, _, fraction = clock.partition(".")
        hour, minute, second = (int(part) for part in hms.split(":"))
        return dt.datetime(year, month, day, hour, minute, second, int((fraction + "000000")[:6] or 0), offset)


GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:bool", _INT_TAG, _FLOAT_TAG, _TIME_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))
GoYamlLoader.add_implicit_resolver(_INT_TAG, _GO_INT, list("-+0123456789"))
GoYamlLoader.add_implicit_resolver(_FLOAT_TAG, _GO_FLOAT, list("-+0123456789."))
GoYamlLoader.add_implicit_resolver(_TIME_TAG, _GO_TIME, list("0123456789"))
GoYamlLoader.add_constructor(_INT_TAG, GoYamlLoader.construct_go_int)
GoYamlLoader.add_constructor(_FLOAT_TAG, GoYamlLoader.construct_go_float)
GoYamlLoader.add_constructor(_TIME_TAG, GoYamlLoader.construct_go_time)


def _project_config(path: Path) -> dict[str, Any]:
    """Values the project file sets for every stack: `<key>: {value: …}`, or a key of the project's own
    namespace with a `default`."""
    if not path.is_file():
        return {}
    config = _document(path).get("config") or {}
    entries = {}
    for key, entry in config.items() if isinstance(config, dict) else ():
        if isinstance(entry, dict) and ("value" in entry or "default" in entry):
            entries[key] = entry.get("value", entry.get("default"))
        elif not isinstance(entry, dict):
            entries[key] = entry
    return entries


def _document(path: Path) -> Any:
    """The first YAML document of ``path`` (Pulumi reads no further), as Go's YAML 1.2 library reads it."""
    try:
        with path.open("rb") as stream:  # bytes: PyYAML reports a wrong encoding as a YAMLError
            return next(yaml.load_all(stream, Loader=GoYamlLoader), None) or {}
    except OSError as error:
        raise StackFileError(f"{path} cannot be read ({error.strerror}): check its permissions") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path} is not valid YAML{_at(getattr(error, 'problem_mark', None))}: "
                             f"{_yaml_problem(error)}. Fix the syntax there; {_SHAPE}") from None
    except (TypeError, ValueError, KeyError, RecursionError) as error:
        # A tag or a depth this reader does not take; Pulumi may: say so rather than fail with a trace.
        raise StackFileError(f"{path} holds YAML that cannot be read offline ({type(error).__name__}: {error}); "
                             f"write the value plainly, or check it with `pulumi preview`") from None


def _config_section(path: Path) -> dict[Any, Any]:
    document = _document(path)
    if document == {}:
        return {}  # an empty file: a stack without config
    if not isinstance(document, dict):
        raise StackFileError(f"{path}: the top level is {_kind(document)}, not a mapping. Rewrite the file: {_SHAPE}")
    config = document.get("config")
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: `config:` is {_kind(config)}, not a mapping. "
                             f"Write one `explain:<key>: <value>` entry per setting under it: {_SHAPE}")
    for key, value in config.items():
        try:
            config_text(value)
        except ValueError as error:
            raise StackFileError(f"{path}: the value of `{_full_key(key)}` is {error}, which Pulumi cannot read. "
                                 f"Quote it, or give a number") from None
    return config


def _at(mark: Optional[yaml.Mark]) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _yaml_problem(error: yaml.YAMLError) -> str:
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    if context:
        # Where the unclosed bracket or quote began, when the problem is found only at the end.
        problem += f" ({context}{_at(getattr(error, 'context_mark', None))})"
    return " ".join(problem.split())  # one paragraph: PyYAML's own text spans lines


def _kind(value: Any) -> str:
    return _KINDS.get(type(value), f"a {type(value).__name__}")
