"""Evaluate the very program ``pulumi up`` runs, without a cluster or the Pulumi CLI.

Pulumi's mock runtime stands in for the engine: every resource registration is recorded as the
engine would receive it (type, name, parent, inputs), which is what ``validate`` and ``render``
show and check.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import set_root_resource

from .config import PROJECT_NAME

PROJECT = PROJECT_NAME
SECRET_SHOWN_AS = "[secret]"
UNKNOWN_SHOWN_AS = "[unknown]"
DOCKERFILES = "dockerfiles"
"""Folder of ``render``'s output that holds the rendered Dockerfiles, next to plan.json."""
RENDERED = ("plan.json", "manifests", DOCKERFILES)
"""Everything ``render`` writes into its output folder."""
KUBERNETES_VERSION = "1.33.0"
"""Kubernetes version whose official schemas every rendered object is validated against."""

# How the engine's wire format marks a secret and a not-yet-known value.
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


@dataclass(frozen=True)
class PlannedResource:
    type: str
    name: str
    parent: Optional[str]
    """Type token of the parent resource (``pulumi:pulumi:Stack`` at top level)."""
    custom: bool
    inputs: dict[str, Any]
    """Inputs as the engine receives them, with secrets shown as ``[secret]``."""
    retain_on_delete: bool = False

    def as_plan_entry(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs}


@dataclass
class Evaluation:
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    _scratch: Optional[tempfile.TemporaryDirectory] = field(default=None, repr=False, compare=False)

    def scratch_build_dir(self) -> Path:
        """A fresh temporary folder for Dockerfiles nobody asked to keep, removed with this evaluation
        (so that the paths in its Image inputs stay readable as long as it is)."""
        self._scratch = tempfile.TemporaryDirectory(prefix="explain-build-")
        return Path(self._scratch.name)

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [resource for resource in self.resources if resource.type == type_token]


class EchoMocks(pulumi.runtime.Mocks):
    """Each resource's state is its inputs, as a provider that accepts them would report."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        state = dict(args.inputs)
        if args.typ == "docker:index/image:Image":
            state["repoDigest"] = _UNKNOWN  # known only once the image is pushed, as in a preview
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.planned: list[PlannedResource] = []

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            parent = request.parent.split("::")[2].split("$")[-1] if request.parent else None
            self.planned.append(PlannedResource(
                type=request.type,
                name=request.name,
                parent=parent,
                custom=request.custom,
                inputs=_shown(json_format.MessageToDict(request.object, preserving_proto_field_name=True)),
                retain_on_delete=request.retainOnDelete,
            ))
        return super().RegisterResource(request)


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG_KEY) == _SECRET_SIG:
            return _masked(value.get("value"))
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    if value == _UNKNOWN:
        return UNKNOWN_SHOWN_AS
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles; Kubernetes fields are integers
    return value


def _masked(value: Any) -> Any:
    """A secret keeps its shape (the keys of a Secret's data are not secret); every value is hidden."""
    if isinstance(value, dict) and value.get(_SIG_KEY) != _SECRET_SIG:
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return SECRET_SHOWN_AS


def evaluate(raw_config: dict[str, Any], stack: str, secret_keys: Iterable[str] = (),
             into: Optional[Evaluation] = None, build_dir: Optional[Path] = None,
             fetch_sources: bool = False, mocks: Optional[pulumi.runtime.Mocks] = None) -> Evaluation:
    """Run the program under mocks with ``raw_config`` (full keys → Pulumi's string values).

    ``into`` receives what was registered even when the program fails (tests check it is nothing).
    Dockerfiles of built images are written into ``build_dir``, by default a temporary folder that
    lives as long as the evaluation: never into the project's ``.build``, which ``pulumi up`` uses.
    Git build contexts are not fetched unless ``fetch_sources``: an image's context is then the folder
    ``pulumi up`` exports them to.
    """
    from .program import main  # the program registers resources on import of its components

    mocks = mocks or EchoMocks()
    monitor = _RecordingMonitor(mocks)
    set_root_resource(None)  # every evaluation gets a fresh root stack
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in raw_config.items()},
        list(secret_keys),
    )
    evaluation = into if into is not None else Evaluation()
    monitor.planned = evaluation.resources
    if build_dir is None:
        build_dir = evaluation.scratch_build_dir()

    @pulumi.runtime.test
    def program():
        platform = main(build_dir, fetch_sources)
        return pulumi.Output.all(
            namespace=platform.namespace, services=platform.endpoints, images=platform.images
        ).apply(evaluation.outputs.update)

    program()
    return evaluation


# --------------------------------------------------------------------------------------------------
# Render


def manifests(evaluation: Evaluation) -> list[tuple[str, dict[str, Any]]]:
    """(file name, document) per Kubernetes object, and per Helm release its chart and values."""
    documents = []
    for resource in evaluation.resources:
        if not resource.custom or not resource.type.startswith("kubernetes:"):
            continue
        inputs = resource.inputs
        if resource.type == "kubernetes:helm.sh/v3:Release":
            document = {
                "kind": "HelmRelease",
                "name": inputs.get("name"),
                "namespace": inputs.get("namespace"),
                "chart": inputs.get("chart"),
                "version": inputs.get("version"),
                "repository": (inputs.get("repositoryOpts") or {}).get("repo"),
                "values": inputs.get("values", {}),
            }
            documents.append((f"helm-release-{document['namespace']}-{document['name']}.yaml", document))
            continue
        document = {key: value for key, value in inputs.items() if not key.startswith("__")}
        metadata = document.get("metadata", {})
        file_name = f"{document['kind'].lower()}-{metadata.get('namespace', 'cluster')}-{metadata['name']}.yaml"
        documents.append((file_name, document))
    return documents


def schema_errors(document: dict[str, Any], version: str = KUBERNETES_VERSION) -> list[str]:
    """Strict validation against the official schema; an unknown kind is an error, not a warning."""
    import kubernetes_validate

    if document.get("kind") == "HelmRelease":
        return []
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return [f"{document['kind']}/{document['metadata']['name']}: {path}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [f"{document.get('kind')} {document.get('apiVersion')}: no schema in Kubernetes {version}: {error}"]
    return []


RENDER_MARK = ".explain-render"
"""A file ``render`` leaves in its output folder: what is beside it there was written by a render."""


class ForeignOutputError(Exception):
    """The output folder holds files of the names render writes, but render did not write them."""


def clear_rendered(out_dir: Path) -> None:
    """Remove what an earlier render wrote into ``out_dir``, so that a failing one leaves nothing stale.

    Only a folder a render wrote is cleared: files of those names that are someone else's are refused.
    """
    present = [name for name in RENDERED if (out_dir / name).exists() or (out_dir / name).is_symlink()]
    if present and not (out_dir / RENDER_MARK).is_file():
        raise ForeignOutputError(
            f"{out_dir} holds {', '.join(present)}, which render did not write (no {RENDER_MARK} there); "
            f"render would replace them: give an empty folder, or one a render wrote")
    for name in present:
        _remove(out_dir / name)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


_LEADING_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace")
"""Keys a manifest begins with, as people write them; every other key follows in alphabetical order."""


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        order = sorted(value, key=lambda key: (_LEADING_KEYS.index(key) if key in _LEADING_KEYS
                                               else len(_LEADING_KEYS), key))
        return {key: _canonical(value[key]) for key in order}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def render(evaluation: Evaluation, out_dir: Path) -> list[str]:
    """Write ``plan.json`` and ``manifests/``; return the schema errors (empty when all pass)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / RENDER_MARK).write_text("Written by `python -m explain_infra render`; it replaces plan.json, "
                                       "manifests/ and dockerfiles/ here.\n")
    # In a fixed order, so that two renders of one config are the same files: registration order varies.
    plan = sorted((resource.as_plan_entry() for resource in evaluation.resources),
                  key=lambda entry: (entry["type"], entry["name"]))
    (out_dir / "plan.json").write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    manifest_dir = out_dir / "manifests"
    _remove(manifest_dir)  # objects of an earlier render that this one no longer has
    manifest_dir.mkdir()
    errors = []
    for file_name, document in manifests(evaluation):
        (manifest_dir / file_name).write_text(yaml.safe_dump(_canonical(document), sort_keys=False))
        errors += schema_errors(document)
    return errors
