"""Build contexts given as git URLs, checked out into a local folder for the image builder.

pulumi-docker builds only from a local folder (a git URL as context finds no Dockerfile:
pulumi/pulumi-docker#1119), so ``pulumi up`` fetches the source first. The URL takes Docker's own
form, ``<url>#<ref>:<subdir>``, both parts optional. The tree is exported without ``.git`` and only
when the fetched commit changes: an unchanged source leaves the context, and so the image's context
hash, exactly as it was, while a new commit rebuilds the image.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Optional

GIT_SCHEMES = ("https://", "http://", "ssh://", "git://", "git@", "file://")
GIT_TIMEOUT_SECONDS = 300
EXPORT_FOLDER = "context"
_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")


class SourceError(Exception):
    """A git build context that cannot be fetched or has no such folder."""


def is_git_url(context: str) -> bool:
    return context.startswith(GIT_SCHEMES)


@dataclass(frozen=True)
class GitSource:
    url: str
    ref: Optional[str] = None
    """Branch, tag or commit; None takes the repository's default branch."""
    subdir: Optional[str] = None
    """Folder of the repository that is the build context; None is its top."""

    @classmethod
    def parse(cls, context: str) -> GitSource:
        """``https://host/repo.git#v1.2:app`` → url, ref ``v1.2``, subdir ``app``; ValueError when malformed."""
        url, _, fragment = context.partition("#")
        if not is_git_url(url) or len(url) <= len(next(s for s in GIT_SCHEMES if url.startswith(s))):
            raise ValueError(f"not a git URL: starts with one of {', '.join(GIT_SCHEMES)}")
        ref, _, subdir = fragment.partition(":")
        if ref and (not _REF.match(ref) or ".." in ref):
            raise ValueError(f"ref `{ref}` is not a branch, tag or commit name")
        folder = PurePosixPath(subdir) if subdir else None
        if folder and (folder.is_absolute() or ".." in folder.parts):
            raise ValueError(f"subfolder `{subdir}` must be a relative path inside the repository")
        # `app/`, `./app` and `app` are one folder; `.` is the top.
        return cls(url=url, ref=ref or None, subdir=str(folder) if folder and str(folder) != "." else None)

    def context_in(self, work_dir: Path) -> Path:
        """The build context once :func:`checkout` has exported the source into ``work_dir``."""
        exported = work_dir / EXPORT_FOLDER
        return exported / self.subdir if self.subdir else exported


def checkout(source: GitSource, work_dir: Path) -> Path:
    """Fetch ``source`` into ``work_dir`` and return its build context folder.

    ``work_dir/source.git`` keeps the fetched objects between runs; ``work_dir/context`` holds the
    export of the fetched commit (only the source's folder of it), which ``work_dir/context.commit`` names.
    """
    repository = work_dir / "source.git"
    exported = work_dir / EXPORT_FOLDER
    stamp = work_dir / "context.commit"
    if not (repository / "HEAD").is_file():
        repository.mkdir(parents=True, exist_ok=True)
        _git(repository, "init", "--quiet", "--bare")
    _git(repository, "fetch", "--quiet", "--depth", "1", "--no-tags", "--", source.url, source.ref or "HEAD",
         what=f"fetching {source.url}" + (f" at `{source.ref}`" if source.ref else ""))
    commit = _git(repository, "rev-parse", "FETCH_HEAD^{commit}").strip()
    if source.subdir and not _git(repository, "ls-tree", "-d", "--name-only", commit, "--", source.subdir).strip():
        raise SourceError(f"{source.url} at {commit[:12]} has no folder `{source.subdir}`")
    exported_as = f"{commit} {source.subdir or '.'}"
    if not (exported.is_dir() and stamp.is_file() and stamp.read_text().strip() == exported_as):
        _export(repository, commit, source.subdir, exported)
        stamp.write_text(exported_as + "\n")
    return source.context_in(work_dir)


def _export(repository: Path, commit: str, subdir: Optional[str], destination: Path) -> None:
    """The commit's tree (or only ``subdir`` of it), without ``.git``, as the only content of ``destination``."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    archive = subprocess.Popen(["git", "--git-dir", str(repository), "archive", "--format=tar", commit,
                                *(["--", subdir] if subdir else [])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=archive.stdout, mode="r|") as tar:
            tar.extractall(destination, filter="data")  # no links out of the folder, no devices
    except tarfile.TarError as error:
        archive.kill()
        raise SourceError(f"commit {commit[:12]} cannot be exported safely: {error}") from None
    if archive.wait() != 0:
        raise SourceError(f"git archive {commit}: {archive.stderr.read().decode(errors='replace').strip()}")


def _git(repository: Path, *args: str, what: Optional[str] = None) -> str:
    # Never stop at a password prompt: `pulumi up` has no terminal for it.
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(["git", "--git-dir", str(repository), *args], capture_output=True, text=True,
                              env=env, timeout=GIT_TIMEOUT_SECONDS)
    except FileNotFoundError:
        raise SourceError("git is not installed: it is needed to build an image from a git URL") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"{what or 'git ' + args[0]}: no answer within {GIT_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        # git's own verdicts; its advice after them ("Please make sure you have access…") says less.
        verdicts = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines[-1:]
        raise SourceError(f"{what or 'git ' + args[0]} failed: {'; '.join(verdicts) or done.returncode}")
    return done.stdout
