"""The stack config: parsed once into typed, immutable models, validated before anything deploys.

Every key lives under the ``explain:`` namespace. The YAML is camelCase; the Python is snake_case.
Defaults live here and only here.
"""

from __future__ import annotations

import copy
import shlex
import difflib
import hashlib
import math
import json
import re
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Mapping, Optional

import pydantic
from pydantic.alias_generators import to_camel

from . import catalog
from .errors import ConfigError, ConfigIssue, config_rm, config_set
from .features import FEATURES_BY_KEY, ConfigBool, Features, check_feature_rules, snake_case
from .sources import GitSource, is_git_url

NAMESPACE = "explain"
PROJECT_NAME = "explain-mlops"
"""Pulumi's name of this project: a config key given without a namespace lands in it."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRET_KEYS: dict[str, str] = {
    "minioRootPassword": "MinIO root password, at least 8 characters (generated when not set)",
    "jupyterToken": "JupyterLab access token, at least 8 characters (generated when not set)",
    "mlflowAdminPassword": "password of MLflow's admin user `explain-admin`, at least 12 characters "
                           "(generated when not set)",
    "registryPassword": "password or access token to push built images to the registry",
}
"""Top-level keys that must be set with ``pulumi config set --secret``; never part of the models."""
SECRET_REFUSED: dict[str, tuple[str, ...]] = {"mlflowAdminPassword": ("password1234",)}
"""Values a service refuses outright: MLflow, the default password its older releases shipped."""
SECRET_MIN_LENGTH: dict[str, int] = {"minioRootPassword": 8, "jupyterToken": 8, "mlflowAdminPassword": 12,
                                     "registryPassword": 1}
"""Shortest value of each secret: what MinIO (8) and MLflow (12) refuse below, and no guessable token."""


@dataclass(frozen=True)
class Format:
    """A string format of the config: its pattern, what it is in words, and an example for a fix."""

    pattern: str
    description: str
    example: str


_NAME = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
_HOST = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
QUANTITY = Format(r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$",
                  "a Kubernetes quantity such as 500m, 2, 512Mi or 10Gi", "<quantity>")
IMAGE_TAG = Format(f"^{_TAG}$", "an image tag: letters, digits, `_`, `.` and `-`, at most 128", "v1.0")
REGISTRY_PATH = Format(f"^{_NAME}(/{_NAME})*$", "a registry namespace such as `myteam` or `group/team`",
                       "<your-registry-user>")
REGISTRY_HOST = Format(f"^{_HOST}(/{_NAME})*$",
                       "a registry host, with an optional port and path, and no scheme or trailing slash",
                       "<registry host>")
IMAGE_REF = Format(f"^({_HOST}/)?{_NAME}(/{_NAME})*(:{_TAG})?(@sha256:[a-f0-9]{{64}})?$",
                   "an image reference such as `registry.example.com/team/mlflow:2.19`", "<image reference>")
DNS_LABEL = Format(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$",
                   "a DNS label: lower-case letters, digits and `-`, at most 63", "<name>")
DNS_SUBDOMAIN = Format(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                       "a DNS subdomain: lower-case letters, digits, `-` and `.`", "<name>")
CHART_VERSION = Format(r"^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$",
                       "an exact chart version (pinned, no range)", "5.4.0")
PLATFORM = Format(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$", "an OS/architecture such as linux/amd64", "linux/amd64")
CHART_NAME = Format(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "a chart name: lower-case letters, digits and `-`", "minio")
CHART_REPOSITORY = Format(r"^(https?|oci)://[^\s/]+(/\S*)?$", "a chart repository URL (https://, http:// or oci://)",
                          "https://charts.min.io/")
EXTERNAL_HOST = Format(r"^(\*\.)?[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:([0-9]+|\*))?$",
                       "a host name or IP address, optionally `*.` in front and `:<port>` or `:*` after",
                       "<host name>:*")
FORMATS = {fmt.pattern: fmt for fmt in (QUANTITY, IMAGE_TAG, REGISTRY_PATH, REGISTRY_HOST, IMAGE_REF, DNS_LABEL,
                                         DNS_SUBDOMAIN, CHART_VERSION, PLATFORM, CHART_NAME, CHART_REPOSITORY,
                                         EXTERNAL_HOST)}


def _number_as_text(value: Any) -> Any:
    """``pulumi config set --path … 2`` stores a number: a quantity may be one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _text(fmt: Format, max_length: Optional[int] = None) -> Any:
    return Annotated[str, pydantic.StringConstraints(strict=True, pattern=fmt.pattern, max_length=max_length)]


Quantity = Annotated[_text(QUANTITY), pydantic.BeforeValidator(_number_as_text)]
ImageTag = _text(IMAGE_TAG)
RegistryUser = _text(REGISTRY_PATH)
RegistryHost = _text(REGISTRY_HOST)
ImageRef = _text(IMAGE_REF)
DnsLabel = _text(DNS_LABEL)
DnsSubdomain = _text(DNS_SUBDOMAIN, max_length=253)
ChartVersion = _text(CHART_VERSION)
Platform = _text(PLATFORM)
ChartName = _text(CHART_NAME)
ChartRepository = _text(CHART_REPOSITORY)
ExternalHost = _text(EXTERNAL_HOST)
NonEmptyText = Annotated[str, pydantic.StringConstraints(strict=True, min_length=1)]

_QUANTITY_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
                      "m": Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
                      "E": 10**18}


def quantity_value(quantity: str) -> Decimal:
    """The number a Kubernetes quantity stands for (``500m`` → 0.5, ``1Gi`` → 1073741824)."""
    for suffix, factor in _QUANTITY_SUFFIXES.items():  # two-letter suffixes first
        if quantity.endswith(suffix):
            return Decimal(quantity[: -len(suffix)] or "0") * factor
    try:
        return Decimal(quantity)
    except InvalidOperation:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}") from None


class ConfigModel(pydantic.BaseModel):
    """Base of every config model: camelCase keys only (no snake_case twins), unknown keys refused, immutable."""

    model_config = pydantic.ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel
    )


class ResourceAmounts(ConfigModel):
    cpu: Optional[Quantity] = pydantic.Field(None, description="Kubernetes quantity (default: per service)")
    memory: Optional[Quantity] = pydantic.Field(None, description="Kubernetes quantity (default: per service)")


class Resources(ConfigModel):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


class BuildSettings(ConfigModel):
    enabled: Optional[ConfigBool] = pydantic.Field(None, description="build this image (default: `build.enabled`)")
    context: Optional[NonEmptyText] = pydantic.Field(None, description="build context: a folder or a git URL")
    image: Optional[ImageRef] = pydantic.Field(
        None, description="a prebuilt image reference to deploy instead (implies no build)"
    )


class ServiceSettings(ConfigModel):
    resources: Resources = Resources()
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = pydantic.Field(
        "ClusterIP", description="exposure outside the cluster is opt-in")
    storage_size: Optional[Quantity] = pydantic.Field(None, description="size of the data volume (default: per service)")
    build: BuildSettings = BuildSettings()
    command: Optional[tuple[Annotated[NonEmptyText, pydantic.BeforeValidator(_number_as_text)], ...]] = pydantic.Field(
        None, min_length=1, description="container command override (the simulator's entrypoint, for instance)"
    )
    external_hosts: Optional[tuple[ExternalHost, ...]] = pydantic.Field(
        None, description="MLflow only: host names (`name`, `name:port`, `name:*`) clients outside the cluster "
                          "call it by, through an Ingress, a node port or a load balancer; it answers only names "
                          "it knows. Required when `serviceType` exposes it")


class Services(ConfigModel):
    minio: ServiceSettings = ServiceSettings()
    mlflow: ServiceSettings = ServiceSettings()
    jupyter: ServiceSettings = ServiceSettings()
    monitoring: ServiceSettings = ServiceSettings()
    data_streaming: ServiceSettings = ServiceSettings()

    def of(self, service_id: str) -> ServiceSettings:
        return getattr(self, snake_case(service_id))


class RegistrySettings(ConfigModel):
    server: RegistryHost = pydantic.Field("docker.io", description="registry that built images are pushed to")
    mirror: Optional[RegistryHost] = pydantic.Field(
        None, description="air-gapped clusters: pull every third-party image from this registry instead"
    )
    username: Optional[NonEmptyText] = pydantic.Field(
        None, description="user that logs in to push built images, with `registryPassword` (default: `dockerHubUser`)")
    pull_secret: Optional[DnsSubdomain] = pydantic.Field(
        None, description="private registries: an existing `kubernetes.io/dockerconfigjson` Secret of the namespace "
                          "that every pod pulls its image with")


class BuildDefaults(ConfigModel):
    enabled: ConfigBool = pydantic.Field(True, description="build and push images (off: deploy existing tags)")
    platform: Platform = pydantic.Field("linux/amd64", description="OS/architecture of built images")


class StorageSettings(ConfigModel):
    class_name: Optional[DnsSubdomain] = pydantic.Field(None, description="StorageClass of data volumes (default: the cluster's)")


class MinioChart(ConfigModel):
    """The official MinIO chart, pinned; a local copy serves clusters that cannot reach the repository."""

    repository: ChartRepository = pydantic.Field("https://charts.min.io/", description="Helm chart repository")
    chart: ChartName = "minio"
    version: ChartVersion = pydantic.Field("5.4.0", description="pinned chart version")
    path: Optional[NonEmptyText] = pydantic.Field(
        None, description="a local chart folder or .tgz (relative to the project) used instead of the repository")


class Charts(ConfigModel):
    minio: MinioChart = MinioChart()


class StackConfig(ConfigModel):
    """The whole ``explain:`` namespace of one stack."""

    data_type: Literal["Time-Series", "Image", "Other"] = pydantic.Field(
        description="picks the simulator variant, the images' libraries and the pipeline code")
    tag: ImageTag = pydantic.Field(
        description="tag of every image the platform builds")
    docker_hub_user: Optional[RegistryUser] = pydantic.Field(
        None, description="registry namespace of built images; required when any image is built or derived")
    features: Features = Features()
    namespace: DnsLabel = pydantic.Field(
        description="namespace of the whole platform", json_schema_extra={"default_text": "`explain-<stack>`"})
    create_namespace: ConfigBool = pydantic.Field(
        True, description="create the namespace (kept on destroy, with the data volumes in it)")
    registry: RegistrySettings = RegistrySettings()
    build: BuildDefaults = BuildDefaults()
    storage: StorageSettings = StorageSettings()
    services: Services = Services()
    charts: Charts = Charts()

    def is_enabled(self, service: catalog.ServiceSpec) -> bool:
        return service.feature is None or self.features.enabled(service.feature)

    @property
    def enabled_services(self) -> tuple[catalog.ServiceSpec, ...]:
        return tuple(service for service in catalog.SERVICES if self.is_enabled(service))

    def settings(self, service: catalog.ServiceSpec) -> ServiceSettings:
        return self.services.of(service.id)

    def builds(self, service: catalog.ServiceSpec) -> bool:
        """Whether ``pulumi up`` builds and pushes this service's image."""
        settings = self.settings(service)
        if not service.is_built or settings.build.image:
            return False
        return settings.build.enabled if settings.build.enabled is not None else self.build.enabled

    def build_context(self, service: catalog.ServiceSpec) -> Optional[str]:
        override = self.settings(service).build.context
        if override:
            return override
        if service is catalog.DATA_STREAMING:
            return catalog.SIMULATOR_SOURCES.get(self.data_type)
        return service.build_context

    def simulator_command(self) -> tuple[str, ...]:
        """The simulator image's command: from config, else the one of the data type's built-in tool."""
        settings = self.settings(catalog.DATA_STREAMING)
        # A clone of the built-in tool (the fix for a source that cannot be fetched) starts the same way.
        return settings.command or catalog.SIMULATOR_COMMANDS.get(self.data_type, catalog.DEFAULT_SIMULATOR_COMMAND)

    def resources(self, service: catalog.ServiceSpec) -> catalog.ResourceDefaults:
        """Requests and limits of the service's container: config where given, else the service's defaults."""
        given, defaults = self.settings(service).resources, service.resources
        memory_request = given.requests.memory or defaults.memory_request
        memory_limit = given.limits.memory or defaults.memory_limit
        if service is catalog.MINIO:
            # memorySize (MB) is the seed's knob for MinIO's memory request; the limit leaves it headroom.
            memory_request = f"{self.features.memory_size}Mi"
            memory_limit = given.limits.memory or f"{max(2 * self.features.memory_size, 1024)}Mi"
        return catalog.ResourceDefaults(
            cpu_request=given.requests.cpu or defaults.cpu_request, memory_request=memory_request,
            cpu_limit=given.limits.cpu or defaults.cpu_limit, memory_limit=memory_limit)


# --------------------------------------------------------------------------------------------------
# Loading


def load_stack_config(raw: Mapping[str, Any], stack: str, secure_keys: frozenset[str] = frozenset()) -> StackConfig:
    """Parse and validate the stack's config; raise ConfigError listing every problem.

    ``raw`` maps full keys (``explain:tag``) to values as Pulumi stores them: strings, with objects
    as JSON text, or already-parsed values from a stack YAML file. ``secure_keys`` are the full keys
    whose value is a Pulumi secret. Keys of other namespaces are not ours and are skipped, unless they
    look like a misspelt ``explain:`` or landed in the project's namespace.
    """
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    allowed = _top_level_keys()
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            issues += _foreign_key(full_key, namespace, key)
            continue
        if key in SECRET_KEYS:
            if full_key not in secure_keys:
                issues.append(ConfigIssue(full_key, f"`{key}` is a secret and must be stored encrypted",
                                          f"pulumi config set --secret {shlex.quote(full_key)} <value>"))
            elif str(value) in SECRET_REFUSED.get(key, ()):
                issues.append(ConfigIssue(full_key, f"`{key}` is a well-known default the service refuses",
                                          f"pulumi config set --secret {full_key} <another value>   "
                                          f"(or, to have one generated: pulumi config rm {full_key})"))
            elif len(str(value)) < SECRET_MIN_LENGTH.get(key, 0):
                issues.append(ConfigIssue(
                    full_key, f"`{key}` is shorter than {SECRET_MIN_LENGTH[key]} characters",
                    f"pulumi config set --secret {full_key} <at least {SECRET_MIN_LENGTH[key]} characters>   "
                    f"(or, to have one generated: pulumi config rm {full_key})"))
            continue
        if "." in key and key.split(".")[0] in allowed:
            # `pulumi config set` without --path stores a dotted key as one literal top-level key.
            issues.append(ConfigIssue(
                full_key, f"`{key}` is a literal top-level key (set without `--path`), not a nested one",
                f"{config_rm(full_key, path=False)}, then pulumi config set --path '{full_key}' <value>"))
            continue
        if key not in allowed:
            issues.append(_unknown_key((key,), sorted(allowed | set(SECRET_KEYS))))
            continue
        if full_key in secure_keys:
            # Encrypted, it could not be checked offline nor read in a preview; it protects nothing.
            fix = (f"set again without --secret each value under it that was set with --secret: "
                   f"pulumi config set --path '{full_key}.<key>' <value>" if _model_at((key,)) is not None
                   else f"pulumi config set {full_key} <value>   (without --secret)")
            issues.append(ConfigIssue(full_key, f"`{key}` is not a secret, but is stored encrypted", fix))
            continue
        decoded = _without_nulls(_decode(value))
        # Pulumi hands "" for a key with nothing after it (and says it will hand null): not set.
        if decoded is not None and decoded != "":
            values[key] = decoded
    values.setdefault("namespace", default_namespace(stack))

    try:
        config = StackConfig.model_validate(values)
    except pydantic.ValidationError as error:
        # A key refused above (stored encrypted, say) is not also reported as missing.
        parse_issues = [issue for issue in _translate(error, stack) if issue.key not in {i.key for i in issues}]
        # Check the rest too, with what the refused values meant or without them, so that every problem
        # is reported at once; a value left out is not reported a second time (as missing, say).
        parsable, left_out = _parsable_part(values, error, stack)
        later = [issue for issue in _checks(parsable, stack) if issue.key not in left_out] if parsable else []
        raise ConfigError(issues + parse_issues + later) from None
    issues += _checks(config, stack)
    if issues:
        raise ConfigError(issues)
    return config


def _checks(config: StackConfig, stack: str) -> list[ConfigIssue]:
    """The rules of a config that parses: the feature model's, the services' and the namespace's."""
    ui_issues = _simulator_ui(config)
    # A UI of the other data type's simulator: turning it off is the fix, not turning on what it requires.
    feature_issues = [issue for issue in check_feature_rules(config.features)
                      if issue.key not in {ui_issue.key for ui_issue in ui_issues}]
    return feature_issues + ui_issues + _check_services(config) + _check_namespace(config, stack)


def _is_on_disk(path: Path, test: Callable[[Path], bool] = Path.exists) -> bool:
    """``test(path)``, such as ``Path.is_dir``; false for a path the file system cannot even look up."""
    try:
        return test(path)
    except OSError:  # a name too long for the file system, say
        return False


_NOTHING = object()
"""What ``_meant`` returns when a value's meaning cannot be told."""
_TRUE_WORDS, _FALSE_WORDS = ("true", "yes", "y", "on", "1"), ("false", "no", "n", "off", "0")


def _meant(detail: Mapping[str, Any]) -> Any:
    """The valid value a refused one most likely meant: `"no"` → false, `"4096"` → 4096, `image` → `Image`,
    a number out of range → its bound; ``_NOTHING`` when it cannot be told."""
    kind, given = detail["type"], detail.get("input")
    if kind == "literal_error":
        return _closest_choice(given, re.findall(r"'([^']*)'", detail["ctx"]["expected"]))
    if kind in ("string_pattern_mismatch", "string_type"):
        return _text_meant(_format_at(_location(detail)), given)
    if kind.startswith("bool"):
        word = str(given).strip().lower()
        return True if word in _TRUE_WORDS else False if word in _FALSE_WORDS else _NOTHING
    if kind.startswith("int"):
        try:
            number = Decimal(str(given).strip())
        except InvalidOperation:
            # `4Gi` for a size in MB (memorySize): the same amount in MB.
            amount = _quantity_meant(given)
            return math.ceil(quantity_value(amount) / 2**20) if amount is not _NOTHING else _NOTHING
        return int(number) if number == number.to_integral_value() else _NOTHING
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return next(iter(detail["ctx"].values()))
    return _NOTHING


_STAND_INS = {"dataType": "Time-Series", "tag": "v0"}
"""Valid values for required keys whose meaning cannot be told, so that the rest can still be checked."""


def _stand_in(loc: tuple[Any, ...], detail: Mapping[str, Any], stack: str) -> Any:
    """A valid value in place of a refused one for the second pass: what it meant, else one that keeps a
    feature parameter set (so its requirement is still checked), else ``_NOTHING`` (drop it)."""
    meant = _meant(detail)
    if meant is not _NOTHING:
        return meant
    if loc == ("namespace",):
        return default_namespace(stack)
    if len(loc) == 1 and loc[0] in _STAND_INS:
        return _STAND_INS[loc[0]]
    spec = FEATURES_BY_KEY.get(loc[1]) if len(loc) == 2 and loc[0] == "features" else None
    if spec is not None and not spec.is_switch:
        choices = spec.choices or (spec.minimum, spec.maximum)
        return next(choice for choice in choices if choice != spec.default)
    return _NOTHING


def _parsable_part(values: Mapping[str, Any], error: pydantic.ValidationError,
                   stack: str) -> tuple[Optional[StackConfig], set[str]]:
    """``values`` with a stand-in for every value that failed to parse, or without it, as a config (None if it
    still does not parse), and the keys of the values left out."""
    pruned = copy.deepcopy(dict(values))
    left_out: set[str] = set()
    for detail in error.errors():
        loc = _location(detail)
        if not loc:
            continue
        container: Any = pruned
        for part in loc[:-1]:
            try:
                container = container[part]
            except (KeyError, IndexError, TypeError):
                container = None
                break
        stand_in = _stand_in(loc, detail, stack)
        if stand_in is _NOTHING:
            left_out.add(_config_key(loc))
        if isinstance(container, dict):
            if stand_in is _NOTHING:
                container.pop(loc[-1], None)
            else:
                container[loc[-1]] = stand_in
        elif isinstance(container, list) and isinstance(loc[-1], int) and loc[-1] < len(container):
            # In place, or None, removed below: the other items stay where they are.
            container[loc[-1]] = None if stand_in is _NOTHING else stand_in
    try:
        return StackConfig.model_validate(_without_nulls(pruned)), left_out
    except pydantic.ValidationError:
        return None, left_out


def default_namespace(stack: str) -> str:
    """``explain-<stack>``, so that two stacks on one cluster never share a namespace.

    A stack name that is not already a DNS label is cleaned up and gets a short digest of the real
    name, so that ``My_Stack`` and ``my-stack`` still get namespaces of their own.
    """
    cleaned = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")
    name = f"{NAMESPACE}-{cleaned}".rstrip("-")
    if cleaned == stack and len(name) <= 63:
        return name
    digest = hashlib.sha256(stack.encode()).hexdigest()[:6]
    return f"{name[:56].rstrip('-')}-{digest}"


RESERVED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def _check_namespace(config: StackConfig, stack: str) -> list[ConfigIssue]:
    reserved = config.namespace in RESERVED_NAMESPACES or config.namespace.startswith("kube-")
    if not (config.create_namespace and reserved):
        return []
    key = f"{NAMESPACE}:namespace"
    return [ConfigIssue(
        key, f"`{config.namespace}` is a namespace of the cluster itself: the platform would take it over, "
             f"label it Pod Security \"restricted\" and keep it",
        f"{config_set(key, default_namespace(stack))}   (or, to deploy into it as it is: "
        f"{config_set(NAMESPACE + ':createNamespace', False)})")]


def _foreign_key(full_key: str, namespace: str, key: str) -> list[ConfigIssue]:
    """A key of another namespace that was meant to be ours."""
    ours = f"{NAMESPACE}:{key}"
    set_ours = (f"pulumi config set --secret {ours} <value>" if key in SECRET_KEYS
                else f"set `{ours}` instead")
    if namespace == PROJECT_NAME:
        return [ConfigIssue(full_key, f"a key without a namespace lands in the project's (`{PROJECT_NAME}:`); "
                                      f"this program reads only `{NAMESPACE}:` keys",
                            f"{config_rm(full_key, path=False)}, then {set_ours}")]
    if difflib.get_close_matches(namespace, [NAMESPACE], n=1, cutoff=0.7):
        return [ConfigIssue(full_key, f"unknown namespace `{namespace}:`; did you mean `{NAMESPACE}:`?",
                            f"{config_rm(full_key, path=False)}, then {set_ours}")]
    return []


def _top_level_keys() -> set[str]:
    return {field.alias or name for name, field in StackConfig.model_fields.items()}


def _decode(value: Any) -> Any:
    """Pulumi hands structured config to the program as JSON text."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
    return value


def _without_nulls(value: Any) -> Any:
    """A key whose value is null (all of it commented out in YAML, say) is not set, at any level."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


def _unknown_key(loc: tuple[Any, ...], valid: list[str]) -> ConfigIssue:
    """``loc`` is the unknown key's path under ``explain:``; ``valid`` the keys its parent takes."""
    full_key, leaf = _config_key(loc), str(loc[-1])
    close = difflib.get_close_matches(leaf, valid, n=1, cutoff=0.6)
    suggestion = _config_key((*loc[:-1], close[0])) if close else None
    rule = f"unknown key `{leaf}`" + (f"; did you mean `{close[0]}`?" if close else "")
    rule += f" (valid keys here: {', '.join(valid)})"
    fix = config_rm(full_key)
    if suggestion and close[0] in SECRET_KEYS and len(loc) == 1:
        fix += f", then pulumi config set --secret {suggestion} <value>"
    elif suggestion:
        fix += f", then set `{suggestion}` instead"
    return ConfigIssue(full_key, rule, fix)


def _model_at(loc: tuple[Any, ...]) -> Optional[type[pydantic.BaseModel]]:
    """The model class that holds the field at ``loc`` (aliases), for suggesting valid keys."""
    model: Any = StackConfig
    for part in loc:
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        field = fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = [annotation, *getattr(annotation, "__args__", ())]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, pydantic.BaseModel)), None)
        if model is None:
            return None
    return model


def _fields_of(model: Optional[type[pydantic.BaseModel]]) -> list[str]:
    return sorted(f.alias or n for n, f in model.model_fields.items()) if model else []


def _closest_choice(given: Any, allowed: list[str]) -> Any:
    """The allowed value the user most likely meant: same letters (any case, `-` or `_`), else the closest;
    ``_NOTHING`` when none is close."""
    def letters(text: str) -> str:
        return re.sub(r"[-_ ]", "", text).lower()

    same = [choice for choice in allowed if letters(choice) == letters(str(given))]
    close = difflib.get_close_matches(str(given), allowed, n=1, cutoff=0.6)
    return (same or close or [_NOTHING])[0]


_UNITS = {"kib": "Ki", "mib": "Mi", "gib": "Gi", "tib": "Ti", "kb": "k", "mb": "M", "gb": "G", "tb": "T",
          "millicores": "m", "millicore": "m", "cores": "", "core": "", "cpus": "", "cpu": ""}
"""Units people write for sizes and CPUs, as Kubernetes writes them."""


def _quantity_meant(given: Any) -> Any:
    """`10GB` → `10G`, `2 Gi` → `2Gi`, `1 core` → `1`; ``_NOTHING`` when it is no amount."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", str(given))
    if not match:
        return _NOTHING
    number, unit = match.groups()
    unit = _UNITS.get(unit.lower(), unit)
    return f"{number}{unit}" if re.match(QUANTITY.pattern, f"{number}{unit}") else _NOTHING


def _text_meant(fmt: Optional[Format], given: Any) -> Any:
    """A malformed text the user most likely meant, where the form allows a guess: a quantity in other
    units, a tag or a name with characters replaced by `-`; ``_NOTHING`` otherwise."""
    if fmt is QUANTITY:
        return _quantity_meant(given)
    if fmt in (IMAGE_TAG, DNS_LABEL) and isinstance(given, str):
        cleaned = re.sub(r"[^a-z0-9-]+" if fmt is DNS_LABEL else r"[^A-Za-z0-9_.-]+", "-",
                         given.lower() if fmt is DNS_LABEL else given).strip("-")
        return cleaned if cleaned and re.match(fmt.pattern, cleaned) else _NOTHING
    return _NOTHING


def _translate(error: pydantic.ValidationError, stack: str) -> list[ConfigIssue]:
    issues = []
    details = error.errors()
    for detail in details:
        loc = _location(detail)
        if any(len(_location(other)) > len(loc) and _location(other)[:len(loc)] == loc for other in details):
            continue  # a list too short because an item of it failed: the item says it
        key = _config_key(loc)
        kind = detail["type"]
        given = detail.get("input")
        leaf = str(loc[-1]) if loc else ""
        if kind == "extra_forbidden":
            issues.append(_unknown_key(loc, _fields_of(_model_at(loc[:-1]))))
        elif kind == "missing":
            example = {"dataType": "Time-Series", "tag": "v1.0"}.get(leaf, "<value>")
            issues.append(ConfigIssue(key, f"`{leaf}` is required", config_set(key, example)))
        elif kind == "literal_error":
            allowed = re.findall(r"'([^']*)'", detail["ctx"]["expected"])
            meant = _meant(detail)
            issues.append(ConfigIssue(key, f"{given!r} is not allowed; must be one of {', '.join(allowed)}",
                                      config_set(key, meant if meant is not _NOTHING else f"<{'|'.join(allowed)}>")))
        elif kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
            issues.append(ConfigIssue(key, f"{given!r} is out of range: {detail['msg'].lower()}",
                                      config_set(key, _meant(detail))))
        elif kind in ("string_pattern_mismatch", "string_type"):
            fmt = _format_at(loc)
            what = f"must be {fmt.description}" if fmt else "must be text"
            meant = _meant(detail)
            example = (meant if meant is not _NOTHING else default_namespace(stack) if loc == ("namespace",)
                       else fmt.example if fmt else "<text>")
            problem = "is malformed" if kind == "string_pattern_mismatch" else "is not text"
            issues.append(ConfigIssue(key, f"{given!r} {problem}: {what}", config_set(key, example)))
        elif kind.startswith("bool"):
            meant = _meant(detail)
            # `config set` over a value of another type keeps that type ("yes" stays text): remove it first.
            issues.append(ConfigIssue(key, f"{given!r} is not a boolean (true or false)",
                                      f"{config_rm(key)}, then {config_set(key, 'true|false' if meant is _NOTHING else meant)}"))
        elif kind.startswith("int"):
            spec = FEATURES_BY_KEY.get(leaf) if loc[:1] == ("features",) else None
            span = f" from {spec.minimum} to {spec.maximum}" if spec and spec.minimum is not None else ""
            meant = _meant(detail)
            example = meant if meant is not _NOTHING else spec.default if spec else "<number>"
            issues.append(ConfigIssue(key, f"{given!r} is not a whole number{span}",
                                      f"{config_rm(key)}, then {config_set(key, example)}"))
        elif kind in ("too_short", "string_too_short"):
            issues.append(ConfigIssue(key, f"{given!r} is empty", f"{config_rm(key)}   (or set it to a value)"))
        elif kind in ("model_type", "model_attributes_type", "dict_type"):
            fields = _fields_of(_model_at(loc))
            issues.append(ConfigIssue(
                key, f"must be an object (keys: {', '.join(fields)}), got {given!r}",
                f"{config_rm(key)}, then pulumi config set --path '{key}.{fields[0] if fields else '<key>'}' <value>"))
        elif kind in ("tuple_type", "list_type"):
            issues.append(ConfigIssue(key, f"must be a list of strings, got {given!r}",
                                      f"{config_rm(key)}, then pulumi config set --path '{key}[0]' <first item>"))
        else:
            issues.append(ConfigIssue(
                key, f"{detail['msg']} (got {given!r} of type {type(given).__name__})",
                config_set(key, "<value of the right type>")))
    return issues


def _location(detail: Mapping[str, Any]) -> tuple[Any, ...]:
    # Pydantic appends the type of constrained and validated values to the location; drop it.
    return tuple(part for part in detail["loc"] if not str(part).startswith(("constrained-", "function-")))


def _config_key(loc: tuple[Any, ...]) -> str:
    """``("services", "mlflow", "command", 1)`` → ``explain:services.mlflow.command[1]``, as `--path` takes it."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path and (not str(part) or any(char in str(part) for char in '.[] "')):
            path += f'["{part}"]'  # a key with a dot (or bracket, space) in it, inside an object: `--path` takes it so
        else:
            path += f".{part}" if path else str(part)
    return f"{NAMESPACE}:{path}"


def _format_at(loc: tuple[Any, ...]) -> Optional[Format]:
    """The string format the field at ``loc`` follows, if it has one."""
    names = [part for part in loc if not isinstance(part, int)]
    model = _model_at(tuple(names[:-1]))
    field = next((field for name, field in (model.model_fields.items() if model and names else ())
                  if (field.alias or name) == names[-1]), None)
    pending = [field.annotation, *field.metadata] if field else []
    while pending:
        item = pending.pop()
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and pattern in FORMATS:
            return FORMATS[pattern]
        pending += [*typing.get_args(item), *getattr(item, "__metadata__", ())]
    return None


def _check_services(config: StackConfig) -> list[ConfigIssue]:
    issues = []
    user_key = f"{NAMESPACE}:dockerHubUser"
    needs_user = [
        service.id for service in config.enabled_services
        if service.is_built and not config.settings(service).build.image
    ]
    if needs_user and not config.docker_hub_user:
        building = [sid for sid in needs_user if config.builds(catalog.SERVICES_BY_ID[sid])]
        why = "builds and pushes" if building else "deploys"
        issues.append(ConfigIssue(
            user_key,
            f"required: the stack {why} images named `<registry>/<dockerHubUser>/<service>:<tag>` "
            f"(services: {', '.join(needs_user)})",
            config_set(user_key, "<your-registry-user>"),
        ))
    for service in catalog.SERVICES:
        issues += _settings_without_effect(config, service)
    for service in config.enabled_services:
        issues += _requests_within_limits(config, service)
        prefix = f"{NAMESPACE}:services.{service.id}.build"
        if not config.builds(service):
            continue
        context = config.build_context(service)
        if context is None:
            issues.append(ConfigIssue(
                f"{prefix}.context",
                f"dataType `{config.data_type}` has no built-in {service.title.lower()}; "
                f"give its source or a prebuilt image",
                f"{config_set(prefix + '.context', '<folder or git URL>')}   "
                f"(or: {config_set(prefix + '.image', '<image reference>')})",
            ))
        elif is_git_url(context):
            try:
                GitSource.parse(context)
            except ValueError as error:
                issues.append(ConfigIssue(
                    f"{prefix}.context", f"`{context}` is malformed: {error}",
                    config_set(prefix + ".context", "https://<host>/<repository>.git#<ref>:<folder>")))
        elif not _is_on_disk(PROJECT_ROOT / context, Path.is_dir):
            issues.append(ConfigIssue(
                f"{prefix}.context",
                f"build context folder `{context}` does not exist (relative to {PROJECT_ROOT})",
                f"clone the tool's source into `{context}`, or "
                f"{config_set(prefix + '.context', '<git URL>')}, or {config_set(prefix + '.enabled', False)}",
            ))
    chart_path = config.charts.minio.path
    if config.is_enabled(catalog.MINIO) and chart_path and not _is_on_disk(PROJECT_ROOT / chart_path):
        key = f"{NAMESPACE}:charts.minio.path"
        issues.append(ConfigIssue(key, f"chart `{chart_path}` does not exist (relative to {PROJECT_ROOT})",
                                  f"{config_set(key, '<chart folder or .tgz>')}   (or, to use the repository: "
                                  f"{config_rm(key)})"))
    return issues


def _settings_without_effect(config: StackConfig, service: catalog.ServiceSpec) -> list[ConfigIssue]:
    """Settings a service cannot honour: refused rather than silently ignored."""
    settings = config.settings(service)
    prefix = f"{NAMESPACE}:services.{service.id}"
    issues = []
    if not service.is_built:
        reason = "is installed from its Helm chart, not built (its images follow `registry.mirror`)"
        for name in ("build", "command"):
            if name in settings.model_fields_set:
                issues.append(ConfigIssue(f"{prefix}.{name}", f"`{service.id}` {reason}",
                                          config_rm(f"{prefix}.{name}")))
    if service.storage_size is None and settings.storage_size:
        issues.append(ConfigIssue(f"{prefix}.storageSize", f"`{service.id}` keeps no data, so it has no volume",
                                  config_rm(f"{prefix}.storageSize")))
    if service is catalog.MINIO and settings.resources.requests.memory:
        memory_key = f"{NAMESPACE}:features.memorySize"
        request_key = f"{prefix}.resources.requests.memory"
        megabytes = math.ceil(quantity_value(settings.resources.requests.memory) / 2**20)
        spec = FEATURES_BY_KEY["memorySize"]
        fix = config_rm(request_key)
        if config.is_enabled(service):
            fix += f", then {config_set(memory_key, min(max(megabytes, spec.minimum), spec.maximum))}"
        issues.append(ConfigIssue(request_key, f"MinIO's memory request is `{memory_key}` (in MB), the seed's setting",
                                  fix))
    if settings.external_hosts and service is not catalog.MLFLOW:
        issues.append(ConfigIssue(f"{prefix}.externalHosts", "only MLflow checks the host names it is called by",
                                  config_rm(f"{prefix}.externalHosts")))
    if service is catalog.MLFLOW and settings.command:
        issues.append(ConfigIssue(
            f"{prefix}.command", "MLflow's entrypoint is its login (tools/mlflow/serve.py): another command would "
                                 "start it without authentication", config_rm(f"{prefix}.command")))
    if service is catalog.MLFLOW and settings.service_type != "ClusterIP" and not settings.external_hosts:
        issues.append(ConfigIssue(
            f"{prefix}.externalHosts",
            f"MLflow exposed as {settings.service_type} answers only host names it knows (its guard against DNS "
            f"rebinding): name those clients outside the cluster use",
            f"{config_set(prefix + '.externalHosts[0]', 'mlflow.example.com:*')}   (a node's or load balancer's "
            f"address, with `:*` for any port)"))
    if settings.build.image and ({"enabled", "context"} & settings.build.model_fields_set):
        given = sorted({"enabled", "context"} & settings.build.model_fields_set)
        issues.append(ConfigIssue(
            f"{prefix}.build.image", f"a prebuilt image is deployed as it is, so `build.{given[0]}` would be ignored",
            "; ".join(config_rm(f"{prefix}.build.{name}") for name in given)
            + f"   (or, to build: {config_rm(prefix + '.build.image')})"))
    return issues


SIMULATOR_UI_FEATURES = {"Time-Series": "timeSeriesLiveDataUi", "Image": "imageLiveDataUi"}
"""The UI switch of each data type's simulator."""


def _simulator_ui(config: StackConfig) -> list[ConfigIssue]:
    """A simulator UI switched on for another data type's simulator would have no effect."""
    issues = []
    for data_type, feature in SIMULATOR_UI_FEATURES.items():
        if config.features.enabled(feature) and config.data_type != data_type:
            key = FEATURES_BY_KEY[feature].config_key
            # Changing the data type is a way out only when the other UI is not on too.
            others_on = any(config.features.enabled(other) for other in SIMULATOR_UI_FEATURES.values()
                            if other != feature)
            alternative = "" if others_on else f"   (or: {config_set(NAMESPACE + ':dataType', data_type)})"
            issues.append(ConfigIssue(
                key, f"`{feature}` is the UI of the {data_type} simulator, but `dataType` is `{config.data_type}`",
                f"{config_set(key, False)}{alternative}"))
    return issues


MIN_MEMORY = "4Mi"
"""Less memory than this starts no container."""


def _amount_problem(resource: str, kind: str, given: str) -> Optional[str]:
    """What makes ``given`` no usable amount of CPU or memory, if anything."""
    value = quantity_value(given)
    if resource == "cpu" and given.endswith(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei")):
        return "is a size, not CPU: give cores or millicores, such as 2 or 500m"
    if kind == "limits" and value <= 0:
        return "is no amount: a limit must be more than 0"
    if resource == "memory" and value < quantity_value(MIN_MEMORY):
        return f"is less than {MIN_MEMORY}, with which no container starts (`m` is a thousandth of a byte)"
    return None


def _requests_within_limits(config: StackConfig, service: catalog.ServiceSpec) -> list[ConfigIssue]:
    """Amounts the schema takes but that cannot work: a request above its limit, CPU given as a size,
    a limit or a volume of nothing, memory no container starts with."""
    sizes = config.resources(service)
    settings = config.settings(service)
    issues = []
    prefix = f"{NAMESPACE}:services.{service.id}"
    defaults = service.resources
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            given = getattr(getattr(settings.resources, kind), resource)
            if given is None:
                continue
            key = f"{prefix}.resources.{kind}.{resource}"
            problem = _amount_problem(resource, kind, given)
            if problem:
                # A limit no lower than the request, so that the fix does not lead to another problem.
                fallback = getattr(defaults, f"{resource}_{kind[:-1]}")
                request = getattr(sizes, f"{resource}_request")
                example = request if kind == "limits" and quantity_value(request) > quantity_value(fallback) \
                    else fallback
                issues.append(ConfigIssue(key, f"{given!r} {problem}",
                                          f"{config_set(key, example)}   (or, for the default: {config_rm(key)})"))
    if service.storage_size and settings.storage_size and quantity_value(settings.storage_size) <= 0:
        key = f"{prefix}.storageSize"  # a stateless service's size is refused as such, elsewhere
        issues.append(ConfigIssue(key, f"{settings.storage_size!r} is no size: it must be more than 0",
                                  f"{config_set(key, service.storage_size)}   (or, for the default: {config_rm(key)})"))
    if issues:
        return issues
    for resource in ("cpu", "memory"):
        request, limit = getattr(sizes, f"{resource}_request"), getattr(sizes, f"{resource}_limit")
        if quantity_value(request) <= quantity_value(limit):
            continue
        key = f"{NAMESPACE}:services.{service.id}.resources.limits.{resource}"
        request_key = (f"{NAMESPACE}:features.memorySize" if service is catalog.MINIO and resource == "memory"
                       else f"{NAMESPACE}:services.{service.id}.resources.requests.{resource}")
        issues.append(ConfigIssue(
            key, f"the {resource} request of `{service.id}` ({request}) is above its limit ({limit})",
            f"{config_set(key, request)}   (or lower `{request_key}`)"))
    return issues

