"""Benchmark of the main job on the local control plane; writes docs/benchmarks.md.

    .venv/bin/python scripts/benchmark.py [--runs 3]

Needs the toolchain (scripts/toolchain) and a running local control plane (scripts/cluster start).
Every figure is the median of ``--runs`` runs (at least 3); machines here are noisy, so read
ratios and medians, not single timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]

from support import PROJECT_FILES, STANDIN_CHART, Stack  # noqa: E402

from explain_infra.offline import evaluate, render  # noqa: E402
from explain_infra.stack_file import load_stack_file  # noqa: E402

SERVICE_ORDER = ("s3TypeDatabase", "developmentIde", "monitoring", "liveDataAndDriftSimulation")


def _env(state: Path) -> dict[str, str]:
    dump = subprocess.run(["bash", "-c", f"set -a; source '{ROOT}/.toolchain/env'; env -0"],
                          check=True, capture_output=True).stdout.decode()
    env = dict(item.split("=", 1) for item in dump.split("\0") if "=" in item)
    env.update({"KUBECONFIG": str(ROOT / ".cluster" / "kubeconfig"), "PULUMI_BACKEND_URL": f"file://{state}",
                "PULUMI_CONFIG_PASSPHRASE": uuid.uuid4().hex})
    return env


def _stack_config(name: str, **overrides: Any) -> dict[str, Any]:
    """A shipped stack's config made runnable here: no image builds, the stand-in MinIO chart."""
    raw, _ = load_stack_file(name, ROOT)
    config = {key.split(":", 1)[1]: json.loads(value) if value[:1] in "{[" else value
              for key, value in raw.items() if key.startswith("explain:")}
    config["build"] = {"enabled": False}
    config["charts"] = {"minio": {"path": str(STANDIN_CHART)}}
    config.pop("storage", None)  # the local control plane's default StorageClass
    config.update(overrides)
    return config


def _new_stack(env: dict[str, str], workdir: Path) -> Stack:
    directory = Path(tempfile.mkdtemp(dir=workdir))
    for name in PROJECT_FILES:
        (directory / name).symlink_to(ROOT / name)
    stack = Stack(name="bench-" + uuid.uuid4().hex[:6], directory=directory, env=env)
    stack.pulumi("stack", "init", "--secrets-provider", "passphrase")
    return stack


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _cleanup(stack: Stack) -> None:
    stack.pulumi("destroy", "--yes", "--skip-preview", check=False)
    stack.pulumi("stack", "rm", "--yes", "--force", check=False)
    stack.kubectl("delete", "namespace", stack.namespace, "--wait=true", "--timeout=120s", check=False)
    _recycle_volumes(stack)


def _recycle_volumes(stack: Stack) -> None:
    """Retained volumes of deleted claims go back to the local pool."""
    volumes = json.loads(stack.kubectl("get", "pv", "-o", "json").stdout)["items"]
    for volume in volumes:
        if volume["status"].get("phase") == "Released":
            stack.kubectl("patch", "pv", volume["metadata"]["name"], "--type", "json",
                          "-p", '[{"op": "remove", "path": "/spec/claimRef"}]', check=False)


def bench_lifecycle(env, workdir, stack_name: str, runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {key: [] for key in
                                     ("preview (empty)", "up from empty", "no-op up", "tag change up",
                                      "kubectl apply --server-side (same objects)")}
    for _ in range(runs):
        stack = _new_stack(env, workdir)
        try:
            stack.write_config(_stack_config(stack_name))
            times["preview (empty)"].append(_timed(lambda: stack.pulumi("preview")))
            times["up from empty"].append(_timed(lambda: stack.pulumi("up", "--yes", "--skip-preview")))
            times["no-op up"].append(_timed(lambda: stack.pulumi("up", "--yes", "--skip-preview")))
            stack.write_config(_stack_config(stack_name, tag="bench-2"))
            times["tag change up"].append(_timed(lambda: stack.pulumi("up", "--yes", "--skip-preview")))
            times["kubectl apply --server-side (same objects)"].append(_apply_rendered(stack, workdir))
        finally:
            _cleanup(stack)
    return times


def _apply_rendered(stack: Stack, workdir: Path) -> float:
    """The same objects, rendered offline, applied with kubectl into a fresh namespace."""
    out = Path(tempfile.mkdtemp(dir=workdir))
    namespace = stack.namespace + "-kubectl"
    raw = {f"explain:{key}": value if isinstance(value, str) else json.dumps(value)
           for key, value in {**_read_config(stack), "namespace": namespace}.items()}
    render(evaluate(raw, stack.name), out)
    manifests = [path for path in (out / "manifests").glob("*.yaml") if not path.name.startswith("helm-release")]
    namespace_files = [path for path in manifests if path.name.startswith("namespace-")]
    others = [path for path in manifests if path not in namespace_files]

    def apply() -> None:
        for group in (namespace_files, others):
            args = ["apply", "--server-side", "--field-manager", "bench"] + [f"-f={path}" for path in group]
            stack.kubectl(*args)
        stack.kubectl("-n", namespace, "wait", "deployment", "--all", "--for=condition=Available", "--timeout=300s")

    elapsed = _timed(apply)
    stack.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=120s", check=False)
    _recycle_volumes(stack)
    return elapsed


def _read_config(stack: Stack) -> dict[str, Any]:
    import yaml

    document = yaml.safe_load((stack.directory / f"Pulumi.{stack.name}.yaml").read_text())
    return {key.split(":", 1)[1]: value for key, value in document["config"].items()}


def bench_services(env, workdir, runs: int) -> dict[int, list[float]]:
    """`pulumi up` from empty with 1 (MLflow alone) to 5 services."""
    times: dict[int, list[float]] = {}
    for count in range(len(SERVICE_ORDER) + 1):
        features: dict[str, Any] = {"dataRepository": True, "dataStreaming": True}
        features.update({feature: True for feature in SERVICE_ORDER[:count]})
        for _ in range(runs):
            stack = _new_stack(env, workdir)
            try:
                stack.write_config(_stack_config("dev", features=features, services={}))
                times.setdefault(count + 1, []).append(_timed(lambda: stack.pulumi("up", "--yes", "--skip-preview")))
            finally:
                _cleanup(stack)
    return times


def bench_stacks(env, workdir, runs: int) -> dict[int, list[float]]:
    """Wall time of `pulumi up` of N one-service stacks (N namespaces) run concurrently."""
    times: dict[int, list[float]] = {}
    for count in (1, 4, 16):
        for _ in range(runs):
            stacks = [_new_stack(env, workdir) for _ in range(count)]
            for stack in stacks:
                stack.write_config(_stack_config("dev", features={}, services={}))
            try:
                with ThreadPoolExecutor(max_workers=count) as pool:
                    start = time.perf_counter()
                    list(pool.map(lambda s: s.pulumi("up", "--yes", "--skip-preview"), stacks))
                    times.setdefault(count, []).append(time.perf_counter() - start)
            finally:
                with ThreadPoolExecutor(max_workers=count) as pool:
                    list(pool.map(_cleanup, stacks))
    return times


def bench_evaluation(runs: int) -> dict[str, list[float]]:
    times = {}
    for name in ("dev", "prod"):
        raw, secure = load_stack_file(name, ROOT)
        times[f"program evaluation, {name} (mock runtime)"] = [
            _timed(lambda: evaluate(raw, name, secure)) for _ in range(max(runs, 5))]
    return times


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    runs = max(3, args.runs)
    workdir = Path(tempfile.mkdtemp(prefix="explain-bench-"))
    env = _env(workdir / "state")
    (workdir / "state").mkdir()
    try:
        evaluation = bench_evaluation(runs)
        lifecycle = {name: bench_lifecycle(env, workdir, name, runs) for name in ("dev", "prod")}
        services = bench_services(env, workdir, runs)
        stacks = bench_stacks(env, workdir, runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    version = subprocess.run(["pulumi", "version"], env=env, capture_output=True, text=True).stdout.strip()
    lines = [
        "# Benchmarks", "",
        f"Measured by `scripts/benchmark.py --runs {runs}` on {time.strftime('%Y-%m-%d')}: medians of {runs} runs "
        f"(program evaluation: of {max(runs, 5)}).", "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, Python "
        f"{platform.python_version()}, Pulumi {version}, on the local control plane of `scripts/cluster` "
        "(etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok: pods become Ready at once, no image "
        "is pulled). Stacks are the shipped `dev` and `prod` configs with image builds off (no Docker engine here) "
        "and MinIO from the stand-in chart of the end-to-end tests.", "",
        "## Program evaluation", "", "| what | median |", "|---|---|",
        *(f"| {name} | {_median(values)} |" for name, values in evaluation.items()), "",
        "## Main job", "", "| step | dev | prod |", "|---|---|---|",
        *(f"| {step} | {_median(lifecycle['dev'][step])} | {_median(lifecycle['prod'][step])} |"
          for step in lifecycle["dev"]), "",
    ]
    for name in ("dev", "prod"):
        ratio = (statistics.median(lifecycle[name]["up from empty"])
                 / statistics.median(lifecycle[name]["kubectl apply --server-side (same objects)"]))
        lines.append(f"- {name}: `pulumi up` from empty takes {ratio:.1f}× the time of `kubectl apply --server-side` "
                     "of the same rendered objects (waiting for the Deployments too), without the Helm release.")
    lines += ["", "## Growth with the number of services (`pulumi up` from empty, one stack)", "",
              "| services | median | per service |", "|---|---|---|",
              *(f"| {count} | {_median(values)} | {statistics.median(values) / count:.2f} s |"
                for count, values in services.items()), "",
              "## Growth with the number of stacks (concurrent `pulumi up`, one namespace each, MLflow only)", "",
              "| stacks | wall time (median) | per stack |", "|---|---|---|",
              *(f"| {count} | {_median(values)} | {statistics.median(values) / count:.2f} s |"
                for count, values in stacks.items()), ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
