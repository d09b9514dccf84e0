"""The program under Pulumi's mocks: which objects each config registers, and how they are wired."""

from __future__ import annotations

import json
import os

import pulumi
import pytest
from helpers import ROOT, names, objects, raw_config, run, with_requirements

from explain_infra import catalog
from explain_infra.features import FEATURES, requirements_of
from explain_infra.offline import SECRET_SHOWN_AS, UNKNOWN_SHOWN_AS, EchoMocks, evaluate, manifests, render, schema_errors
from explain_infra.stack_file import load_stack_file

SERVICE_FEATURES = [service for service in catalog.SERVICES if service.feature]
EVERYTHING = {**with_requirements("s3TypeDatabase", "developmentIde", "monitoring", "driftDetection",
                                  "explanatoryMonitoring", "liveDataAndDriftSimulation")}


def services_of(evaluation) -> set[str]:
    return names(evaluation, "Service") | {
        "minio" if release["name"] == "minio" else release["name"] for release in objects(evaluation, "Release")}


@pytest.mark.parametrize("service", SERVICE_FEATURES, ids=lambda service: service.id)
def test_each_feature_switches_on_exactly_its_services(service):
    without = run(raw_config())
    with_it = run(raw_config(with_requirements(service.feature)))
    added = services_of(with_it) - services_of(without)
    expected = {"minio"} if service is catalog.MINIO else {port.service_name for port in service.ports}
    assert added == expected
    assert services_of(without) == {"ml-flow-service"}  # the model registry is always on


def test_minio_is_a_pinned_helm_release_with_existing_secret_and_claim():
    evaluation = run(raw_config({**with_requirements("s3TypeDatabase"), "memorySize": 2048}))
    (release,) = objects(evaluation, "Release")
    assert release["chart"] == "minio" and release["version"] == "5.4.0"
    assert release["repositoryOpts"]["repo"] == "https://charts.min.io/"
    values = release["values"]
    assert values["existingSecret"] == "minio-credentials"
    assert values["persistence"] == {"enabled": True, "existingClaim": "minio-data"}
    assert values["resources"]["requests"]["memory"] == "2048Mi"
    assert values["users"] == [] and values["mode"] == "standalone"
    assert values["service"]["type"] == "ClusterIP" and values["service"]["port"] == "9000"
    assert values["consoleService"]["port"] == "9001"
    assert "minio-data" in names(evaluation, "PersistentVolumeClaim")
    assert release["postrender"] == "scripts/helm-postrender" and os.access(ROOT / release["postrender"], os.X_OK)


RESTRICTED_CONTAINER = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def test_minio_pods_and_bucket_hook_meet_pod_security_restricted():
    """The chart copies these maps into its pods (``omit … "enabled" | toYaml``); the namespace enforces
    "restricted", so a missing field would get the server's or the post-install hook's pod refused."""
    values = objects(run(raw_config(with_requirements("s3TypeDatabase"))), "Release")[0]["values"]
    for pod_context in (values["securityContext"], values["postJob"]["securityContext"]):
        assert pod_context["enabled"] is True and pod_context["runAsNonRoot"] is True
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"} and pod_context["runAsUser"] > 0
    assert values["makeBucketJob"]["securityContext"]["enabled"] is True
    for container_context in (values["containerSecurityContext"], values["makeBucketJob"]["containerSecurityContext"]):
        assert RESTRICTED_CONTAINER.items() <= container_context.items()
    assert set(values["makeBucketJob"]["resources"]) == {"requests", "limits"}
    assert [bucket["name"] for bucket in values["buckets"]] == ["mlflow-artifacts", "data"]


def test_chart_can_come_from_a_local_folder():
    standin = "tests/e2e/charts/minio-standin"
    evaluation = run(raw_config(with_requirements("s3TypeDatabase"), charts={"minio": {"path": standin}}))
    (release,) = objects(evaluation, "Release")
    assert release["chart"] == str(ROOT / standin) and "repositoryOpts" not in release


def _container(evaluation, deployment_name):
    (deployment,) = [d for d in objects(evaluation, "Deployment") if d["metadata"]["name"] == deployment_name]
    return deployment["spec"]["template"]["spec"]["containers"][0]


def _env(container):
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def test_mlflow_gets_minio_endpoint_and_credentials_by_reference():
    evaluation = run(raw_config(with_requirements("s3TypeDatabase")), stack="wiring")
    container = _container(evaluation, "ml-flow")
    env = _env(container)
    assert env["MLFLOW_S3_ENDPOINT_URL"] == "http://minio.explain-wiring.svc.cluster.local:9000"
    assert env["AWS_SECRET_ACCESS_KEY"] == {"secretKeyRef": {"name": "minio-credentials", "key": "rootPassword"}}
    assert env["AWS_ACCESS_KEY_ID"] == {"secretKeyRef": {"name": "minio-credentials", "key": "rootUser"}}
    assert "s3://mlflow-artifacts" in container["args"]


def test_mlflow_requires_a_login_from_its_secret_and_clients_get_it_by_reference():
    evaluation = run(raw_config(with_requirements("developmentIde")), stack="auth")
    mlflow = _container(evaluation, "ml-flow")
    env = _env(mlflow)
    login = {"MLFLOW_AUTH_ADMIN_USERNAME": "username", "MLFLOW_AUTH_ADMIN_PASSWORD": "password"}
    for name, key in login.items():
        assert env[name] == {"secretKeyRef": {"name": "mlflow-credentials", "key": key}}
    assert env["MLFLOW_FLASK_SERVER_SECRET_KEY"] == {"secretKeyRef": {"name": "mlflow-server-key", "key": "secretKey"}}
    assert env["MLFLOW_AUTH_DATABASE_URI"] == "sqlite:////mlflow/basic_auth.db"  # on the data volume
    assert mlflow["volumeMounts"] == [{"name": "data", "mountPath": "/mlflow"}]
    allowed = mlflow["args"][mlflow["args"].index("--allowed-hosts") + 1].split(",")
    assert {"ml-flow-service:*", "ml-flow-service.explain-auth.svc.cluster.local:*", "localhost:*"} <= set(allowed)
    assert not any(host.endswith("*") and not host.endswith(":*") for host in allowed)  # no name prefixes
    jupyter = _env(_container(evaluation, "jupyter"))
    assert jupyter["MLFLOW_TRACKING_USERNAME"] == {"secretKeyRef": {"name": "mlflow-credentials", "key": "username"}}
    assert jupyter["MLFLOW_TRACKING_PASSWORD"] == {"secretKeyRef": {"name": "mlflow-credentials", "key": "password"}}


def _revisions(evaluation, deployment_name):
    (deployment,) = [d for d in objects(evaluation, "Deployment") if d["metadata"]["name"] == deployment_name]
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    return annotations.get("explain-mlops.io/secret-revisions")


def test_pods_name_the_revision_of_every_secret_they_read():
    evaluation = run(raw_config(EVERYTHING), stack="rev")
    assert _revisions(evaluation, "jupyter") == \
        "jupyter-token=generated,minio-credentials=generated,mlflow-credentials=generated"
    assert _revisions(evaluation, "ml-flow") == \
        "minio-credentials=generated,mlflow-credentials=generated,mlflow-server-key=generated"
    assert _revisions(evaluation, "evidently") is None  # reads no Secret
    values = objects(evaluation, "Release")[0]["values"]
    assert values["podAnnotations"] == {"explain-mlops.io/secret-revisions": "minio-credentials=generated"}


def test_a_secret_value_set_in_config_restarts_its_readers_without_showing_itself():
    def revisions(token):
        raw = {**raw_config(with_requirements("developmentIde")), "explain:jupyterToken": token}
        return _revisions(evaluate(raw, "rev", secret_keys=["explain:jupyterToken"]), "jupyter")

    first, again, other = revisions("token-one-1234"), revisions("token-one-1234"), revisions("token-two-5678")
    assert first == again and first != other  # changes with the value, and only with it
    token_revision = dict(pair.split("=") for pair in first.split(","))["jupyter-token"]
    assert len(token_revision) == 16 and "token-one" not in first


def test_mlflow_without_minio_keeps_artifacts_on_its_volume():
    container = _container(run(raw_config()), "ml-flow")
    assert "MLFLOW_S3_ENDPOINT_URL" not in _env(container)
    assert "/mlflow/artifacts" in container["args"]


def test_workspaces_reach_peers_by_service_dns_name():
    evaluation = run(raw_config(EVERYTHING), stack="peers")
    env = _env(_container(evaluation, "jupyter"))
    assert env["MLFLOW_TRACKING_URI"] == "http://ml-flow-service.explain-peers.svc.cluster.local:5000"
    assert env["EXPLAIN_MONITORING_URL"] == "http://evidently-service.explain-peers.svc.cluster.local:8000"
    assert env["EXPLAIN_DATA_STREAM_URL"] == "http://data-streaming-service.explain-peers.svc.cluster.local:5020"
    assert env["JUPYTER_TOKEN"] == {"secretKeyRef": {"name": "jupyter-token", "key": "token"}}


@pytest.mark.parametrize("drift,explanatory", [(True, False), (False, False), (True, True)])
def test_monitoring_switches_change_what_it_computes(drift, explanatory):
    features = {**with_requirements("monitoring"), "driftDetection": drift, "explanatoryMonitoring": explanatory}
    env = _env(_container(run(raw_config(features)), "evidently"))
    assert env["MONITORING_DRIFT_DETECTION"] == str(drift).lower()
    assert env["MONITORING_EXPLANATORY"] == str(explanatory).lower()


@pytest.mark.parametrize("data_type,ui_feature", [("Time-Series", "timeSeriesLiveDataUi"), ("Image", "imageLiveDataUi")])
def test_simulator_variant_follows_the_data_type(data_type, ui_feature):
    features = {**with_requirements("liveDataAndDriftSimulation"), ui_feature: True}
    env = _env(_container(run(raw_config(features, dataType=data_type)), "data-streaming"))
    assert env["SIMULATOR_DATA_TYPE"] == data_type and env["SIMULATOR_UI_ENABLED"] == "true"


def test_every_workload_is_limited_probed_and_restricted():
    evaluation = run(raw_config(EVERYTHING))
    deployments = objects(evaluation, "Deployment")
    assert len(deployments) == 4
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            assert set(container["resources"]) == {"requests", "limits"}
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}
            assert {"startupProbe", "readinessProbe", "livenessProbe"} <= set(container)
            # Liveness waits for the startup probe, which gives a slow first start minutes, not seconds.
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] >= 180
            assert "initialDelaySeconds" not in container["livenessProbe"]
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["runAsNonRoot"] is True
    for service in objects(evaluation, "Service"):
        assert service["spec"]["type"] == "ClusterIP"


def test_a_command_override_reaches_the_workload_s_container():
    evaluation = run(raw_config(with_requirements("monitoring"),
                                services={"monitoring": {"command": ["/opt/entrypoint.sh", "serve"]}}))
    assert _container(evaluation, "evidently")["command"] == ["/opt/entrypoint.sh", "serve"]


def test_exposure_is_opt_in_per_service():
    evaluation = run(raw_config(services={"mlflow": {"serviceType": "LoadBalancer",
                                                     "externalHosts": ["mlflow.example.org"]}}))
    (service,) = objects(evaluation, "Service")
    assert service["spec"]["type"] == "LoadBalancer"


def test_data_volumes_and_namespace_are_retained():
    evaluation = run(raw_config(EVERYTHING))
    claims = [r for r in evaluation.resources if r.type == "kubernetes:core/v1:PersistentVolumeClaim"]
    assert {claim.inputs["metadata"]["name"] for claim in claims} == {
        "minio-data", "ml-flow-data", "jupyter-data", "evidently-data"}
    assert all(claim.retain_on_delete for claim in claims)
    (namespace,) = [r for r in evaluation.resources if r.type == "kubernetes:core/v1:Namespace"]
    assert namespace.retain_on_delete
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_switching_a_feature_off_keeps_the_claim_name_stable():
    on = run(raw_config(with_requirements("developmentIde")))
    again = run(raw_config(with_requirements("developmentIde"), tag="v2"))
    assert names(on, "PersistentVolumeClaim") == names(again, "PersistentVolumeClaim")


def test_two_stacks_in_two_namespaces_do_not_collide():
    first, second = run(raw_config(EVERYTHING), stack="team-a"), run(raw_config(EVERYTHING), stack="team-b")

    def placed(evaluation):
        return {(d.get("kind"), d["metadata"].get("namespace"), d["metadata"]["name"])
                for _, d in manifests(evaluation) if "metadata" in d} | {
            ("HelmRelease", d["namespace"], d["name"]) for _, d in manifests(evaluation) if "metadata" not in d}

    assert placed(first) and not placed(first) & placed(second)


def test_images_are_built_and_pushed_when_building_is_on():
    evaluation = run(raw_config(with_requirements("monitoring"), build={"enabled": True}, tag="v7"))
    built = {r.inputs["imageName"]: r.inputs for r in evaluation.of_type("docker:index/image:Image")}
    assert set(built) == {"docker.io/explain/mlflow:v7", "docker.io/explain/evidently:v7"}
    dockerfile = built["docker.io/explain/evidently:v7"]["build"]["dockerfile"]
    assert os.path.isfile(dockerfile) and open(dockerfile).read().startswith("# The monitoring API")
    # The project's .build is `pulumi up`'s: an offline evaluation writes into a folder of its own.
    assert not os.path.abspath(dockerfile).startswith(str(ROOT / ".build") + os.sep)
    # Pods run the pushed digest, which only the push tells: unknown offline, as in a preview.
    assert _container(evaluation, "evidently")["image"] == UNKNOWN_SHOWN_AS
    assert {"service": "monitoring", "image": "docker.io/explain/evidently:v7", "built": True} in \
        evaluation.outputs["images"]


class PushingMocks(EchoMocks):
    """A registry that answers each push with the digest of what was pushed."""

    def new_resource(self, args):
        resource_id, state = super().new_resource(args)
        if args.typ == "docker:index/image:Image":
            state["repoDigest"] = args.inputs["imageName"].rpartition(":")[0] + "@sha256:" + "ab" * 32
        return resource_id, state


def test_pods_run_a_built_image_by_its_pushed_digest():
    evaluation = evaluate(raw_config(with_requirements("monitoring"), build={"enabled": True}, tag="v7"), "test",
                          mocks=PushingMocks())
    assert _container(evaluation, "evidently")["image"] == "docker.io/explain/evidently:v7@sha256:" + "ab" * 32


def test_tag_changes_only_built_images():
    before = run(raw_config(EVERYTHING, tag="v1"))
    after = run(raw_config(EVERYTHING, tag="v2"))
    def by_name(evaluation, kind):
        return {document["metadata"]["name"]: document for document in objects(evaluation, kind)}

    old, new = by_name(before, "Deployment"), by_name(after, "Deployment")
    changed = sorted(name for name in old if old[name] != new[name])
    assert changed == ["data-streaming", "evidently", "jupyter", "ml-flow"]
    assert all(_container(after, name)["image"].endswith(":v2") for name in changed)
    assert objects(before, "Release") == objects(after, "Release")
    assert by_name(before, "PersistentVolumeClaim") == by_name(after, "PersistentVolumeClaim")
    assert by_name(before, "Service") == by_name(after, "Service")


def test_registry_mirror_rewrites_third_party_images():
    evaluation = run(raw_config(with_requirements("s3TypeDatabase"), registry={"mirror": "registry.internal:5000"}))
    values = objects(evaluation, "Release")[0]["values"]
    assert values["image"]["repository"] == "registry.internal:5000/minio/minio"
    assert values["mcImage"]["repository"] == "registry.internal:5000/minio/mc"
    images = evaluation.outputs["images"]
    assert {"service": "third-party", "source": f"quay.io/minio/minio:{catalog.MINIO_IMAGE[2]}",
            "image": f"registry.internal:5000/minio/minio:{catalog.MINIO_IMAGE[2]}", "built": False} in images


def test_stack_outputs_name_every_enabled_endpoint():
    evaluation = run(raw_config(EVERYTHING), stack="out")
    assert evaluation.outputs["namespace"] == "explain-out"
    services = evaluation.outputs["services"]
    assert set(services) == {"minio", "mlflow", "jupyter", "monitoring", "dataStreaming"}
    assert services["minio"]["console"]["portForward"] == "kubectl -n explain-out port-forward svc/minio-console 9001:9001"
    assert services["jupyter"]["http"]["portForward"] == "kubectl -n explain-out port-forward svc/jupyter-service 8080:80"
    assert {image["image"] for image in evaluation.outputs["images"]} >= {"docker.io/explain/jupyter:v1.0"}


SECRET_VALUES = {"explain:minioRootPassword": "minio-pw-7f3a9c1e", "explain:jupyterToken": "jupyter-tok-51d0b2aa",
                 "explain:mlflowAdminPassword": "mlflow-pw-0c4e99d3"}


def test_no_secret_value_in_plaintext_anywhere_in_render_output(tmp_path):
    raw = {**raw_config(EVERYTHING), **SECRET_VALUES}
    evaluation = evaluate(raw, "secrets", secret_keys=list(SECRET_VALUES))
    assert render(evaluation, tmp_path) == []
    texts = [path.read_text() for path in tmp_path.rglob("*") if path.is_file()]
    assert len(texts) > 10
    for value in SECRET_VALUES.values():
        assert not any(value in text for text in texts)
    secrets = {d["metadata"]["name"]: d for _, d in manifests(evaluation) if d.get("kind") == "Secret"}
    assert secrets["minio-credentials"]["stringData"] == {"rootUser": SECRET_SHOWN_AS, "rootPassword": SECRET_SHOWN_AS}
    assert secrets["jupyter-token"]["stringData"] == {"token": SECRET_SHOWN_AS}
    assert secrets["mlflow-credentials"]["stringData"] == {"username": SECRET_SHOWN_AS, "password": SECRET_SHOWN_AS}
    for config_map in objects(evaluation, "ConfigMap"):
        assert not any(value in json.dumps(config_map) for value in SECRET_VALUES.values())


def test_generated_credentials_are_kept_once_created():
    evaluation = run(raw_config(EVERYTHING))
    secrets = {r.inputs["metadata"]["name"]: r.inputs for r in evaluation.resources
               if r.type == "kubernetes:core/v1:Secret"}
    assert set(secrets) == {"minio-credentials", "jupyter-token", "mlflow-credentials", "mlflow-server-key"}
    assert all(secret["stringData"] != {} for secret in secrets.values())


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_rendered_stacks_pass_the_strict_schema(stack, tmp_path):
    raw, secure = load_stack_file(stack, ROOT)
    evaluation = evaluate(raw, stack, secure)
    assert render(evaluation, tmp_path) == []
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan) == len(evaluation.resources)
    assert all(set(entry) == {"type", "name", "parent", "inputs"} for entry in plan)
    files = list((tmp_path / "manifests").glob("*.yaml"))
    assert len(files) == len(manifests(evaluation))


def test_schema_check_fails_on_bad_objects():
    assert schema_errors({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                          "spec": {"ports": [{"port": "eighty"}]}})
    assert schema_errors({"apiVersion": "v1", "kind": "Servce", "metadata": {"name": "x"}})
    assert schema_errors({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "extra": 1})


def test_component_outputs_resolve_under_the_mock_runtime():
    """A direct @pulumi.runtime.test: the returned output is awaited, so the assertion runs."""
    from components.platform import service_url

    checked = []

    @pulumi.runtime.test
    def check():
        evaluation = run(raw_config())
        url = pulumi.Output.from_input(evaluation.outputs["services"]["mlflow"]["http"]["url"])
        return url.apply(lambda value: checked.append(value == service_url("ml-flow-service", "explain-test", 5000)))

    check()
    assert checked == [True]


def test_mlflow_also_answers_the_external_names_given_and_no_address_pattern():
    def allowed(settings):
        container = _container(run(raw_config(services={"mlflow": settings})), "ml-flow")
        return container["args"][container["args"].index("--allowed-hosts") + 1].split(",")

    inside = allowed({})
    behind_ingress = allowed({"externalHosts": ["mlflow.example.org"]})
    exposed = allowed({"serviceType": "LoadBalancer", "externalHosts": ["mlflow.example.org", "203.0.113.7:*"]})
    assert set(behind_ingress) == set(inside) | {"mlflow.example.org"}
    assert set(exposed) == set(inside) | {"mlflow.example.org", "203.0.113.7:*"}
    # `10.*` would also match `10.attacker.example`: no prefix pattern of MLflow's own defaults.
    assert not any(host.endswith(".*") for host in exposed)


def test_the_image_simulator_starts_with_flask_s_cli_on_the_platform_s_port(tmp_path):
    features = with_requirements("liveDataAndDriftSimulation")
    evaluation = evaluate(raw_config(features, dataType="Image", build={"enabled": True}), "img",
                          build_dir=tmp_path)
    (image,) = [r for r in evaluation.of_type("docker:index/image:Image") if "data-streaming" in r.inputs["imageName"]]
    dockerfile = open(image.inputs["build"]["dockerfile"]).read()
    assert 'CMD ["flask", "--app", "flask_app", "run", "--host", "0.0.0.0", "--port", "5020"]' in dockerfile
    assert "COPY --chown=10001 . /opt/explain/simulator/" in dockerfile  # it writes its uploads next to its code
    assert image.inputs["build"]["context"].endswith("/data-streaming/context")  # the pinned commit's export


def test_minio_quantities_reach_helm_as_given():
    limits = {"cpu": "010", "memory": "1e9"}
    evaluation = run(raw_config(with_requirements("s3TypeDatabase"), services={"minio": {"resources": {"limits": limits}}}))
    assert objects(evaluation, "Release")[0]["values"]["resources"]["limits"] == limits


OTHER_VALUES = {"memorySize": 1024, "xaiAlgorithm": "LIME", "userGuidedModelSelectionKind": "NN"}


@pytest.mark.parametrize("spec", FEATURES, ids=lambda spec: spec.key)
def test_exactly_the_features_the_readme_says_change_what_this_release_deploys(spec):
    base = {key: True for key in requirements_of(spec.key)}
    changed = {**base, spec.key: True if spec.is_switch else OTHER_VALUES[spec.key]}
    data_type = "Image" if spec.key == "imageLiveDataUi" else "Time-Series"
    before, after = (dict(manifests(run(raw_config(features, dataType=data_type), stack="effect")))
                     for features in (base, changed))
    says_it_does = spec.key in {s.feature for s in catalog.SERVICES} | set(catalog.SERVICE_SETTING_FEATURES)
    assert (before != after) == says_it_does


def test_a_private_registry_logs_in_as_its_user_and_pods_pull_with_its_secret():
    raw = {**raw_config(EVERYTHING, build={"enabled": True},
                        registry={"server": "harbor.example.org", "username": "robot$explain+ci",
                                  "pullSecret": "harbor-pull"}),
           "explain:registryPassword": "harbor-token-0123"}
    evaluation = evaluate(raw, "private", secret_keys=["explain:registryPassword"])
    images = evaluation.of_type("docker:index/image:Image")
    assert images and all(image.inputs["registry"]["username"] == "robot$explain+ci" for image in images)
    assert all(image.inputs["registry"]["server"] == "harbor.example.org" for image in images)
    for deployment in objects(evaluation, "Deployment"):
        assert deployment["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    assert objects(evaluation, "Release")[0]["values"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
