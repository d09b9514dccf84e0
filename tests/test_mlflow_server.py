"""The `mlflow` image's entrypoint (tools/mlflow/serve.py), with the real MLflow server it starts."""

from __future__ import annotations

import configparser
import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from helpers import ROOT

from explain_infra import catalog

SERVE = ROOT / "tools" / "mlflow" / "serve.py"
_spec = importlib.util.spec_from_file_location("mlflow_serve", SERVE)
serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve)

ADMIN = "explain-admin"


def test_the_account_comes_whole_from_the_environment():
    environ = {serve.USERNAME: ADMIN, serve.PASSWORD: "a" * 12, serve.DATABASE_URI: "sqlite:////mlflow/users.db"}
    assert serve.account_from(environ) == (ADMIN, "a" * 12, "sqlite:////mlflow/users.db")
    with pytest.raises(serve.SetupError, match="MLFLOW_AUTH_ADMIN_PASSWORD not set"):
        serve.account_from({**environ, serve.PASSWORD: ""})
    with pytest.raises(serve.SetupError, match="has 11 characters; MLflow needs at least 12"):
        serve.account_from({**environ, serve.PASSWORD: "a" * 11})


def test_the_ini_reads_back_as_written_through_mlflow_s_interpolating_parser():
    uri = "postgresql://mlflow:p%40ss@db:5432/users"
    parser = configparser.ConfigParser()  # what MLflow reads it with: `%` interpolates
    parser.read_string(serve.auth_config_text(uri))
    assert parser["mlflow"]["database_uri"] == uri
    assert "password" not in serve.auth_config_text(uri)  # the password stays in the environment


def test_the_image_the_jupyter_client_and_these_tests_pin_one_mlflow():
    assert catalog.MLFLOW_VERSION == catalog.pinned_version(ROOT / "requirements.txt", "mlflow")
    assert catalog.pinned_version(catalog.MLFLOW_REQUIREMENTS, "sqlalchemy")  # the whole closure is pinned


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`python serve.py …` as the image runs it, on a free port, data in a temporary folder."""

    def __init__(self, data: Path, password: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               serve.USERNAME: ADMIN, serve.PASSWORD: password,
               serve.DATABASE_URI: f"sqlite:///{data}/basic_auth.db",
               "MLFLOW_FLASK_SERVER_SECRET_KEY": "test-only-key"}
        self.log = data / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [sys.executable, str(SERVE), "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
             "--backend-store-uri", f"sqlite:///{data}/mlflow.db",
             "--serve-artifacts", "--artifacts-destination", str(data / "artifacts"),
             "--allowed-hosts", f"ml-flow-service.ns.svc.cluster.local:*,127.0.0.1:{self.port}"],
            env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(1)
        self.stop()
        pytest.fail(f"MLflow did not answer /health within 180 s:\n{self.log.read_text()[-3000:]}")

    def search(self, auth=None, host=None) -> int:
        headers = {"Host": host} if host else {}
        return httpx.get(f"{self.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                         auth=auth, headers=headers, timeout=30).status_code

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=30)


def test_the_server_lets_nobody_in_without_the_secret_s_password_even_after_it_changes(tmp_path):
    first, second = "first%password-1", "second-password-2"
    server = Server(tmp_path, first)
    try:
        assert server.search() == 401
        assert server.search(auth=(ADMIN, "wrong-password")) == 401
        assert server.search(auth=("admin", "password")) == 401  # old MLflow's built-in default
        assert server.search(auth=(ADMIN, first)) == 200
        assert server.search(auth=(ADMIN, first), host="ml-flow-service.ns.svc.cluster.local:5000") == 200
        assert server.search(auth=(ADMIN, first), host="attacker.example.com") == 403
    finally:
        server.stop()
    # MLflow alone would keep the first password: the entrypoint makes the Secret's new one count.
    server = Server(tmp_path, second)
    try:
        assert server.search(auth=(ADMIN, first)) == 401
        assert server.search(auth=(ADMIN, second)) == 200
    finally:
        server.stop()
