"""Refusal of bad config: every rule names the key, the rule and the fix; nothing is registered."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from helpers import ROOT, raw_config, with_requirements

from explain_infra import catalog
from explain_infra.config import default_namespace, load_stack_config, quantity_value
from explain_infra.errors import ConfigError
from explain_infra.features import FEATURES, FEATURES_BY_KEY, Features, dependents_of, requirements_of
from explain_infra.offline import Evaluation, evaluate
from explain_infra.stack_file import load_stack_file

REQUIRING_SWITCHES = [spec for spec in FEATURES if spec.is_switch and spec.requires]
CLUSTERS = ["cpuCluster", "gpuCluster", "tpuCluster", "fpgaCluster"]


def issues_of(raw, stack="test", secure=frozenset()):
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, stack, secure)
    return caught.value.issues


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_are_valid(stack):
    raw, secure = load_stack_file(stack, ROOT)
    config = load_stack_config(raw, stack, secure)
    assert config.namespace == f"explain-{stack}"


def test_feature_table_covers_every_key_of_the_mission():
    assert len(FEATURES) == 63
    assert [field.alias for field in Features.model_fields.values()] == [spec.key for spec in FEATURES]
    mission_keys = {"memorySize", "xaiAlgorithm", "userGuidedModelSelectionKind", "backgroundSubstraction",
                    "xaiFeedbackGuiForTimeSeries", "fpgaCluster", "containerRegistry", "imageLiveDataUi"}
    assert mission_keys <= {spec.key for spec in FEATURES}
    defaults = Features()
    assert defaults.memory_size == 512 and defaults.xai_algorithm == "SHAP"
    assert defaults.user_guided_model_selection_kind == "Conventional"
    assert not any(defaults.enabled(spec.key) for spec in FEATURES if spec.is_switch)


def _data_type_of(spec) -> str:
    """The data type whose simulator a feature belongs to (its UI), else Time-Series."""
    return "Image" if spec.key == "imageLiveDataUi" else "Time-Series"


@pytest.mark.parametrize("spec", REQUIRING_SWITCHES, ids=lambda spec: spec.key)
def test_each_requires_rule_is_refused_with_key_rule_and_fix(spec):
    # Everything the feature's requirements need is on, except the requirements themselves.
    features = {key: True for required in spec.requires for key in with_requirements(required)}
    features.update({required: False for required in spec.requires})
    features[spec.key] = True
    issues = issues_of(raw_config(features, dataType=_data_type_of(spec)))
    mine = [issue for issue in issues if issue.key == spec.config_key]
    assert mine, issues
    for required in spec.requires:
        assert f"`{required}`" in mine[0].rule
        assert f"pulumi config set --path 'explain:features.{required}' true" in mine[0].fix
    assert f"pulumi config set --path '{spec.config_key}' false" in mine[0].fix


def test_user_guided_model_selection_needs_both_model_selection_and_streaming():
    issues = issues_of(raw_config({"userGuidedModelSelection": True, "modelSelection": True}))
    assert [issue.key for issue in issues] == ["explain:features.userGuidedModelSelection"]
    assert "`dataStreaming`" in issues[0].rule and "`modelSelection`" not in issues[0].rule
    load_stack_config(raw_config(with_requirements("userGuidedModelSelection")), "test")


@pytest.mark.parametrize("parameter,value,parent", [
    ("xaiAlgorithm", "LIME", "xaiSelection"),
    ("memorySize", 1024, "s3TypeDatabase"),
    ("userGuidedModelSelectionKind", "NN", "userGuidedModelSelection"),
])
def test_a_parameter_set_without_its_feature_is_refused(parameter, value, parent):
    issues = issues_of(raw_config({parameter: value}))
    assert issues[0].key == f"explain:features.{parameter}"
    assert f"`{parent}`" in issues[0].rule
    assert f"pulumi config rm --path 'explain:features.{parameter}'" in issues[0].fix
    load_stack_config(raw_config({parameter: value, **with_requirements(parent)}), "test")


@pytest.mark.parametrize("first,second", [(a, b) for a in CLUSTERS for b in CLUSTERS if a < b])
def test_training_clusters_exclude_each_other(first, second):
    issues = issues_of(raw_config({first: True, second: True}))
    assert len(issues) == 1
    assert "excludes" in issues[0].rule
    assert {issue.key for issue in issues} <= {f"explain:features.{first}", f"explain:features.{second}"}
    assert "false" in issues[0].fix


@pytest.mark.parametrize("key,value,suggestion", [
    ("explain:featurs", {}, "features"),
    ("explain:dataTyp", "Image", "dataType"),
])
def test_unknown_top_level_key_suggests_the_closest(key, value, suggestion):
    raw = raw_config()
    raw[key] = value if isinstance(value, str) else "{}"
    issue = next(issue for issue in issues_of(raw) if issue.key == key)
    assert f"did you mean `{suggestion}`" in issue.rule
    assert f"pulumi config rm {key}" in issue.fix


def test_unknown_nested_keys_suggest_the_closest():
    raw = raw_config({"monitorng": True}, services={"mlflw": {}, "minio": {"serviceTyp": "NodePort"}})
    by_key = {issue.key: issue for issue in issues_of(raw)}
    assert "did you mean `monitoring`" in by_key["explain:features.monitorng"].rule
    assert "did you mean `mlflow`" in by_key["explain:services.mlflw"].rule
    assert "did you mean `serviceType`" in by_key["explain:services.minio.serviceTyp"].rule


@pytest.mark.parametrize("key,raw_value,allowed,closest", [
    ("explain:dataType", "TimeSeries", "Time-Series, Image, Other", "Time-Series"),
    ("explain:dataType", "image", "Time-Series, Image, Other", "Image"),
    ("explain:features", '{"xaiSelection": true, "modelSelection": true, "xaiAlgorithm": "shap"}', "LIME, SHAP", "SHAP"),
    ("explain:features", '{"modelSelection": true, "dataStreaming": true, "userGuidedModelSelection": true, '
                         '"userGuidedModelSelectionKind": "nn"}', "Conventional, NN", "NN"),
    ("explain:services", '{"jupyter": {"serviceType": "nodeport"}}', "NodePort, LoadBalancer", "NodePort"),
])
def test_wrong_enum_values_list_the_allowed_ones_and_suggest_the_closest(key, raw_value, allowed, closest):
    raw = raw_config()
    raw[key] = raw_value
    issue = issues_of(raw)[0]
    assert allowed in issue.rule
    assert issue.fix.startswith("pulumi config set") and issue.fix.endswith(f" {closest}")


@pytest.mark.parametrize("features,key,words", [
    ({"monitoring": "yes"}, "explain:features.monitoring", "not a boolean"),
    ({"s3TypeDatabase": True, "dataRepository": True, "memorySize": 64}, "explain:features.memorySize", "out of range"),
    ({"s3TypeDatabase": True, "dataRepository": True, "memorySize": "lots"}, "explain:features.memorySize",
     "not a whole number from 128 to 262144"),
    ({"s3TypeDatabase": True, "dataRepository": True, "memorySize": 1024.5}, "explain:features.memorySize",
     "not a whole number from 128 to 262144"),
])
def test_wrong_types_and_out_of_range_numbers(features, key, words):
    issue = next(issue for issue in issues_of(raw_config(features)) if issue.key == key)
    assert words in issue.rule
    # A value of the wrong type is removed first: `config set` over it would keep its type.
    wrong_type = "out of range" not in words
    assert issue.fix.startswith(f"pulumi config rm --path '{key}', then " if wrong_type else "pulumi config set")
    assert f"pulumi config set --path '{key}' " in issue.fix and "<" not in issue.fix


def test_text_given_something_else_names_the_expected_form():
    raw = raw_config(services={"mlflow": {"resources": {"limits": {"cpu": True}}}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:services.mlflow.resources.limits.cpu"
    assert "a Kubernetes quantity" in issue.rule and issue.fix.endswith(" '<quantity>'")  # nothing to guess


def test_a_list_item_is_named_as_pulumi_s_path_syntax_takes_it():
    raw = raw_config(services={"monitoring": {"command": ["uvicorn", "app:app", "--port", 8000, True, False]}})
    keys = {issue.key for issue in issues_of(raw)}  # a number is its text: `--port 8000` is fine
    assert keys == {"explain:services.monitoring.command[4]", "explain:services.monitoring.command[5]"}


def test_every_problem_is_reported_even_when_some_values_do_not_parse():
    raw = raw_config({"developmentIde": True, "monitoring": "yes"}, tag="v1 beta", namespace="default",
                     build={"enabled": True},
                     services={"mlflow": {"resources": {"requests": {"cpu": "4"}}, "build": {"context": "tools/nope"}}})
    del raw["explain:dockerHubUser"]
    keys = {issue.key for issue in issues_of(raw)}
    assert keys == {"explain:tag", "explain:features.monitoring", "explain:dockerHubUser",
                    "explain:services.mlflow.resources.limits.cpu", "explain:services.mlflow.build.context",
                    "explain:namespace"}


def test_a_null_anywhere_is_not_set():
    load_stack_config({**raw_config(), "explain:services": json.dumps({"mlflow": None, "jupyter": {"build": None}})},
                      "test")


def test_malformed_tag_and_quantity():
    raw = raw_config(tag="v1.0 beta", services={"minio": {"resources": {"limits": {"memory": "a lot"}}}})
    keys = {issue.key for issue in issues_of(raw)}
    assert keys == {"explain:tag", "explain:services.minio.resources.limits.memory"}


def test_missing_required_keys():
    issues = issues_of({"explain:tag": "v1"})
    # With the data type missing, the rest is still checked: the images it builds need a user.
    assert [issue.key for issue in issues] == ["explain:dataType", "explain:dockerHubUser"]
    assert issues[0].fix == "pulumi config set explain:dataType Time-Series"


def test_docker_hub_user_required_when_an_image_is_built():
    raw = raw_config(build={"enabled": True})
    del raw["explain:dockerHubUser"]
    issue = issues_of(raw)[0]
    assert issue.key == "explain:dockerHubUser"
    assert "builds and pushes" in issue.rule and "mlflow" in issue.rule
    assert issue.fix.startswith("pulumi config set explain:dockerHubUser")


def test_docker_hub_user_not_needed_when_every_image_is_given():
    raw = raw_config(services={"mlflow": {"build": {"image": "registry.local/ml/mlflow:2"}}})
    del raw["explain:dockerHubUser"]
    load_stack_config(raw, "test")


def test_missing_local_build_context_is_refused():
    raw = raw_config(with_requirements("liveDataAndDriftSimulation"), build={"enabled": True},
                     services={"dataStreaming": {"build": {"context": "tools/live-data-drift-simulation"}}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:services.dataStreaming.build.context"
    assert "`tools/live-data-drift-simulation` does not exist" in issue.rule


def test_every_data_type_with_a_builtin_simulator_builds_it_out_of_the_box():
    for data_type in ("Time-Series", "Image"):
        load_stack_config(raw_config(with_requirements("liveDataAndDriftSimulation"), dataType=data_type,
                                     build={"enabled": True}), "test")


def test_a_short_mlflow_admin_password_is_refused():
    raw = {**raw_config(), "explain:mlflowAdminPassword": "eleven-char"}
    (issue,) = issues_of(raw, secure=frozenset({"explain:mlflowAdminPassword"}))
    assert issue.key == "explain:mlflowAdminPassword" and "shorter than 12 characters" in issue.rule
    assert "pulumi config set --secret explain:mlflowAdminPassword" in issue.fix
    raw["explain:mlflowAdminPassword"] = "twelve-chars"
    load_stack_config(raw, "test", frozenset({"explain:mlflowAdminPassword"}))


def test_other_data_type_has_no_builtin_simulator():
    raw = raw_config(with_requirements("liveDataAndDriftSimulation"), dataType="Other", build={"enabled": True})
    issue = next(issue for issue in issues_of(raw) if "dataStreaming" in issue.key)
    assert "build.image" in issue.fix


def test_secret_keys_must_be_encrypted():
    raw = raw_config()
    raw["explain:minioRootPassword"] = "hunter2-hunter2"
    issue = issues_of(raw)[0]
    assert issue.key == "explain:minioRootPassword"
    assert "--secret" in issue.fix
    load_stack_config(raw, "test", frozenset({"explain:minioRootPassword"}))


def test_every_problem_is_reported_at_once():
    raw = raw_config({"automl": True, "cpuCluster": True, "gpuCluster": True}, tag="bad tag")
    raw["explain:colour"] = "blue"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "test")
    # The unknown key, the tag, and the rules of the features, although the config does not parse.
    assert {issue.key for issue in caught.value.issues} == {
        "explain:colour", "explain:tag", "explain:features.automl", "explain:features.cpuCluster"}
    raw["explain:tag"] = "v2"
    del raw["explain:colour"]
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "test")
    assert len(caught.value.issues) == 2  # automl requires, clusters exclude


@pytest.mark.parametrize("features", [
    {"automl": True},
    {"cpuCluster": True, "tpuCluster": True},
    {"userGuidedModelSelection": True, "modelSelection": True},
    {"liveDataAndDriftSimulation": True},
])
def test_bad_config_registers_no_resource(features):
    registered = Evaluation()
    with pytest.raises(Exception) as caught:
        evaluate(raw_config(features), "test", into=registered)
    assert "nothing was deployed" in str(caught.value)
    assert registered.resources == []


def test_cli_validate_exit_codes(tmp_path, monkeypatch, capsys):
    from explain_infra.__main__ import main

    (tmp_path / "Pulumi.good.yaml").write_text(
        "config:\n  explain:dataType: Image\n  explain:tag: v2\n  explain:dockerHubUser: me\n"
        "  explain:build:\n    enabled: false\n")
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  explain:dataType: Image\n  explain:tag: v2\n  explain:dockerHubUser: me\n"
        "  explain:features:\n    xaiTraining: true\n")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--stack", "good"]) == 0
    assert main(["validate", "--stack", "bad"]) == 1
    err = capsys.readouterr().err
    assert "explain:features.xaiTraining" in err and "pulumi config set --path 'explain:features.xaiSelection' true" in err
    assert main(["validate", "--stack", "missing"]) == 1


def test_readme_config_reference_is_generated_from_the_models():
    from explain_infra.docs import config_reference, update_readme

    assert update_readme(check=True) is False, "run `python -m explain_infra docs`"
    reference = config_reference()
    assert all(f"`{spec.key}`" in reference for spec in FEATURES)


def test_the_readme_example_reports_both_problems():
    raw = raw_config({"automl": True, "monitorng": True})
    assert {issue.key for issue in issues_of(raw)} == {"explain:features.automl", "explain:features.monitorng"}


def _apply_fix(features: dict, fix: str, alternative: bool = False) -> dict:
    """Carry out the `pulumi config set|rm --path 'explain:features.X' …` commands of a fix: those before
    `(or: …)`, or with ``alternative`` those inside it."""
    main, _, other = fix.partition("(or:")
    applied = dict(features)
    for command in (other.rstrip(")") if alternative else main).split(";"):
        words = command.split()
        if words[2] == "rm":
            applied.pop(words[-1].strip("'").removeprefix("explain:features."))
        else:
            key, value = words[-2].strip("'"), words[-1]
            applied[key.removeprefix("explain:features.")] = value == "true"
    return applied


@pytest.mark.parametrize("spec", REQUIRING_SWITCHES, ids=lambda spec: spec.key)
def test_following_a_requires_fix_gives_a_valid_config(spec):
    features = {spec.key: True}
    data_type = _data_type_of(spec)
    (issue,) = [issue for issue in issues_of(raw_config(features, dataType=data_type)) if issue.key == spec.config_key]
    load_stack_config(raw_config(_apply_fix(features, issue.fix), dataType=data_type), "test")


@pytest.mark.parametrize("spec", REQUIRING_SWITCHES, ids=lambda spec: spec.key)
def test_the_alternative_of_a_requires_fix_turns_off_what_depends_on_it_too(spec):
    # The switch, and everything that needs it, on: only the switch's own requirement is missing.
    features = {key: True for key in [spec.key, *dependents_of(spec.key)] if FEATURES_BY_KEY[key].is_switch}
    features.update({key: True for key in requirements_of(spec.key)})
    features[spec.requires[0]] = False
    data_type = _data_type_of(spec)
    issue = next(issue for issue in issues_of(raw_config(features, dataType=data_type)) if issue.key == spec.config_key)
    load_stack_config(raw_config(_apply_fix(features, issue.fix, alternative=True), dataType=data_type), "test")


def test_parameters_given_at_their_defaults_count_as_not_set():
    features = {spec.key: spec.default for spec in FEATURES}  # every key of the feature model, as documented
    load_stack_config(raw_config(features), "test")


def test_a_requires_fix_turns_on_the_whole_chain():
    (issue,) = issues_of(raw_config({"workflowOrchestration": True}))
    assert "requires `packagingAndContainerization`" in issue.rule
    assert "'explain:features.packagingAndContainerization' true" in issue.fix
    assert "'explain:features.modelSerialization' true" in issue.fix


def test_a_dotted_key_set_without_path_is_explained():
    raw = raw_config()
    raw["explain:features.automl"] = "true"
    (issue,) = issues_of(raw)
    assert "without `--path`" in issue.rule
    assert issue.fix == ("pulumi config rm explain:features.automl, "
                         "then pulumi config set --path 'explain:features.automl' <value>")


@pytest.mark.parametrize("settings,key,suggestion", [
    ({"features": {"data_repository": True}}, "explain:features.data_repository", "dataRepository"),
    ({"storage": {"class_name": "fast"}}, "explain:storage.class_name", "className"),
    ({"services": {"mlflow": {"storage_size": "3Gi"}}}, "explain:services.mlflow.storage_size", "storageSize"),
])
def test_snake_case_twins_of_keys_are_unknown(settings, key, suggestion):
    features = settings.pop("features", {})
    issue = next(issue for issue in issues_of(raw_config(features, **settings)) if issue.key == key)
    assert f"did you mean `{suggestion}`" in issue.rule


def test_quantities_may_be_numbers_and_any_kubernetes_form():
    config = load_stack_config(raw_config(services={"mlflow": {"resources": {
        "requests": {"cpu": 0.5, "memory": "1e9"}, "limits": {"cpu": 2, "memory": "1.5Gi"}}}}), "test")
    assert config.resources(catalog.MLFLOW) == catalog.ResourceDefaults("0.5", "1e9", "2", "1.5Gi")
    assert quantity_value("500m") == Decimal("0.5") and quantity_value("2Ki") == 2048
    assert quantity_value("1e3") == 1000 and quantity_value(".5") == Decimal("0.5")


def test_a_request_above_its_limit_is_refused():
    raw = raw_config(services={"mlflow": {"resources": {"requests": {"cpu": "4"}, "limits": {"cpu": "1"}}}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:services.mlflow.resources.limits.cpu" and "(4) is above its limit (1)" in issue.rule
    raw = raw_config({**with_requirements("s3TypeDatabase"), "memorySize": 8192},
                     services={"minio": {"resources": {"limits": {"memory": "1Gi"}}}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:services.minio.resources.limits.memory" and "8192Mi" in issue.rule


def test_settings_a_service_cannot_honour_are_refused():
    raw = raw_config(with_requirements("s3TypeDatabase", "liveDataAndDriftSimulation"), services={
        "minio": {"build": {"image": "me/minio:1"}, "command": ["minio"], "resources": {"requests": {"memory": "1Gi"}}},
        "dataStreaming": {"storageSize": "1Gi"}})
    issues = {issue.key: issue for issue in issues_of(raw)}
    assert set(issues) == {"explain:services.minio.build", "explain:services.minio.command",
                           "explain:services.minio.resources.requests.memory",
                           "explain:services.dataStreaming.storageSize"}
    assert "explain:features.memorySize" in issues["explain:services.minio.resources.requests.memory"].fix


@pytest.mark.parametrize("namespace", ["default", "kube-system", "kube-anything"])
def test_the_cluster_s_own_namespaces_are_not_taken_over(namespace):
    (issue,) = issues_of(raw_config(namespace=namespace))
    assert issue.key == "explain:namespace" and "createNamespace false" in issue.fix
    load_stack_config(raw_config(namespace=namespace, createNamespace=False), "test")


@pytest.mark.parametrize("settings,key", [
    ({"registry": {"server": "https://my.registry:5000/"}}, "explain:registry.server"),
    ({"registry": {"mirror": "mirror.local/"}}, "explain:registry.mirror"),
    ({"services": {"mlflow": {"build": {"image": "Not A Valid Ref!!"}}}}, "explain:services.mlflow.build.image"),
    ({"storage": {"className": "Fast_SSD"}}, "explain:storage.className"),
    ({"charts": {"minio": {"version": "^5.4"}}}, "explain:charts.minio.version"),
    ({"build": {"enabled": False, "platform": "amd64"}}, "explain:build.platform"),
])
def test_malformed_references_name_the_expected_form(settings, key):
    (issue,) = issues_of(raw_config(**settings))
    assert issue.key == key and "is malformed: must be" in issue.rule and "[0-9]" not in issue.rule


def test_a_missing_local_chart_is_refused():
    raw = raw_config(with_requirements("s3TypeDatabase"), charts={"minio": {"path": "charts/none-here"}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:charts.minio.path" and "does not exist" in issue.rule
    load_stack_config(raw_config(with_requirements("s3TypeDatabase"),
                                 charts={"minio": {"path": "tests/e2e/charts/minio-standin"}}), "test")


def test_valid_references_are_accepted():
    load_stack_config(raw_config(
        dockerHubUser="group/my--team", registry={"server": "registry.local:5000", "mirror": "mirror.local/library"},
        storage={"className": "fast.ssd"},
        services={"mlflow": {"build": {"image": "registry.local:5000/ml/mlflow:2.19@sha256:" + "a" * 64}}}), "test")


def test_default_namespaces_stay_apart_and_valid():
    stacks = ["dev", "my-stack", "My_Stack", "MY.STACK", "___", "x" * 70, "x" * 70 + "y"]
    namespaces = [default_namespace(stack) for stack in stacks]
    assert namespaces[:2] == ["explain-dev", "explain-my-stack"]
    assert len(set(namespaces)) == len(stacks)
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", namespace) for namespace in namespaces)


def test_keys_meant_for_this_program_in_another_namespace():
    raw = raw_config()
    raw.update({"explian:tag": "v2", "explain-mlops:tag": "v2", "kubernetes:context": "kind"})
    issues = {issue.key: issue for issue in issues_of(raw)}
    assert set(issues) == {"explian:tag", "explain-mlops:tag"}
    assert "did you mean `explain:`" in issues["explian:tag"].rule
    assert "reads only `explain:` keys" in issues["explain-mlops:tag"].rule


def test_a_misspelt_secret_is_set_again_as_a_secret():
    raw = raw_config()
    raw["explain:jupytertoken"] = "x"
    (issue,) = issues_of(raw)
    assert issue.fix.endswith("then pulumi config set --secret explain:jupyterToken <value>")


def test_an_object_given_as_a_scalar_gets_a_path_fix():
    (issue,) = issues_of(raw_config(build="false"))
    assert issue.key == "explain:build" and "must be an object" in issue.rule
    assert issue.fix == "pulumi config rm explain:build, then pulumi config set --path 'explain:build.enabled' <value>"


@pytest.mark.parametrize("settings,key,words", [
    ({"services": {"mlflow": {"storageSize": 0}}}, "explain:services.mlflow.storageSize", "must be more than 0"),
    ({"services": {"mlflow": {"resources": {"limits": {"cpu": "0"}}}}}, "explain:services.mlflow.resources.limits.cpu",
     "must be more than 0"),
    ({"charts": {"minio": {"chart": ""}}}, "explain:charts.minio.chart", "a chart name"),
    ({"charts": {"minio": {"repository": "not a url"}}}, "explain:charts.minio.repository", "a chart repository URL"),
    ({"services": {"mlflow": {"command": []}}}, "explain:services.mlflow.command", "is empty"),
    ({"services": {"mlflow": {"command": [""]}}}, "explain:services.mlflow.command[0]", "is empty"),
    ({"services": {"mlflow": {"build": {"context": ""}}}}, "explain:services.mlflow.build.context", "is empty"),
    ({"services": {"jupyter": {"externalHosts": ["x.example.org"]}}}, "explain:services.jupyter.externalHosts",
     "only MLflow"),
    ({"services": {"mlflow": {"externalHosts": ["https://x.example.org/"]}}},
     "explain:services.mlflow.externalHosts[0]", "a host name or IP address"),
])
def test_what_kubernetes_helm_or_the_service_would_refuse_later_is_refused_now(settings, key, words):
    (issue,) = issues_of(raw_config(**settings))
    assert issue.key == key and words in issue.rule


@pytest.mark.parametrize("secret,length", [("minioRootPassword", 8), ("jupyterToken", 8),
                                           ("mlflowAdminPassword", 12), ("registryPassword", 1)])
def test_secrets_shorter_than_their_service_takes_are_refused(secret, length):
    key = f"explain:{secret}"
    (issue,) = issues_of({**raw_config(), key: "x" * (length - 1)}, secure=frozenset({key}))
    assert issue.key == key and f"shorter than {length}" in issue.rule
    load_stack_config({**raw_config(), key: "x" * length}, "test", frozenset({key}))


@pytest.mark.parametrize("data_type,feature", [("Time-Series", "imageLiveDataUi"), ("Image", "timeSeriesLiveDataUi"),
                                               ("Other", "timeSeriesLiveDataUi")])
def test_a_simulator_ui_of_another_data_type_is_refused(data_type, feature):
    features = {**with_requirements("liveDataAndDriftSimulation"), feature: True}
    raw = raw_config(features, dataType=data_type)
    issue = next(issue for issue in issues_of(raw) if issue.key == f"explain:features.{feature}")
    assert f"but `dataType` is `{data_type}`" in issue.rule
    assert issue.fix.startswith(f"pulumi config set --path 'explain:features.{feature}' false")


def test_minio_s_memory_request_becomes_memory_size_in_mb_only_while_minio_is_on():
    request = {"services": {"minio": {"resources": {"requests": {"memory": "3Gi"}}}}}
    (issue,) = issues_of(raw_config(with_requirements("s3TypeDatabase"), **request))
    assert issue.fix.endswith("pulumi config set --path 'explain:features.memorySize' 3072")
    (issue,) = issues_of(raw_config(**request))
    assert issue.fix == "pulumi config rm --path 'explain:services.minio.resources.requests.memory'"


def test_a_secret_in_the_wrong_namespace_is_set_again_as_a_secret():
    (issue,) = issues_of({**raw_config(), "explain-mlops:jupyterToken": "x" * 20},
                         secure=frozenset({"explain-mlops:jupyterToken"}))
    assert issue.fix.endswith("pulumi config set --secret explain:jupyterToken <value>")


def test_the_namespace_fix_is_what_was_meant_or_the_stack_s_own_default():
    (issue,) = issues_of(raw_config(namespace="Team_Prod"), stack="prod2")
    assert issue.fix == "pulumi config set explain:namespace team-prod"
    (issue,) = issues_of(raw_config(namespace="default"), stack="prod2")
    assert issue.fix.startswith(f"pulumi config set explain:namespace {default_namespace('prod2')}")


def test_a_setting_that_is_not_a_secret_is_not_stored_encrypted():
    raw = raw_config()
    (issue,) = issues_of(raw, secure=frozenset({"explain:tag"}))
    assert issue.key == "explain:tag" and "not a secret" in issue.rule and "without --secret" in issue.fix


def test_fixes_of_wrong_types_keep_what_the_value_meant():
    features = {"monitoring": "no", "memorySize": "4096", "dataRepository": True, "s3TypeDatabase": True}
    fixes = {issue.key: issue.fix for issue in issues_of(raw_config(features))}
    assert fixes["explain:features.monitoring"].endswith("'explain:features.monitoring' false")
    assert fixes["explain:features.memorySize"].endswith("'explain:features.memorySize' 4096")
    load_stack_config(raw_config({**features, "monitoring": "false", "memorySize": 4096}), "test")  # text "false" is


@pytest.mark.parametrize("settings,keys", [
    ({"features": {"memorySize": 0}}, {"explain:features.memorySize"}),
    ({"dataType": "other", "build": {"enabled": True}, "features": with_requirements("liveDataAndDriftSimulation")},
     {"explain:dataType", "explain:services.dataStreaming.build.context"}),
    ({"dataType": "image", "features": {**with_requirements("liveDataAndDriftSimulation"), "imageLiveDataUi": True}},
     {"explain:dataType"}),
])
def test_the_second_pass_checks_the_rest_with_what_the_refused_values_meant(settings, keys):
    issues = issues_of(raw_config(**settings))
    assert {issue.key for issue in issues} == keys
    if settings["features"].get("memorySize") == 0:  # still set: its requirement is reported at once
        assert len(issues) == 2 and any("requires `s3TypeDatabase`" in issue.rule for issue in issues)


def test_a_dotted_key_inside_an_object_is_named_so_that_rm_finds_it():
    (issue,) = issues_of(raw_config({"monitoring.enabled": True}))
    assert issue.key == 'explain:features["monitoring.enabled"]'
    assert issue.fix.startswith("""pulumi config rm --path 'explain:features["monitoring.enabled"]', then set""")


@pytest.mark.parametrize("settings,key,words", [
    ({"mlflow": {"command": ["mlflow", "server"]}}, "explain:services.mlflow.command", "without authentication"),
    ({"mlflow": {"serviceType": "NodePort"}}, "explain:services.mlflow.externalHosts", "answers only host names"),
    ({"mlflow": {"build": {"image": "r.example.com/x/mlflow:1", "context": "tools/nope"}}},
     "explain:services.mlflow.build.image", "`build.context` would be ignored"),
])
def test_settings_that_would_open_mlflow_or_be_ignored_are_refused(settings, key, words):
    (issue,) = issues_of(raw_config(services=settings))
    assert issue.key == key and words in issue.rule


def test_mlflow_s_old_default_password_is_refused():
    key = "explain:mlflowAdminPassword"
    (issue,) = issues_of({**raw_config(), key: "password1234"}, secure=frozenset({key}))
    assert "well-known default" in issue.rule


def test_a_long_path_is_no_folder_rather_than_a_crash():
    raw = raw_config(build={"enabled": True}, services={"mlflow": {"build": {"context": "x" * 300}}})
    (issue,) = issues_of(raw)
    assert issue.key == "explain:services.mlflow.build.context" and "does not exist" in issue.rule


def test_an_object_stored_encrypted_gets_a_fix_per_value_not_for_the_whole_object():
    raw = raw_config(services={"mlflow": {"build": {"image": "r.example.com/x/mlflow:1"}}})
    (issue,) = issues_of(raw, secure=frozenset({"explain:services"}))
    assert "not a secret" in issue.rule and "--path 'explain:services.<key>'" in issue.fix


@pytest.mark.parametrize("settings,key,value", [
    ({"services": {"mlflow": {"storageSize": "10GB"}}}, "explain:services.mlflow.storageSize", "10G"),
    ({"services": {"jupyter": {"resources": {"limits": {"memory": "2 Gi"}}}}},
     "explain:services.jupyter.resources.limits.memory", "2Gi"),
    ({"services": {"mlflow": {"resources": {"requests": {"cpu": "1core"}}}}},
     "explain:services.mlflow.resources.requests.cpu", "1"),
    ({"features": {**with_requirements("s3TypeDatabase"), "memorySize": "4Gi"}}, "explain:features.memorySize", "4096"),
    ({"tag": "v1 beta"}, "explain:tag", "v1-beta"),
    ({"dataType": "time_series"}, "explain:dataType", "Time-Series"),
    ({"dataType": "tabular"}, "explain:dataType", "'<Time-Series|Image|Other>'"),
])
def test_fixes_propose_what_was_meant_and_a_placeholder_when_nothing_can_be_told(settings, key, value):
    issue = next(issue for issue in issues_of(raw_config(**settings)) if issue.key == key)
    assert issue.fix.endswith(f" {value}"), issue.fix


@pytest.mark.parametrize("resources,key,words", [
    ({"requests": {"cpu": "512Mi"}}, "requests.cpu", "a size, not CPU"),
    ({"limits": {"memory": "500m"}}, "limits.memory", "less than 4Mi"),
    ({"requests": {"memory": "1"}, "limits": {"memory": "2"}}, "requests.memory", "less than 4Mi"),
])
def test_amounts_no_container_can_use_are_refused(resources, key, words):
    issue = next(i for i in issues_of(raw_config(services={"mlflow": {"resources": resources}}))
                 if i.key == f"explain:services.mlflow.resources.{key}")
    assert words in issue.rule


def test_a_zero_limit_is_fixed_to_no_less_than_the_request():
    (issue,) = issues_of(raw_config(services={"mlflow": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "0"}}}}))
    assert issue.fix.startswith("pulumi config set --path 'explain:services.mlflow.resources.limits.cpu' 2 ")


def test_a_size_for_a_service_without_volume_gets_one_fix():
    raw = raw_config(with_requirements("liveDataAndDriftSimulation"), services={"dataStreaming": {"storageSize": 0}})
    (issue,) = issues_of(raw)
    assert issue.fix == "pulumi config rm --path 'explain:services.dataStreaming.storageSize'"


def test_with_both_simulator_uis_on_the_fix_turns_the_foreign_one_off_and_changes_no_data_type():
    features = {**with_requirements("liveDataAndDriftSimulation"), "timeSeriesLiveDataUi": True, "imageLiveDataUi": True}
    (issue,) = issues_of(raw_config(features))
    assert issue.fix == "pulumi config set --path 'explain:features.imageLiveDataUi' false"


def test_an_empty_top_level_value_is_not_set():
    raw = {**raw_config(), "explain:namespace": "", "explain:features": ""}
    assert load_stack_config(raw, "empty").namespace == default_namespace("empty")
    del raw["explain:tag"]
    raw["explain:tag"] = ""
    (issue,) = issues_of(raw)
    assert issue.key == "explain:tag" and "required" in issue.rule
