"""The whole platform of one stack: a namespace and one component per enabled service, wired by DNS."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pulumi
import pulumi_kubernetes as k8s

from explain_infra import catalog
from explain_infra.config import NAMESPACE, PROJECT_ROOT, SIMULATOR_UI_FEATURES, StackConfig
from explain_infra.sources import GitSource, SourceError, checkout, is_git_url
from explain_infra.templating import render, render_yaml

from .image import ServiceImage, ServiceImageArgs
from .object_store import ChartRef, ObjectStore, ObjectStoreArgs
from .secret import GeneratedSecret, GeneratedSecretArgs
from .workload import NON_ROOT_UID, DataVolume, SecretEnv, WorkloadService, WorkloadServiceArgs

MINIO_CREDENTIALS_SECRET = "minio-credentials"
MINIO_ROOT_USER = "explain-admin"
JUPYTER_TOKEN_SECRET = "jupyter-token"
MLFLOW_CREDENTIALS_SECRET = "mlflow-credentials"
MLFLOW_SERVER_KEY_SECRET = "mlflow-server-key"
MLFLOW_ADMIN_USER = "explain-admin"
MLFLOW_DATA = "/mlflow"
"""Mount path of MLflow's data volume: runs, users and (without MinIO) artifacts."""
MLFLOW_ARTIFACT_BUCKET = "mlflow-artifacts"
DATA_BUCKET = "data"
HELM_POSTRENDER = "scripts/helm-postrender"
"""Adds the probes the MinIO chart does not define (explain_infra/postrender.py). Relative to the project,
where the engine starts the provider, so the Release's inputs are the same in every checkout."""


@dataclass(frozen=True)
class PlatformSecrets:
    """Values from ``pulumi config set --secret``; None means generate (or, for the registry, no login)."""

    minio_root_password: Optional[pulumi.Output[str]] = None
    jupyter_token: Optional[pulumi.Output[str]] = None
    mlflow_admin_password: Optional[pulumi.Output[str]] = None
    registry_password: Optional[pulumi.Output[str]] = None


@dataclass(frozen=True)
class PlatformArgs:
    config: StackConfig
    secrets: PlatformSecrets
    build_dir: Path
    """Where rendered Dockerfiles, and checkouts of git build contexts, are written for the builder."""
    fetch_sources: bool = True
    """Fetch git build contexts; off, the builder is pointed where ``pulumi up`` would export them."""


def service_url(service_name: str, namespace: str, port: int) -> str:
    return f"http://{service_name}.{namespace}.svc.cluster.local:{port}"


class Platform(pulumi.ComponentResource):
    """Everything one stack config describes, in one namespace."""

    namespace: pulumi.Output[str]
    endpoints: dict[str, dict[str, Any]]
    """Per enabled service: in-cluster URL, ports and a ``kubectl port-forward`` command."""
    images: list[dict[str, Any]]

    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None):
        config = args.config
        self._config = config
        self._args = args
        # Sources first: a git URL that cannot be fetched stops the program before anything is registered.
        build_contexts = {service.id: self._build_context(service)
                          for service in config.enabled_services if config.builds(service)}
        super().__init__("explain:platform:Platform", name, None, opts)
        self._labels = {
            "app.kubernetes.io/part-of": "explain-mlops",
            "app.kubernetes.io/managed-by": "pulumi",
            "app.kubernetes.io/instance": config.namespace,
        }
        if config.create_namespace:
            namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=config.namespace,
                    labels={**self._labels, "pod-security.kubernetes.io/enforce": "restricted",
                            "pod-security.kubernetes.io/enforce-version": "latest"},
                ),
                # Deleting a namespace deletes every claim in it: keep it, and the data, on destroy.
                opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
            )
            self.namespace = namespace.metadata.name
        else:
            self.namespace = pulumi.Output.from_input(config.namespace)

        service_images = {service.id: self._image(service, build_contexts.get(service.id))
                          for service in config.enabled_services if service.is_built}
        image_refs = {service_id: image.image_ref for service_id, image in service_images.items()}

        minio_on = config.is_enabled(catalog.MINIO)
        s3_env = self._s3_env(self._object_store()) if minio_on else ({}, [])
        mlflow_url = self._url(catalog.MLFLOW)

        mlflow_login = self._mlflow(image_refs, minio_on, s3_env)
        if config.is_enabled(catalog.JUPYTER):
            token = GeneratedSecret(
                "jupyter-token",
                GeneratedSecretArgs(namespace=self.namespace, secret_name=JUPYTER_TOKEN_SECRET, value_key="token",
                                    given_value=args.secrets.jupyter_token, labels=self._labels),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self._workload(
                catalog.JUPYTER, image_refs, data_mount="/home/jovyan/work", probe_path="/api",
                env={"MLFLOW_TRACKING_URI": mlflow_url, **self._peer_env(), **s3_env[0]},
                secret_env=[token.env("JUPYTER_TOKEN", "token"), *mlflow_login, *s3_env[1]],
            )
        if config.is_enabled(catalog.MONITORING):
            features = config.features
            self._workload(
                catalog.MONITORING, image_refs, data_mount="/data", probe_path="/",
                env={
                    "MONITORING_DATA_DIR": "/data",
                    "MONITORING_DRIFT_DETECTION": _flag(features.enabled("driftDetection")),
                    "MONITORING_EXPLANATORY": _flag(features.enabled("explanatoryMonitoring")),
                    "MLFLOW_TRACKING_URI": mlflow_url,
                },
            )
        if config.is_enabled(catalog.DATA_STREAMING):
            ui_feature = SIMULATOR_UI_FEATURES.get(config.data_type)
            self._workload(
                catalog.DATA_STREAMING, image_refs, data_mount=None, probe_path=None,
                env={"SIMULATOR_DATA_TYPE": config.data_type,
                     "SIMULATOR_UI_ENABLED": _flag(ui_feature is not None and config.features.enabled(ui_feature)),
                     "SIMULATOR_PORT": str(catalog.DATA_STREAMING.main_port.target_port)},
            )

        self.endpoints = {service.id: self._endpoint(service) for service in config.enabled_services}
        # By tag, not digest: what to mirror, and which of them `pulumi up` builds.
        self.images = [{"service": service_id, "image": image.image_name, "built": service_id in build_contexts}
                       for service_id, image in sorted(service_images.items())] + self._third_party_images()
        self.register_outputs({"namespace": self.namespace, "endpoints": self.endpoints, "images": self.images})

    # ----------------------------------------------------------------------------------------------
    # Services

    def _work_dir(self, service: catalog.ServiceSpec) -> Path:
        """Where the builder's files for ``service`` go: its Dockerfile, and its source when fetched."""
        return self._args.build_dir / self._config.namespace / service.image_name

    def _build_context(self, service: catalog.ServiceSpec) -> str:
        """A local folder for the builder: one of the project's, or the export of a git URL."""
        context = self._config.build_context(service)
        if not is_git_url(context):
            return self._project_path(context)
        source = GitSource.parse(context)
        if not self._args.fetch_sources:
            return str(source.context_in(self._work_dir(service)))
        try:
            return str(checkout(source, self._work_dir(service)))
        except SourceError as error:
            key = f"{NAMESPACE}:services.{service.id}.build.context"
            raise pulumi.RunError(
                f"{key}: {error}; nothing was deployed\n    fix: check the URL and your access to it, or "
                f"clone it and pulumi config set --path '{key}' <folder>, or "
                f"pulumi config set --path '{NAMESPACE}:services.{service.id}.build.image' <image reference>"
            ) from None

    def _image(self, service: catalog.ServiceSpec, context: Optional[str]) -> ServiceImage:
        config = self._config
        settings = config.settings(service)
        registry = config.registry.server
        reference = settings.build.image or f"{registry}/{config.docker_hub_user}/{service.image_name}:{config.tag}"
        building = config.builds(service)
        dockerfile = None
        if building:
            dockerfile = render(
                service.dockerfile_template,
                base_image=self._third_party(catalog.PYTHON_BASE_IMAGE),
                uid=NON_ROOT_UID,
                port=service.main_port.target_port,
                data_type=config.data_type,
                libraries=catalog.DATA_TYPE_LIBRARIES[config.data_type],
                mlflow_version=catalog.MLFLOW_VERSION,
                boto3_version=catalog.BOTO3_VERSION,
                jupyterlab_version=catalog.JUPYTERLAB_VERSION,
                command=list(config.simulator_command()),
            )
        return ServiceImage(
            f"{service.id}-image",
            ServiceImageArgs(
                image_ref=reference,
                build=building,
                context=context,
                dockerfile=dockerfile,
                dockerfile_dir=self._work_dir(service),
                platform=config.build.platform,
                registry_server=registry,
                registry_username=config.registry.username or config.docker_hub_user,
                registry_password=self._args.secrets.registry_password,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _mlflow(self, image_refs: dict[str, pulumi.Output[str]], minio_on: bool,
                s3_env: tuple[dict[str, str], list[SecretEnv]]) -> list[SecretEnv]:
        """The tracking server behind MLflow's basic authentication; returns how a client logs in."""
        credentials = GeneratedSecret(
            "mlflow-credentials",
            GeneratedSecretArgs(namespace=self.namespace, secret_name=MLFLOW_CREDENTIALS_SECRET,
                                fixed={"username": MLFLOW_ADMIN_USER}, value_key="password",
                                given_value=self._args.secrets.mlflow_admin_password, labels=self._labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Signs the web forms' CSRF tokens: one key for every worker process of the server.
        server_key = GeneratedSecret(
            "mlflow-server-key",
            GeneratedSecretArgs(namespace=self.namespace, secret_name=MLFLOW_SERVER_KEY_SECRET, value_key="secretKey",
                                labels=self._labels),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._workload(
            catalog.MLFLOW, image_refs, data_mount=MLFLOW_DATA, probe_path="/health",
            args=self._mlflow_args(minio_on),
            env={"MLFLOW_AUTH_DATABASE_URI": f"sqlite:///{MLFLOW_DATA}/basic_auth.db", **s3_env[0]},
            secret_env=[credentials.env("MLFLOW_AUTH_ADMIN_USERNAME", "username"),
                        credentials.env("MLFLOW_AUTH_ADMIN_PASSWORD", "password"),
                        server_key.env("MLFLOW_FLASK_SERVER_SECRET_KEY", "secretKey"),
                        *s3_env[1]],
        )
        return [credentials.env("MLFLOW_TRACKING_USERNAME", "username"),
                credentials.env("MLFLOW_TRACKING_PASSWORD", "password")]

    def _object_store(self) -> ObjectStore:
        config = self._config
        service = catalog.MINIO
        settings = config.settings(service)
        chart = config.charts.minio
        image = self._third_party(catalog.MINIO_IMAGE).rsplit(":", 1)
        mc_image = self._third_party(catalog.MINIO_CLIENT_IMAGE).rsplit(":", 1)
        values = render_yaml(
            "helm/minio-values.yaml.j2",
            chart_version=chart.version,
            image={"repository": image[0], "tag": image[1]},
            mc_image={"repository": mc_image[0], "tag": mc_image[1]},
            credentials_secret=MINIO_CREDENTIALS_SECRET,
            data_claim="minio-data",
            resources=dataclasses.asdict(config.resources(service)),
            service_type=settings.service_type,
            pull_secret=config.registry.pull_secret,
            api_port=service.ports[0].port,
            console_port=service.ports[1].port,
            buckets=[MLFLOW_ARTIFACT_BUCKET, DATA_BUCKET],
        )
        return ObjectStore(
            "minio",
            ObjectStoreArgs(
                namespace=self.namespace,
                chart=ChartRef(chart=chart.chart, version=chart.version, repository=chart.repository,
                               path=self._project_path(chart.path) if chart.path else None),
                values=values,
                credentials_secret=MINIO_CREDENTIALS_SECRET,
                root_user=MINIO_ROOT_USER,
                root_password=self._args.secrets.minio_root_password,
                data=self._data_volume(service, "minio-data", mount_path="/export"),
                postrender=HELM_POSTRENDER,
                labels=self._labels,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _workload(self, service: catalog.ServiceSpec, image_refs: dict[str, pulumi.Output[str]], *,
                  data_mount: Optional[str], probe_path: Optional[str], env: dict[str, str],
                  secret_env=(), args=None) -> WorkloadService:
        settings = self._config.settings(service)
        app = service.main_port.service_name.removesuffix("-service")
        return WorkloadService(
            service.id,
            WorkloadServiceArgs(
                namespace=self.namespace,
                app=app,
                image=image_refs[service.id],
                ports=service.ports,
                service_type=settings.service_type,
                command=settings.command,
                args=args,
                env=env,
                secret_env=list(secret_env),
                probe_path=probe_path,
                data=self._data_volume(service, f"{app}-data", data_mount) if data_mount else None,
                labels=self._labels,
                pull_secret=self._config.registry.pull_secret,
                **dataclasses.asdict(self._config.resources(service)),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    # ----------------------------------------------------------------------------------------------
    # Wiring

    def _url(self, service: catalog.ServiceSpec, port_index: int = 0) -> str:
        port = service.ports[port_index]
        return service_url(port.service_name, self._config.namespace, port.port)

    def _s3_env(self, store: ObjectStore) -> tuple[dict[str, str], list[SecretEnv]]:
        """How a client reaches MinIO: its Service's DNS name and the credentials Secret."""
        secret, revision = store.credentials_secret, store.credentials_revision
        return (
            {"MLFLOW_S3_ENDPOINT_URL": self._url(catalog.MINIO), "EXPLAIN_S3_ENDPOINT": self._url(catalog.MINIO)},
            [SecretEnv("AWS_ACCESS_KEY_ID", secret, "rootUser", revision),
             SecretEnv("AWS_SECRET_ACCESS_KEY", secret, "rootPassword", revision)],
        )

    def _peer_env(self) -> dict[str, str]:
        """Endpoints of the optional services a workspace talks to."""
        env = {}
        if self._config.is_enabled(catalog.MONITORING):
            env["EXPLAIN_MONITORING_URL"] = self._url(catalog.MONITORING)
        if self._config.is_enabled(catalog.DATA_STREAMING):
            env["EXPLAIN_DATA_STREAM_URL"] = self._url(catalog.DATA_STREAMING)
        return env

    def _mlflow_args(self, minio_on: bool) -> list[str]:
        port = catalog.MLFLOW.main_port
        destination = f"s3://{MLFLOW_ARTIFACT_BUCKET}" if minio_on else f"{MLFLOW_DATA}/artifacts"
        # MLflow answers only these Host headers (its guard against DNS rebinding): the Service's names
        # as clients in the cluster write them, and localhost for `kubectl port-forward`. Probes are exempt.
        service = port.service_name
        names = [service, f"{service}.{self._config.namespace}", f"{service}.{self._config.namespace}.svc",
                 f"{service}.{self._config.namespace}.svc.cluster.local"]
        allowed_hosts = [host for name in names for host in (name, f"{name}:*")] + ["localhost:*", "127.0.0.1:*"]
        # And the names clients outside call it by: through an Ingress, a node port or a load balancer.
        allowed_hosts += self._config.settings(catalog.MLFLOW).external_hosts or ()
        return ["--host", "0.0.0.0", "--port", str(port.target_port),
                "--backend-store-uri", f"sqlite:///{MLFLOW_DATA}/mlflow.db",
                "--serve-artifacts", "--artifacts-destination", destination,
                "--allowed-hosts", ",".join(allowed_hosts)]

    def _endpoint(self, service: catalog.ServiceSpec) -> dict[str, Any]:
        namespace = self._config.namespace

        def local(port: int) -> int:
            return port if port >= 1024 else port + 8000  # binding below 1024 locally needs root

        return {
            port.name: {
                "service": port.service_name,
                "url": service_url(port.service_name, namespace, port.port),
                "port": port.port,
                "portForward": f"kubectl -n {namespace} port-forward svc/{port.service_name} "
                               f"{local(port.port)}:{port.port}",
            }
            for port in service.ports
        }

    # ----------------------------------------------------------------------------------------------
    # Helpers

    def _data_volume(self, service: catalog.ServiceSpec, claim_name: str, mount_path: str) -> DataVolume:
        settings = self._config.settings(service)
        return DataVolume(claim_name=claim_name, size=settings.storage_size or service.storage_size,
                          mount_path=mount_path, storage_class=self._config.storage.class_name)

    def _third_party(self, image: tuple[str, str, str]) -> str:
        registry, repository, tag = image
        return f"{self._config.registry.mirror or registry}/{repository}:{tag}"

    def _third_party_images(self) -> list[dict[str, str]]:
        used = [catalog.MINIO_IMAGE, catalog.MINIO_CLIENT_IMAGE] if self._config.is_enabled(catalog.MINIO) else []
        if any(self._config.builds(service) for service in self._config.enabled_services):
            used.append(catalog.PYTHON_BASE_IMAGE)
        return [{"service": "third-party", "source": f"{registry}/{repository}:{tag}",
                 "image": self._third_party((registry, repository, tag)), "built": False}
                for registry, repository, tag in used]

    @staticmethod
    def _project_path(path: str) -> str:
        return str(PROJECT_ROOT / path)  # an absolute path stays as it is


def _flag(value: bool) -> str:
    return "true" if value else "false"
