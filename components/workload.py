"""A platform service as typed Kubernetes objects: Deployment, Service(s) and a retained data volume."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_kubernetes as k8s

from explain_infra.catalog import Port

# Pod Security "restricted": every container the platform defines runs like this.
RESTRICTED_CONTAINER = k8s.core.v1.SecurityContextArgs(
    run_as_non_root=True,
    allow_privilege_escalation=False,
    capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
    seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
)
NON_ROOT_UID = 10001


@dataclass(frozen=True)
class SecretEnv:
    """An environment variable read from a Secret (``secretKeyRef``), never a literal."""

    name: str
    secret_name: pulumi.Input[str]
    key: str
    secret_revision: pulumi.Input[str]
    """The Secret's revision (``GeneratedSecret.revision``): the pods restart when it changes, because a
    variable is read only when the container starts."""


SECRET_REVISIONS_ANNOTATION = "explain-mlops.io/secret-revisions"


@dataclass(frozen=True)
class DataVolume:
    claim_name: str
    size: str
    mount_path: str
    storage_class: Optional[str] = None


@dataclass(frozen=True)
class WorkloadServiceArgs:
    namespace: pulumi.Input[str]
    app: str
    """``app.kubernetes.io/name`` label and Deployment name."""
    image: pulumi.Input[str]
    ports: Sequence[Port]
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    service_type: str = "ClusterIP"
    command: Optional[Sequence[str]] = None
    args: Optional[Sequence[pulumi.Input[str]]] = None
    env: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secret_env: Sequence[SecretEnv] = ()
    probe_path: Optional[str] = None
    """HTTP path for readiness and liveness; None probes the TCP port."""
    data: Optional[DataVolume] = None
    labels: Mapping[str, str] = field(default_factory=dict)
    pull_secret: Optional[str] = None
    """An existing image pull Secret of the namespace, for a private registry."""


class WorkloadService(pulumi.ComponentResource):
    """One Deployment, the Services that expose its ports, and its PersistentVolumeClaim.

    The claim is retained on delete: switching the service off, ``pulumi destroy`` or a replacement
    of the workload never deletes data, and switching it on again adopts the same claim.
    """

    service_names: pulumi.Output[list[str]]
    deployment_name: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("explain:platform:WorkloadService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": args.app, **args.labels}
        selector = {"app.kubernetes.io/name": args.app, "app.kubernetes.io/instance": args.labels.get(
            "app.kubernetes.io/instance", args.app)}

        volumes, mounts = [], []
        if args.data is not None:
            retained_claim(f"{name}-data", args.namespace, args.data, labels, parent=self)
            # By name, not by output: the pod must not wait on the claim binding (WaitForFirstConsumer).
            volumes.append(k8s.core.v1.VolumeArgs(
                name="data",
                persistent_volume_claim=k8s.core.v1.PersistentVolumeClaimVolumeSourceArgs(
                    claim_name=args.data.claim_name),
            ))
            mounts.append(k8s.core.v1.VolumeMountArgs(name="data", mount_path=args.data.mount_path))

        env = [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in sorted(args.env.items())]
        env += [
            k8s.core.v1.EnvVarArgs(
                name=item.name,
                value_from=k8s.core.v1.EnvVarSourceArgs(
                    secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=item.secret_name, key=item.key)),
            )
            for item in args.secret_env
        ]
        # `name=revision` of every Secret the pod reads: a changed value changes the pod template, so the
        # pods roll and read it (Helm charts do the same with a checksum annotation).
        secret_revisions = pulumi.Output.all(*(
            pulumi.Output.concat(item.secret_name, "=", item.secret_revision) for item in args.secret_env
        )).apply(lambda pairs: ",".join(sorted(set(pairs))))
        main_port = args.ports[0]
        container = k8s.core.v1.ContainerArgs(
            name=args.app,
            image=args.image,
            command=list(args.command) if args.command else None,
            args=list(args.args) if args.args else None,
            ports=[k8s.core.v1.ContainerPortArgs(name=port.name, container_port=port.target_port)
                   for port in args.ports],
            env=env or None,
            resources=k8s.core.v1.ResourceRequirementsArgs(
                requests={"cpu": args.cpu_request, "memory": args.memory_request},
                limits={"cpu": args.cpu_limit, "memory": args.memory_limit},
            ),
            # Liveness starts only once the startup probe passed: a slow first start (MLflow migrating
            # its databases, a big image's imports) is not killed, a hung server later is.
            startup_probe=_probe(args.probe_path, main_port, period=5, failure_threshold=60),
            readiness_probe=_probe(args.probe_path, main_port, period=10, failure_threshold=3),
            liveness_probe=_probe(args.probe_path, main_port, period=10, failure_threshold=3),
            security_context=RESTRICTED_CONTAINER,
            volume_mounts=mounts or None,
        )
        deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.app, namespace=args.namespace, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=1,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                # A ReadWriteOnce volume cannot be mounted by the old and the new pod at once.
                strategy=k8s.apps.v1.DeploymentStrategyArgs(type="Recreate") if args.data else None,
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        labels=labels,
                        annotations={SECRET_REVISIONS_ANNOTATION: secret_revisions} if args.secret_env else None),
                    spec=k8s.core.v1.PodSpecArgs(
                        automount_service_account_token=False,
                        image_pull_secrets=[k8s.core.v1.LocalObjectReferenceArgs(name=args.pull_secret)]
                        if args.pull_secret else None,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True,
                            run_as_user=NON_ROOT_UID,
                            run_as_group=NON_ROOT_UID,
                            fs_group=NON_ROOT_UID,
                            seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault"),
                        ),
                        containers=[container],
                        volumes=volumes or None,
                    ),
                ),
            ),
            opts=child,
        )
        services = []
        for service_name in dict.fromkeys(port.service_name for port in args.ports):
            service_ports = [port for port in args.ports if port.service_name == service_name]
            services.append(k8s.core.v1.Service(
                f"{name}-{service_name}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=service_name, namespace=args.namespace, labels=labels),
                spec=k8s.core.v1.ServiceSpecArgs(
                    type=args.service_type,
                    selector=selector,
                    ports=[k8s.core.v1.ServicePortArgs(name=port.name, port=port.port, target_port=port.name,
                                                       protocol="TCP")
                           for port in service_ports],
                ),
                opts=child,
            ))
        self.deployment_name = deployment.metadata.name
        self.service_names = pulumi.Output.all(*(service.metadata.name for service in services))
        self.register_outputs({"deployment_name": self.deployment_name, "service_names": self.service_names})


def retained_claim(resource_name: str, namespace: pulumi.Input[str], data: DataVolume,
                   labels: Mapping[str, str], parent: pulumi.Resource) -> k8s.core.v1.PersistentVolumeClaim:
    """A data volume that outlives its workload: Pulumi never deletes it (``retain_on_delete``).

    Re-creating it later is an upsert (server-side apply), so the same claim and data come back.
    """
    return k8s.core.v1.PersistentVolumeClaim(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=data.claim_name, namespace=namespace, labels=dict(labels)),
        spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
            access_modes=["ReadWriteOnce"],
            storage_class_name=data.storage_class,
            resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": data.size}),
        ),
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )


def _probe(path: Optional[str], port: Port, period: int, failure_threshold: int) -> k8s.core.v1.ProbeArgs:
    """An HTTP GET of ``path``, or a TCP connect when the service has no health path."""
    return k8s.core.v1.ProbeArgs(
        http_get=k8s.core.v1.HTTPGetActionArgs(path=path, port=port.name) if path else None,
        tcp_socket=None if path else k8s.core.v1.TCPSocketActionArgs(port=port.name),
        period_seconds=period,
        failure_threshold=failure_threshold,
    )
