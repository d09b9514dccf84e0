"""The platform's services: seed names and ports, the feature that switches each on, and defaults.

Names and ports are the seed's (see the mission's services.md), so that its users, notebooks and
pipeline code find the same endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class Port:
    name: str
    port: int
    """Port of the Kubernetes Service (the seed's)."""
    target_port: int
    """Port the container listens on (non-root containers cannot bind below 1024)."""
    service_name: str
    """Kubernetes Service that exposes this port."""


@dataclass(frozen=True)
class ResourceDefaults:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class ServiceSpec:
    id: str
    """Key under ``explain:services`` and the Pulumi name of the service's component."""
    title: str
    feature: Optional[str]
    """Feature key that switches the service on; None means always on."""
    ports: tuple[Port, ...]
    resources: ResourceDefaults
    storage_size: Optional[str]
    """Size of the data volume; None for a stateless service."""
    image_name: Optional[str] = None
    """Repository name of the image the platform builds (``<registry>/<user>/<image_name>:<tag>``)."""
    dockerfile_template: Optional[str] = None
    build_context: Optional[str] = None
    """Default build context: a folder relative to the project root, or a git URL."""

    @property
    def is_built(self) -> bool:
        return self.image_name is not None

    @property
    def main_port(self) -> Port:
        return self.ports[0]


MINIO = ServiceSpec(
    id="minio",
    title="MinIO object store",
    feature="s3TypeDatabase",
    ports=(Port("api", 9000, 9000, "minio"), Port("console", 9001, 9001, "minio-console")),
    resources=ResourceDefaults("250m", "512Mi", "1", "1Gi"),
    storage_size="10Gi",
)

MLFLOW = ServiceSpec(
    id="mlflow",
    title="MLflow tracking server and model registry",
    feature=None,
    ports=(Port("http", 5000, 5000, "ml-flow-service"),),
    resources=ResourceDefaults("250m", "512Mi", "1", "1Gi"),
    storage_size="5Gi",
    image_name="mlflow",
    dockerfile_template="dockerfiles/mlflow.Dockerfile.j2",
    build_context="tools/mlflow",
)

JUPYTER = ServiceSpec(
    id="jupyter",
    title="JupyterLab development IDE",
    feature="developmentIde",
    ports=(Port("http", 80, 8888, "jupyter-service"),),
    resources=ResourceDefaults("500m", "1Gi", "2", "4Gi"),
    storage_size="10Gi",
    image_name="jupyter",
    dockerfile_template="dockerfiles/jupyter.Dockerfile.j2",
    build_context="tools/jupyterlab",
)

MONITORING = ServiceSpec(
    id="monitoring",
    title="Monitoring API (Evidently drift reports)",
    feature="monitoring",
    ports=(Port("http", 8000, 8000, "evidently-service"),),
    resources=ResourceDefaults("250m", "512Mi", "1", "1Gi"),
    storage_size="1Gi",
    image_name="evidently",
    dockerfile_template="dockerfiles/monitoring.Dockerfile.j2",
    build_context="tools/monitoring-api",
)

DATA_STREAMING = ServiceSpec(
    id="dataStreaming",
    title="Live data and drift simulator",
    feature="liveDataAndDriftSimulation",
    ports=(Port("http", 5020, 5020, "data-streaming-service"),),
    resources=ResourceDefaults("100m", "256Mi", "1", "1Gi"),
    storage_size=None,
    image_name="data-streaming",
    dockerfile_template="dockerfiles/data-streaming.Dockerfile.j2",
    build_context=None,  # depends on the data type: see SIMULATOR_SOURCES
)

SERVICES: tuple[ServiceSpec, ...] = (MINIO, MLFLOW, JUPYTER, MONITORING, DATA_STREAMING)
SERVICE_SETTING_FEATURES: dict[str, str] = {
    "memorySize": "MinIO's memory request",
    "driftDetection": "what the monitoring API computes",
    "explanatoryMonitoring": "what the monitoring API computes",
    "timeSeriesLiveDataUi": "the time-series simulator's live page (`SIMULATOR_UI_ENABLED`)",
    "imageLiveDataUi": "`SIMULATOR_UI_ENABLED`, which the pinned image tool, a UI throughout, does not read",
}
"""Features that change a setting of a deployed service, and which."""
SERVICES_BY_ID: dict[str, ServiceSpec] = {spec.id: spec for spec in SERVICES}

# The simulator's source by data type: the platform's own time-series simulator (the seed's external
# "Life Data and Drift Simulation" has no public source), and the public image drift detection UI.
# `explain:services.dataStreaming.build.context` points elsewhere, at a clone of the seed's tool say.
SIMULATOR_SOURCES: dict[str, str] = {
    "Time-Series": "tools/timeseries-simulator",
    # Pinned to a commit: a push to the tool's repository must not change what a stack builds.
    "Image": "https://github.com/malikhunain/Optimized-Web-Interface.git#0d48005284fd22a7e8f5fa5ddce4f5763b00ff97",
}
# How each built-in simulator starts. The image tool's own `app.run()` listens on 127.0.0.1:5000 only,
# so Flask's command line serves its app on the platform's port instead.
SIMULATOR_COMMANDS: dict[str, tuple[str, ...]] = {
    "Time-Series": ("python", "app.py"),
    "Image": ("flask", "--app", "flask_app", "run", "--host", "0.0.0.0",
              "--port", str(DATA_STREAMING.main_port.target_port)),
}

# Third-party images, pinned. The MinIO chart's own defaults for its pinned version.
MINIO_IMAGE = ("quay.io", "minio/minio", "RELEASE.2024-12-18T13-15-44Z")
MINIO_CLIENT_IMAGE = ("quay.io", "minio/mc", "RELEASE.2024-11-21T17-21-54Z")
PYTHON_BASE_IMAGE = ("docker.io", "library/python", "3.11-slim-bookworm")


def pinned_version(requirements: Path, package: str) -> str:
    """The ``==`` version of ``package`` (extras ignored) in a requirements file."""
    for line in requirements.read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.split("[")[0].strip().lower() == package.lower() and version:
            return version.strip()
    raise LookupError(f"{requirements} pins no version of {package}")


# The MLflow client in the workspace images is the server's version: the server's lock is the source.
MLFLOW_REQUIREMENTS = Path(__file__).resolve().parent.parent / "tools" / "mlflow" / "requirements.txt"
MLFLOW_VERSION = pinned_version(MLFLOW_REQUIREMENTS, "mlflow")
BOTO3_VERSION = pinned_version(MLFLOW_REQUIREMENTS, "boto3")
# Python libraries baked into the workspace images, by data type (the seed's choices, pinned).
JUPYTERLAB_VERSION = "4.3.4"
DATA_TYPE_LIBRARIES: dict[str, tuple[str, ...]] = {
    "Time-Series": ("pandas==2.2.3", "scikit-learn==1.6.0", "statsmodels==0.14.4", "xgboost==2.1.3",
                    "tensorflow-cpu==2.18.0", "shap==0.46.0", "lime==0.2.0.1", "streamlit==1.41.1"),
    "Image": ("pandas==2.2.3", "scikit-learn==1.6.0", "opencv-python-headless==4.10.0.84",
              "scikit-image==0.25.0", "tensorflow-cpu==2.18.0", "shap==0.46.0", "lime==0.2.0.1"),
    "Other": ("pandas==2.2.3", "scikit-learn==1.6.0", "xgboost==2.1.3", "shap==0.46.0"),
}
DEFAULT_SIMULATOR_COMMAND = ("python", "app.py")
"""A simulator from another source, without `command` in config."""
