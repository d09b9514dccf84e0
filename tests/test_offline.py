"""``python -m explain_infra validate|render``: what a stack file can hold, and what a render leaves behind."""

from __future__ import annotations

import json

import pytest
from helpers import ROOT

from explain_infra.__main__ import main
from explain_infra.stack_file import load_stack_file

MINIMAL = ("config:\n  explain:dataType: Image\n  explain:tag: v2\n  explain:dockerHubUser: me\n"
           "  explain:build:\n    enabled: false\n")
BUILDING = "config:\n  explain:dataType: Image\n  explain:tag: v2\n  explain:dockerHubUser: me\n"
"""Builds the images it deploys (MLflow at least), so a render writes Dockerfiles."""


@pytest.fixture
def stacks(tmp_path, monkeypatch):
    """Writes ``Pulumi.<name>.yaml`` files into a folder the CLI runs in."""
    monkeypatch.chdir(tmp_path)

    def write(name: str, text: str) -> None:
        (tmp_path / f"Pulumi.{name}.yaml").write_text(text)

    return write


def refused(capsys, *argv: str) -> str:
    """stderr of a command that must exit 1 (a traceback would fail the test instead)."""
    assert main(list(argv)) == 1
    return capsys.readouterr().err


def test_yaml_syntax_error_names_the_file_line_and_column(stacks, capsys):
    stacks("broken", "config:\n  explain:dataType: Image\n explain:tag: v2\n")
    err = refused(capsys, "validate", "--stack", "broken")
    assert "Pulumi.broken.yaml is not valid YAML at line 3, column 2" in err
    assert "Fix the syntax there" in err and err.count("\n") == 1  # one paragraph


def test_unclosed_bracket_points_where_it_was_opened(stacks, capsys):
    stacks("broken", "config:\n  explain:tag: [v2\n")
    err = refused(capsys, "validate", "--stack", "broken")
    assert "while parsing a flow sequence at line 2, column 16" in err


@pytest.mark.parametrize("text, what", [
    ("- explain:tag: v2\n", "the top level is a list"),
    ("just some text\n", "the top level is a string"),
    ("config:\n  - explain:tag: v2\n", "`config:` is a list"),
    ("config: explain:tag=v2\n", "`config:` is a string"),
], ids=["top-level-list", "top-level-string", "config-list", "config-string"])
def test_a_file_not_shaped_as_a_stack_config_is_refused(stacks, capsys, text, what):
    stacks("odd", text)
    err = refused(capsys, "validate", "--stack", "odd")
    assert "Pulumi.odd.yaml" in err and f"{what}, not a mapping" in err and err.count("\n") == 1


def test_keys_yaml_reads_as_booleans_or_numbers_are_reported_as_text(stacks, tmp_path, capsys):
    stacks("keys", MINIMAL + "  true: yes\n  42: x\n")
    raw, _ = load_stack_file("keys", tmp_path)
    assert raw["explain-mlops:true"] == "yes" and raw["explain-mlops:42"] == "x"  # YAML 1.2: `yes` is text
    err = refused(capsys, "validate", "--stack", "keys")
    assert "explain-mlops:true" in err and "explain-mlops:42" in err


def test_keys_without_a_namespace_land_in_the_projects(stacks, tmp_path, capsys):
    """Pulumi namespaces them with the project's name; this program reads none of them."""
    stacks("bare", MINIMAL + "  tag: v1\n  explain: x\n")
    raw, _ = load_stack_file("bare", tmp_path)
    assert {"explain-mlops:tag", "explain-mlops:explain"} <= set(raw) and "tag" not in raw
    err = refused(capsys, "validate", "--stack", "bare")
    assert "explain-mlops:tag" in err and "explain-mlops:explain" in err


def test_an_empty_value_is_the_empty_text_as_pulumi_passes_it_and_means_not_set(stacks, tmp_path, capsys):
    stacks("nulls", MINIMAL.replace("explain:tag: v2", "explain:tag:") + "  explain:features:\n")
    raw, _ = load_stack_file("nulls", tmp_path)
    assert raw["explain:tag"] == "" and raw["explain:features"] == ""
    err = refused(capsys, "validate", "--stack", "nulls")
    assert "explain:tag: `tag` is required" in err and "explain:features" not in err


@pytest.mark.parametrize("yaml_value,text", [
    ("1.0", "1"), ("2.50", "2.5"), ("1e3", "1000"), ("1e21", "1e+21"), ("1e-7", "1e-7"), ("010", "8"),
    ("0o17", "15"), ("0x1F", "31"), ("1_000", "1000"), ("+5", "5"), ("1:30", "1:30"), ("yes", "yes"),
    ("TRUE", "true"), ("2024-01-15", "2024-01-15 00:00:00 +0000 UTC"),
    ("2024-01-15T10:20:30Z", "2024-01-15 10:20:30 +0000 UTC"),
    ("2024-01-15 10:20:30.5+02:00", "2024-01-15 10:20:30.5+02:00"),
    ("{a: 010, b: 1.0, c: 2024-01-15, d: ~, e: yes}", '{"a":8,"b":1,"c":"2024-01-15 00:00:00 +0000 UTC","d":null,"e":"yes"}'),
])
def test_values_read_as_the_pulumi_cli_hands_them_to_the_program(stacks, tmp_path, yaml_value, text):
    """Each pair is what `pulumi config --json` printed for that stack file line (Pulumi v3.276.0)."""
    stacks("forms", f"config:\n  explain:x: {yaml_value}\n")
    raw, _ = load_stack_file("forms", tmp_path)
    assert raw["explain:x"] == text


def test_a_value_with_an_encrypted_part_is_a_secret(stacks, tmp_path):
    stacks("nested", MINIMAL + "  explain:services:\n    mlflow:\n      build:\n        image:\n          secure: v1:x\n")
    raw, secure = load_stack_file("nested", tmp_path)
    assert "explain:services" in secure


def test_render_writes_dockerfiles_next_to_the_plan_and_not_into_the_project(stacks, tmp_path):
    build_dir = ROOT / ".build"
    before = set(build_dir.rglob("*"))
    stacks("built", BUILDING)
    out = tmp_path / "out"
    assert main(["render", "--stack", "built", "--out", str(out)]) == 0
    plan = json.loads((out / "plan.json").read_text())
    dockerfiles = [entry["inputs"]["build"]["dockerfile"] for entry in plan
                   if entry["type"] == "docker:index/image:Image"]
    assert dockerfiles and all(path.startswith(str(out / "dockerfiles") + "/") for path in dockerfiles)
    assert all(open(path).read().startswith("# ") for path in dockerfiles)
    assert set(build_dir.rglob("*")) == before


def test_a_refused_render_leaves_no_earlier_output(stacks, tmp_path, capsys):
    stacks("built", BUILDING)
    stacks("bad", MINIMAL + "  explain:features:\n    xaiTraining: true\n")
    out = tmp_path / "out"
    assert main(["render", "--stack", "built", "--out", str(out)]) == 0
    assert all((out / name).exists() for name in ("plan.json", "manifests", "dockerfiles"))
    err = refused(capsys, "render", "--stack", "bad", "--out", str(out))
    assert "explain:features.xaiTraining" in err
    assert not any((out / name).exists() for name in ("plan.json", "manifests", "dockerfiles"))


def test_a_fully_qualified_stack_name_reads_the_stacks_own_file(stacks, tmp_path, capsys):
    stacks("dev", MINIMAL)
    assert main(["validate", "--stack", "acme/explain-mlops/dev"]) == 0
    assert "stack dev: config is valid" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["render", "--stack", "acme/explain-mlops/dev", "--out", str(out)]) == 0
    assert (out / "manifests" / "namespace-cluster-explain-dev.yaml").is_file()  # evaluated as `dev`
    assert main(["validate", "--stack", "acme/dev"]) == 0


@pytest.mark.parametrize("name", ["acme/other-project/dev", "acme//dev", "a/b/c/dev"])
def test_a_stack_name_that_is_not_this_projects_is_a_usage_error(stacks, capsys, name):
    stacks("dev", MINIMAL)
    with pytest.raises(SystemExit) as exit_:
        main(["validate", "--stack", name])
    assert exit_.value.code == 2 and "argument --stack" in capsys.readouterr().err


def test_images_lists_what_up_builds_and_what_the_cluster_pulls(stacks, capsys):
    stacks("built", BUILDING + "  explain:registry:\n    mirror: registry.internal:5000\n"
                    "  explain:features:\n    dataRepository: true\n    s3TypeDatabase: true\n")
    assert main(["images", "--stack", "built"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert ["docker.io/me/mlflow:v2", "mlflow", "build"] in rows
    minio = next(row for row in rows if "/minio/minio:" in row[0])
    assert minio[0].startswith("registry.internal:5000/") and minio[2].startswith("pull (mirror of quay.io/")
    assert main(["images", "--stack", "built", "--built"]) == 0
    assert [line.split("\t")[2] for line in capsys.readouterr().out.splitlines()] == ["build"]
    stacks("pushed", MINIMAL)
    assert main(["images", "--stack", "pushed", "--built"]) == 0
    assert capsys.readouterr().out == ""  # scripts/up needs no docker plugin for this stack


def test_the_stack_file_reads_as_pulumi_reads_it(stacks, capsys):
    """YAML 1.2, as Pulumi: `yes`/`on` are text, so refused where a boolean belongs; a key twice is an error."""
    stacks("yes", MINIMAL + "  explain:features:\n    developmentIde: yes\n    monitoring: on\n")
    err = refused(capsys, "validate", "--stack", "yes")
    assert "explain:features.developmentIde: 'yes' is not a boolean" in err
    assert "explain:features.monitoring: 'on' is not a boolean" in err
    stacks("twice", MINIMAL + "  explain:tag: v3\n")
    err = refused(capsys, "validate", "--stack", "twice")
    assert "key 'explain:tag' is given twice (first at line 3)" in err and "Traceback" not in err


def test_render_into_a_file_is_a_clear_error(stacks, tmp_path, capsys):
    stacks("plain", MINIMAL)
    (tmp_path / "afile").write_text("")
    err = refused(capsys, "render", "--stack", "plain", "--out", str(tmp_path / "afile"))
    assert "afile" in err and "not a folder" in err


def test_two_renders_of_a_stack_are_byte_for_byte_the_same(stacks, tmp_path):
    stacks("same", BUILDING + "  explain:features:\n    dataRepository: true\n    s3TypeDatabase: true\n")
    for out in ("first", "second"):
        assert main(["render", "--stack", "same", "--out", str(tmp_path / out)]) == 0
    for path in (tmp_path / "first").rglob("*"):
        if path.is_file() and path.suffix in (".json", ".yaml"):
            twin = tmp_path / "second" / path.relative_to(tmp_path / "first")
            assert twin.read_text().replace("/second/", "/first/") == path.read_text(), path.name


def test_render_never_removes_files_it_did_not_write(stacks, tmp_path, capsys):
    stacks("plain", MINIMAL)
    gitops = tmp_path / "gitops"
    (gitops / "manifests").mkdir(parents=True)
    (gitops / "manifests" / "handwritten.yaml").write_text("kind: ConfigMap\n")
    err = refused(capsys, "render", "--stack", "plain", "--out", str(gitops))
    assert "render did not write" in err and (gitops / "manifests" / "handwritten.yaml").is_file()
    out = tmp_path / "out"
    assert main(["render", "--stack", "plain", "--out", str(out)]) == 0
    assert main(["render", "--stack", "plain", "--out", str(out)]) == 0  # its own output: replaced


def test_a_key_that_is_not_text_is_a_clear_error(stacks, capsys):
    stacks("listkey", MINIMAL + "  ? [a, b]\n  : c\n")
    err = refused(capsys, "validate", "--stack", "listkey")
    assert "a key must be text" in err and "Traceback" not in err


@pytest.mark.parametrize("yaml_value,text", [
    ("2024-02-30", "2024-02-30"), ("0x_", "0x_"), ("1_000.5", "1000.5"), ("18446744073709551616", "18446744073709552000"),
    ("0999-01-01", "0999-01-01 00:00:00 +0000 UTC"), ("{b: 1, a: é}", '{"a":"é","b":1}'), ("{secure: 5}", '{"secure":5}'),
])
def test_edge_forms_read_as_pulumi_reads_them_and_never_crash(stacks, tmp_path, yaml_value, text):
    stacks("edge", f"config:\n  explain:x: {yaml_value}\n")
    raw, secure = load_stack_file("edge", tmp_path)
    assert raw["explain:x"] == text and not secure


def test_project_config_merges_under_the_stack_s_and_legacy_keys_are_read(stacks, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: explain-mlops\nruntime: python\nconfig:\n"
                                          "  explain:dataType:\n    value: Image\n  explain:tag:\n    value: v0\n")
    stacks("merged", "config:\n  explain:config:tag: v9\n  explain:dockerHubUser: me\n"
                     "  explain:resources: &small {cpu: 1}\n  explain:other:\n    <<: *small\n    memory: 1Gi\n")
    raw, _ = load_stack_file("merged", tmp_path)
    assert raw["explain:dataType"] == "Image" and raw["explain:tag"] == "v9"  # the stack's wins
    assert raw["explain:other"] == '{"cpu":1,"memory":"1Gi"}'


def test_validate_says_which_encrypted_values_it_could_not_check(stacks, capsys):
    stacks("sealed", MINIMAL + "  explain:jupyterToken:\n    secure: v1:abc\n")
    assert main(["validate", "--stack", "sealed"]) == 0
    assert "not checked offline, as they are encrypted: explain:jupyterToken" in capsys.readouterr().out
