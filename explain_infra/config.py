"""The stack config: parsed once into typed, immutable models, validated before anything deploys.

Every key lives under the ``explain:`` namespace. The YAML is camelCase; the Python is snake_case.
Defaults live here and only here.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, Literal, Mapping, Optional

import pydantic
from pydantic.alias_generators import to_camel

from . import catalog
from .errors import ConfigError, ConfigIssue, config_rm, config_set
from .features import Features, check_feature_rules, snake_case

NAMESPACE = "explain"
PROJECT_ROOT = Path(__file__).resolve().parent.parent

SECRET_KEYS: dict[str, str] = {
    "minioRootPassword": "MinIO root password (generated when not set)",
    "jupyterToken": "JupyterLab access token (generated when not set)",
    "registryPassword": "password or access token to push built images to the registry",
}
"""Top-level keys that must be set with ``pulumi config set --secret``; never part of the models."""

_QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
_DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"

Quantity = pydantic.constr(strict=True, pattern=_QUANTITY)
ImageTag = pydantic.constr(strict=True, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
RegistryUser = pydantic.constr(strict=True, pattern=r"^[a-z0-9]+([._-][a-z0-9]+)*$")
DnsLabel = pydantic.constr(strict=True, pattern=_DNS_LABEL)


class ConfigModel(pydantic.BaseModel):
    """Base of every config model: camelCase keys, unknown keys refused, immutable."""

    model_config = pydantic.ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )


class ResourceAmounts(ConfigModel):
    cpu: Optional[Quantity] = pydantic.Field(None, description="Kubernetes quantity (default: per service)")
    memory: Optional[Quantity] = pydantic.Field(None, description="Kubernetes quantity (default: per service)")


class Resources(ConfigModel):
    requests: ResourceAmounts = ResourceAmounts()
    limits: ResourceAmounts = ResourceAmounts()


class BuildSettings(ConfigModel):
    enabled: Optional[bool] = pydantic.Field(None, description="build this image (default: `build.enabled`)")
    context: Optional[str] = pydantic.Field(None, description="build context: a folder or a git URL")
    image: Optional[str] = pydantic.Field(
        None, description="a prebuilt image reference to deploy instead (implies no build)"
    )


class ServiceSettings(ConfigModel):
    resources: Resources = Resources()
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = pydantic.Field(
        "ClusterIP", description="exposure outside the cluster is opt-in")
    storage_size: Optional[Quantity] = pydantic.Field(None, description="size of the data volume (default: per service)")
    build: BuildSettings = BuildSettings()
    command: Optional[tuple[str, ...]] = pydantic.Field(
        None, description="container command override (the simulator's entrypoint, for instance)"
    )


class Services(ConfigModel):
    minio: ServiceSettings = ServiceSettings()
    mlflow: ServiceSettings = ServiceSettings()
    jupyter: ServiceSettings = ServiceSettings()
    monitoring: ServiceSettings = ServiceSettings()
    data_streaming: ServiceSettings = ServiceSettings()

    def of(self, service_id: str) -> ServiceSettings:
        return getattr(self, snake_case(service_id))


class RegistrySettings(ConfigModel):
    server: str = pydantic.Field("docker.io", description="registry that built images are pushed to")
    mirror: Optional[str] = pydantic.Field(
        None, description="air-gapped clusters: pull every third-party image from this registry instead"
    )


class BuildDefaults(ConfigModel):
    enabled: bool = pydantic.Field(True, description="build and push images (off: deploy existing tags)")
    platform: str = "linux/amd64"


class StorageSettings(ConfigModel):
    class_name: Optional[str] = pydantic.Field(None, description="StorageClass of data volumes (default: the cluster's)")


class MinioChart(ConfigModel):
    """The official MinIO chart, pinned; a local copy serves clusters that cannot reach the repository."""

    repository: str = pydantic.Field("https://charts.min.io/", description="Helm chart repository")
    chart: str = "minio"
    version: str = pydantic.Field("5.4.0", description="pinned chart version")
    path: Optional[str] = pydantic.Field(
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
    create_namespace: bool = pydantic.Field(
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


# --------------------------------------------------------------------------------------------------
# Loading


def load_stack_config(raw: Mapping[str, Any], stack: str, secure_keys: frozenset[str] = frozenset()) -> StackConfig:
    """Parse and validate the stack's config; raise ConfigError listing every problem.

    ``raw`` maps full keys (``explain:tag``) to values as Pulumi stores them: strings, with objects
    as JSON text, or already-parsed values from a stack YAML file. ``secure_keys`` are the full keys
    whose value is a Pulumi secret.
    """
    issues: list[ConfigIssue] = []
    values: dict[str, Any] = {}
    allowed = _top_level_keys()
    for full_key, value in raw.items():
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        if key in SECRET_KEYS:
            if full_key not in secure_keys:
                issues.append(ConfigIssue(full_key, f"`{key}` is a secret and must be stored encrypted",
                                          f"pulumi config set --secret {full_key} <value>"))
            continue
        if key not in allowed:
            issues.append(_unknown_key(full_key, key, sorted(allowed | set(SECRET_KEYS))))
            continue
        values[key] = _decode(value)
    values.setdefault("namespace", default_namespace(stack))

    try:
        config = StackConfig.model_validate(values)
    except pydantic.ValidationError as error:
        raise ConfigError(issues + _translate(error)) from None
    issues += check_feature_rules(config.features) + _check_services(config)
    if issues:
        raise ConfigError(issues)
    return config


def default_namespace(stack: str) -> str:
    """``explain-<stack>``, so that two stacks on one cluster never share a namespace."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")
    return f"explain-{cleaned}"[:63].rstrip("-")


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


def _unknown_key(full_key: str, leaf: str, valid: list[str]) -> ConfigIssue:
    close = difflib.get_close_matches(leaf, valid, n=1, cutoff=0.6)
    parent = full_key[: -len(leaf)]
    suggestion = f"{parent}{close[0]}" if close else None
    rule = f"unknown key `{leaf}`" + (f"; did you mean `{close[0]}`?" if close else "")
    rule += f" (valid keys here: {', '.join(valid)})"
    fix = config_rm(full_key)
    if suggestion:
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


def _translate(error: pydantic.ValidationError) -> list[ConfigIssue]:
    issues = []
    for detail in error.errors():
        loc = tuple(str(part) for part in detail["loc"])
        # Pydantic appends the constraint's type to the location of constrained types; drop it.
        loc = tuple(part for part in loc if not part.startswith(("constrained-", "function-")))
        key = f"{NAMESPACE}:{'.'.join(loc)}" if loc else f"{NAMESPACE}:"
        kind = detail["type"]
        given = detail.get("input")
        if kind == "extra_forbidden":
            model = _model_at(loc[:-1])
            valid = sorted(f.alias or n for n, f in model.model_fields.items()) if model else []
            issues.append(_unknown_key(key, loc[-1], valid))
        elif kind == "missing":
            example = {"dataType": "Time-Series", "tag": "v1.0"}.get(loc[-1], "<value>")
            issues.append(ConfigIssue(key, f"`{loc[-1]}` is required", config_set(key, example)))
        elif kind == "literal_error":
            allowed = detail["ctx"]["expected"]
            first = allowed.split(",")[0].strip().strip("'")
            issues.append(ConfigIssue(key, f"{given!r} is not allowed; must be one of {allowed}",
                                      config_set(key, first)))
        elif kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
            bound = next(iter(detail["ctx"].values()))
            issues.append(ConfigIssue(key, f"{given!r} is out of range: {detail['msg'].lower()}",
                                      config_set(key, bound)))
        elif kind == "string_pattern_mismatch":
            issues.append(ConfigIssue(key, f"{given!r} is malformed: must match {detail['ctx']['pattern']}",
                                      config_set(key, "<value>")))
        elif kind.startswith("bool"):
            issues.append(ConfigIssue(key, f"{given!r} is not a boolean", config_set(key, True)))
        else:
            issues.append(ConfigIssue(
                key, f"{detail['msg']} (got {given!r} of type {type(given).__name__})",
                config_set(key, "<value of the right type>")
                + ("; for an object use `--path` or `pulumi config set --json`" if "dict" in kind or "model" in kind else ""),
            ))
    return issues


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
    for service in config.enabled_services:
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
        elif not is_remote_context(context) and not (PROJECT_ROOT / context).is_dir():
            issues.append(ConfigIssue(
                f"{prefix}.context",
                f"build context folder `{context}` does not exist (relative to {PROJECT_ROOT})",
                f"clone the tool's source into `{context}`, or "
                f"{config_set(prefix + '.context', '<git URL>')}, or {config_set(prefix + '.enabled', False)}",
            ))
    return issues


def is_remote_context(context: str) -> bool:
    return context.startswith(("https://", "http://", "git://", "git@", "ssh://"))
