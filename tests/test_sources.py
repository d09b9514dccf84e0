"""Git build contexts: fetched with real git from a local repository, exported, checked by the config."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pulumi
import pytest
from helpers import raw_config, with_requirements

from explain_infra.config import load_stack_config
from explain_infra.errors import ConfigError
from explain_infra.offline import Evaluation, evaluate
from explain_infra.sources import GitSource, SourceError, checkout


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
                               "HOME": str(repository), "PATH": "/usr/bin:/bin"}).stdout.strip()


@pytest.fixture
def simulator_repository(tmp_path: Path) -> Path:
    """A repository with the simulator in `app/`, tagged `v1`, and a later commit on its branch."""
    repository = tmp_path / "simulator"
    (repository / "app").mkdir(parents=True)
    git(repository, "init", "--quiet", "--initial-branch", "main")
    (repository / "app" / "app.py").write_text("VERSION = 1\n")
    (repository / "README.md").write_text("simulator\n")
    git(repository, "add", ".")
    git(repository, "commit", "--quiet", "-m", "first")
    git(repository, "tag", "v1")
    (repository / "app" / "app.py").write_text("VERSION = 2\n")
    git(repository, "commit", "--quiet", "-am", "second")
    return repository


def test_parse_takes_docker_s_ref_and_folder_form():
    assert GitSource.parse("https://example.org/sim.git") == GitSource("https://example.org/sim.git")
    assert GitSource.parse("https://example.org/sim.git#v1.2:tools/app/") == GitSource(
        "https://example.org/sim.git", "v1.2", "tools/app")
    assert GitSource.parse("git@example.org:team/sim.git#main") == GitSource("git@example.org:team/sim.git", "main")
    assert GitSource.parse("https://example.org/sim.git#main:.") == GitSource("https://example.org/sim.git", "main")
    assert GitSource.parse("https://example.org/sim.git#main:./app").subdir == "app"


@pytest.mark.parametrize("context,words", [
    ("https://example.org/sim.git#--upload-pack=evil", "is not a branch"),
    ("https://example.org/sim.git#a..b", "is not a branch"),
    ("https://example.org/sim.git#main:../outside", "relative path inside"),
    ("https://example.org/sim.git#main:/etc", "relative path inside"),
    ("https://", "not a git URL"),
])
def test_parse_refuses_what_git_or_the_export_could_misread(context, words):
    with pytest.raises(ValueError, match=words):
        GitSource.parse(context)


def test_checkout_exports_the_default_branch_without_git_metadata(simulator_repository, tmp_path):
    context = checkout(GitSource(f"file://{simulator_repository}"), tmp_path / "work")
    assert (context / "app" / "app.py").read_text() == "VERSION = 2\n"
    assert not (context / ".git").exists()
    head = git(simulator_repository, "rev-parse", "HEAD")
    assert (tmp_path / "work" / "context.commit").read_text().strip() == f"{head} ."


def test_checkout_of_a_ref_and_folder(simulator_repository, tmp_path):
    context = checkout(GitSource.parse(f"file://{simulator_repository}#v1:app"), tmp_path / "work")
    assert context == tmp_path / "work" / "context" / "app"
    assert sorted(path.name for path in context.iterdir()) == ["app.py"]
    assert (context / "app.py").read_text() == "VERSION = 1\n"


def test_an_unchanged_source_leaves_the_context_untouched_and_a_new_commit_replaces_it(
        simulator_repository, tmp_path):
    source, work = GitSource(f"file://{simulator_repository}"), tmp_path / "work"
    context = checkout(source, work)
    marker = context / "left-by-an-earlier-run"
    marker.write_text("")
    assert checkout(source, work) == context and marker.exists()  # not exported again: same context hash

    (simulator_repository / "app" / "app.py").write_text("VERSION = 3\n")
    git(simulator_repository, "commit", "--quiet", "-am", "third")
    checkout(source, work)
    assert not marker.exists() and (context / "app" / "app.py").read_text() == "VERSION = 3\n"


def test_a_missing_folder_or_repository_is_a_clear_error(simulator_repository, tmp_path):
    with pytest.raises(SourceError, match="has no folder `service`"):
        checkout(GitSource(f"file://{simulator_repository}", subdir="service"), tmp_path / "a")
    with pytest.raises(SourceError, match=r"fetching file://.*nowhere at `v9` failed: fatal: .*nowhere"):
        checkout(GitSource(f"file://{tmp_path}/nowhere", ref="v9"), tmp_path / "b")


def test_only_the_folder_is_exported_so_the_rest_of_the_repository_cannot_stop_it(simulator_repository, tmp_path):
    (simulator_repository / "docs").mkdir()
    (simulator_repository / "docs" / "host-link").symlink_to("/etc/hostname")  # refused by a whole export
    git(simulator_repository, "add", ".")
    git(simulator_repository, "commit", "--quiet", "-m", "docs")
    context = checkout(GitSource(f"file://{simulator_repository}", subdir="app"), tmp_path / "work")
    assert sorted(path.name for path in context.parent.rglob("*")) == ["app", "app.py"]
    with pytest.raises(SourceError, match="cannot be exported safely"):
        checkout(GitSource(f"file://{simulator_repository}"), tmp_path / "whole")


def built_simulator(context: str) -> dict:
    return raw_config(with_requirements("liveDataAndDriftSimulation"), dataType="Image",
                      services={"dataStreaming": {"build": {"enabled": True, "context": context}}})


def test_the_program_builds_from_the_fetched_export(simulator_repository, tmp_path):
    evaluation = evaluate(built_simulator(f"file://{simulator_repository}#v1:app"), "git",
                          build_dir=tmp_path / "build", fetch_sources=True)
    (image,) = evaluation.of_type("docker:index/image:Image")
    context = Path(image.inputs["build"]["context"])
    assert context == tmp_path / "build" / "explain-git" / "data-streaming" / "context" / "app"
    assert (context / "app.py").read_text() == "VERSION = 1\n"


def test_offline_evaluation_fetches_nothing_and_shows_where_up_exports(tmp_path):
    evaluation = evaluate(built_simulator("https://example.invalid/sim.git#main:app"), "git",
                          build_dir=tmp_path / "build")
    (image,) = evaluation.of_type("docker:index/image:Image")
    assert image.inputs["build"]["context"] == str(tmp_path / "build" / "explain-git" / "data-streaming"
                                                   / "context" / "app")
    assert not (tmp_path / "build" / "explain-git" / "data-streaming" / "source.git").exists()


def test_a_source_that_cannot_be_fetched_stops_the_program_before_any_resource(tmp_path):
    evaluation = Evaluation()
    with pytest.raises(pulumi.RunError) as caught:
        evaluate(built_simulator(f"file://{tmp_path}/missing.git"), "git", into=evaluation,
                 build_dir=tmp_path / "build", fetch_sources=True)
    message = str(caught.value)
    assert message.startswith("explain:services.dataStreaming.build.context: fetching file://")
    assert "nothing was deployed" in message and "build.image" in message
    assert evaluation.resources == []


def test_a_malformed_git_context_is_refused_by_the_config():
    with pytest.raises(ConfigError) as caught:
        load_stack_config(built_simulator("https://example.org/sim.git#main:../up"), "test")
    (issue,) = caught.value.issues
    assert issue.key == "explain:services.dataStreaming.build.context"
    assert "relative path inside" in issue.rule and "pulumi config set --path" in issue.fix
