"""Refusal of bad config: every rule names the key, the rule and the fix; nothing is registered."""

from __future__ import annotations

import pytest
from helpers import ROOT, raw_config, with_requirements

from explain_infra.config import load_stack_config
from explain_infra.errors import ConfigError
from explain_infra.features import FEATURES, Features
from explain_infra.offline import Evaluation, evaluate, load_stack_file

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


@pytest.mark.parametrize("spec", REQUIRING_SWITCHES, ids=lambda spec: spec.key)
def test_each_requires_rule_is_refused_with_key_rule_and_fix(spec):
    # Everything the feature's requirements need is on, except the requirements themselves.
    features = {key: True for required in spec.requires for key in with_requirements(required)}
    features.update({required: False for required in spec.requires})
    features[spec.key] = True
    issues = issues_of(raw_config(features))
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


@pytest.mark.parametrize("key,raw_value,allowed", [
    ("explain:dataType", "TimeSeries", "'Time-Series', 'Image' or 'Other'"),
    ("explain:features", '{"xaiSelection": true, "modelSelection": true, "xaiAlgorithm": "GradCAM"}', "'SHAP'"),
    ("explain:features", '{"userGuidedModelSelectionKind": "Deep"}', "'Conventional' or 'NN'"),
    ("explain:services", '{"jupyter": {"serviceType": "Ingress"}}', "'LoadBalancer'"),
])
def test_wrong_enum_values_list_the_allowed_ones(key, raw_value, allowed):
    raw = raw_config()
    raw[key] = raw_value
    issue = issues_of(raw)[0]
    assert allowed in issue.rule
    assert issue.fix.startswith("pulumi config set")


@pytest.mark.parametrize("features,key,words", [
    ({"monitoring": "yes"}, "explain:features.monitoring", "not a boolean"),
    ({"s3TypeDatabase": True, "dataRepository": True, "memorySize": 64}, "explain:features.memorySize", "out of range"),
    ({"s3TypeDatabase": True, "dataRepository": True, "memorySize": "lots"}, "explain:features.memorySize", "integer"),
])
def test_wrong_types_and_out_of_range_numbers(features, key, words):
    issue = next(issue for issue in issues_of(raw_config(features)) if issue.key == key)
    assert words in issue.rule
    assert issue.fix.startswith(f"pulumi config set --path '{key}'")


def test_malformed_tag_and_quantity():
    raw = raw_config(tag="v1.0 beta", services={"minio": {"resources": {"limits": {"memory": "a lot"}}}})
    keys = {issue.key for issue in issues_of(raw)}
    assert keys == {"explain:tag", "explain:services.minio.resources.limits.memory"}


def test_missing_required_keys():
    issues = issues_of({"explain:tag": "v1"})
    assert [issue.key for issue in issues] == ["explain:dataType"]
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
    raw = raw_config(with_requirements("liveDataAndDriftSimulation"), build={"enabled": True})
    issue = next(issue for issue in issues_of(raw) if "dataStreaming" in issue.key)
    assert issue.key == "explain:services.dataStreaming.build.context"
    assert "tools/live-data-drift-simulation" in issue.rule


def test_other_data_type_has_no_builtin_simulator():
    raw = raw_config(with_requirements("liveDataAndDriftSimulation"), dataType="Other", build={"enabled": True})
    issue = next(issue for issue in issues_of(raw) if "dataStreaming" in issue.key)
    assert "build.image" in issue.fix


def test_secret_keys_must_be_encrypted():
    raw = raw_config()
    raw["explain:minioRootPassword"] = "hunter2"
    issue = issues_of(raw)[0]
    assert issue.key == "explain:minioRootPassword"
    assert "--secret" in issue.fix
    load_stack_config(raw, "test", frozenset({"explain:minioRootPassword"}))


def test_every_problem_is_reported_at_once():
    raw = raw_config({"automl": True, "cpuCluster": True, "gpuCluster": True}, tag="bad tag")
    raw["explain:colour"] = "blue"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "test")
    assert len(caught.value.issues) == 2  # unknown key and tag; rules need a parsable config first
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
