"""A service's container image: built from a Dockerfile template and pushed, or referenced as is."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_docker as docker


@dataclass(frozen=True)
class ServiceImageArgs:
    image_ref: str
    """Full reference, ``<registry>/<user>/<service>:<tag>`` or a prebuilt image from config."""
    build: bool
    context: Optional[str] = None
    """Build context: a local folder or a git URL."""
    dockerfile: Optional[str] = None
    """Rendered Dockerfile text."""
    dockerfile_dir: Optional[Path] = None
    """Where the rendered Dockerfile is written for the builder (git-ignored)."""
    platform: str = "linux/amd64"
    registry_server: Optional[str] = None
    registry_username: Optional[str] = None
    registry_password: Optional[pulumi.Input[str]] = None


class ServiceImage(pulumi.ComponentResource):
    """The image a workload runs: a built one by its pushed digest, so pods roll only after a push and with
    every push; an image not built here by its reference as given."""

    image_name: str
    """The reference as tagged: ``<registry>/<user>/<service>:<tag>``, or the prebuilt image from config."""
    image_ref: pulumi.Output[str]
    """What pods run: a built image pinned to its pushed digest (``<image_name>@sha256:…``)."""

    def __init__(self, name: str, args: ServiceImageArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("explain:platform:ServiceImage", name, None, opts)
        self.image_name = args.image_ref
        if args.build:
            if not (args.context and args.dockerfile and args.dockerfile_dir):
                raise ValueError(f"{name}: building an image needs a context and a Dockerfile")
            args.dockerfile_dir.mkdir(parents=True, exist_ok=True)
            dockerfile_path = args.dockerfile_dir / "Dockerfile"
            dockerfile_path.write_text(args.dockerfile)
            image = docker.Image(
                f"{name}-build",
                image_name=args.image_ref,
                build=docker.DockerBuildArgs(
                    context=args.context,
                    dockerfile=str(dockerfile_path),
                    platform=args.platform,
                ),
                registry=docker.RegistryArgs(
                    server=args.registry_server,
                    username=args.registry_username,
                    password=args.registry_password,
                ) if args.registry_password is not None else None,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # By digest: a rebuild pushed under the same tag changes the pod spec, so pods roll, and no
            # node runs a stale copy of the tag it cached.
            self.image_ref = pulumi.Output.all(image.image_name, image.repo_digest).apply(
                lambda parts: f"{parts[0]}@{parts[1].rpartition('@')[2]}")
        else:
            self.image_ref = pulumi.Output.from_input(args.image_ref)
        self.register_outputs({"image_name": self.image_name, "image_ref": self.image_ref})
