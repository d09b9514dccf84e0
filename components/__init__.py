"""Pulumi ComponentResources, one per kind of platform service."""

from .image import ServiceImage, ServiceImageArgs
from .object_store import ObjectStore, ObjectStoreArgs
from .platform import Platform
from .secret import GeneratedSecret, GeneratedSecretArgs
from .workload import SecretEnv, WorkloadService, WorkloadServiceArgs

__all__ = [
    "GeneratedSecret",
    "GeneratedSecretArgs",
    "ObjectStore",
    "ObjectStoreArgs",
    "Platform",
    "SecretEnv",
    "ServiceImage",
    "ServiceImageArgs",
    "WorkloadService",
    "WorkloadServiceArgs",
]
