"""A Kubernetes Secret whose values are given in config or generated once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi
import pulumi_kubernetes as k8s

from .workload import SecretEnv


GENERATED_REVISION = "generated"


def revision_of(place: str, value: str) -> str:
    """16 hex digits that change with ``value``: scrypt, so that each guess at a value costs ~50 ms and
    16 MiB, salted with the Secret's namespace and name."""
    return hashlib.scrypt(value.encode(), salt=place.encode(), n=2**14, r=8, p=1, dklen=8).hex()


@dataclass(frozen=True)
class GeneratedSecretArgs:
    namespace: pulumi.Input[str]
    secret_name: str
    """``metadata.name`` of the Secret; stable, because workloads reference it by name."""
    fixed: Mapping[str, str] = field(default_factory=dict)
    """Keys whose value is not sensitive and set by the platform (a user name, for instance)."""
    value_key: str = "password"
    """The one sensitive key of the Secret."""
    given_value: Optional[pulumi.Output[str]] = None
    """Its value from ``pulumi config set --secret``; None generates one."""
    labels: Mapping[str, str] = field(default_factory=dict)


class GeneratedSecret(pulumi.ComponentResource):
    """Credentials as a Kubernetes Secret, kept encrypted in Pulumi state.

    A generated value is created once: later runs generate a different candidate, which is ignored
    (``ignore_changes``), so the cluster's value stays stable across ``pulumi up``. A value set in
    config always wins and is applied.
    """

    secret_name: pulumi.Output[str]
    revision: pulumi.Input[str]
    """Changes exactly when the Secret's value does, and says nothing about it: pods that read the Secret
    show it in their template, so they restart when a value set in config changes."""

    def __init__(self, name: str, args: GeneratedSecretArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("explain:platform:GeneratedSecret", name, None, opts)
        generated = args.given_value is None
        value = pulumi.Output.from_input(secrets.token_urlsafe(32)) if generated else args.given_value
        # Only the value is secret; the keys stay readable in previews and rendered manifests.
        string_data = {**args.fixed, args.value_key: pulumi.Output.secret(value)}
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=args.secret_name, namespace=args.namespace, labels=dict(args.labels)
            ),
            type="Opaque",
            string_data=string_data,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Only a generated value may be kept against a new candidate; a given one is applied.
                # The provider folds stringData into data, so both are ignored.
                ignore_changes=["stringData", "data"] if generated else None,
                additional_secret_outputs=["stringData", "data"],
            ),
        )
        self.secret_name = secret.metadata.name
        # A generated value never changes once created. A given one: a slow hash salted with the Secret's place
        # (scrypt, as a password file holds), readable in the pod template without giving the value away.
        self.revision = GENERATED_REVISION if generated else pulumi.Output.unsecret(
            pulumi.Output.all(args.namespace, value).apply(
                lambda place_and_value: revision_of(f"{place_and_value[0]}/{args.secret_name}", place_and_value[1])))
        self.register_outputs({"secret_name": self.secret_name, "revision": self.revision})

    def env(self, name: str, key: str) -> SecretEnv:
        """The environment variable ``name`` of a container, read from ``key`` of this Secret."""
        return SecretEnv(name, self.secret_name, key, self.revision)
