"""Helm post-renderer of the MinIO release: adds the health probes the official chart does not define.

The Kubernetes provider pipes the chart's rendered manifests through ``scripts/helm-postrender`` on
install and upgrade (``Release.postrender``); Helm does not post-render hooks. A container that
already has a probe keeps it, so a chart version that brings its own wins.

Only PyYAML is imported: the provider runs this outside the Pulumi program.
"""

from __future__ import annotations

import sys
from typing import Any, Iterable

MINIO_CONTAINER = "minio"
# MinIO's own health endpoints: live while the process serves, ready once it can serve requests.
READINESS_PATH = "/minio/health/ready"
LIVENESS_PATH = "/minio/health/live"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")


def _http_probe(path: str, port: str | int, initial_delay: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "initialDelaySeconds": initial_delay, "periodSeconds": 10}


def add_minio_probes(documents: Iterable[Any]) -> list[Any]:
    """The documents, with readiness and liveness probes on every MinIO server container."""
    result = []
    for document in documents:
        if isinstance(document, dict) and document.get("kind") in WORKLOAD_KINDS:
            for container in document["spec"]["template"]["spec"].get("containers", []):
                if container.get("name") != MINIO_CONTAINER:
                    continue
                # The API port is the container's first; the chart names it after the scheme.
                api_port = container["ports"][0].get("name") or container["ports"][0]["containerPort"]
                container.setdefault("readinessProbe", _http_probe(READINESS_PATH, api_port, initial_delay=5))
                container.setdefault("livenessProbe", _http_probe(LIVENESS_PATH, api_port, initial_delay=30))
        result.append(document)
    return result


def main() -> int:
    import yaml

    documents = [document for document in yaml.safe_load_all(sys.stdin) if document is not None]
    yaml.safe_dump_all(add_minio_probes(documents), sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
