"""MinIO, installed from its official Helm chart, with credentials and data the platform owns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .secret import GeneratedSecret, GeneratedSecretArgs
from .workload import SECRET_REVISIONS_ANNOTATION, DataVolume, retained_claim


@dataclass(frozen=True)
class ChartRef:
    chart: str
    version: str
    repository: Optional[str] = None
    path: Optional[str] = None
    """A local chart folder or archive; takes the place of chart + repository."""


@dataclass(frozen=True)
class ObjectStoreArgs:
    namespace: pulumi.Input[str]
    chart: ChartRef
    values: Mapping[str, Any]
    """Chart values rendered from ``templates/helm/minio-values.yaml.j2``; no secret in them."""
    credentials_secret: str
    root_user: str
    root_password: Optional[pulumi.Output[str]]
    data: DataVolume
    postrender: Optional[str] = None
    """Executable that Helm pipes the rendered manifests through (the probes the chart lacks)."""
    labels: Mapping[str, str] = field(default_factory=dict)


class ObjectStore(pulumi.ComponentResource):
    """The S3-compatible data repository (seed: MinIO, API 9000, console 9001).

    The chart gets an ``existingSecret`` and an ``existingClaim``: uninstalling the release, or
    switching the feature off, leaves both the claim and its data in the cluster.
    """

    credentials_secret: pulumi.Output[str]
    credentials_revision: pulumi.Input[str]
    release_name: pulumi.Output[str]

    def __init__(self, name: str, args: ObjectStoreArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("explain:platform:ObjectStore", name, None, opts)
        credentials = GeneratedSecret(
            f"{name}-credentials",
            GeneratedSecretArgs(
                namespace=args.namespace,
                secret_name=args.credentials_secret,
                fixed={"rootUser": args.root_user},
                value_key="rootPassword",
                given_value=args.root_password,
                labels=args.labels,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        claim = retained_claim(f"{name}-data", args.namespace, args.data, args.labels, parent=self)
        if args.chart.path:
            chart, repository_opts = args.chart.path, None
        else:
            chart = args.chart.chart
            repository_opts = k8s.helm.v3.RepositoryOptsArgs(repo=args.chart.repository)
        release = k8s.helm.v3.Release(
            f"{name}-release",
            name="minio",
            namespace=args.namespace,
            chart=chart,
            version=args.chart.version,
            repository_opts=repository_opts,
            # The server reads the root credentials at start: it restarts when they change.
            values={**args.values, "podAnnotations": {SECRET_REVISIONS_ANNOTATION: pulumi.Output.concat(
                credentials.secret_name, "=", credentials.revision)}},
            postrender=args.postrender,
            atomic=False,
            create_namespace=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[credentials, claim]),
        )
        self.credentials_secret = credentials.secret_name
        self.credentials_revision = credentials.revision
        self.release_name = release.name
        self.register_outputs({"credentials_secret": self.credentials_secret,
                               "credentials_revision": self.credentials_revision, "release_name": self.release_name})
