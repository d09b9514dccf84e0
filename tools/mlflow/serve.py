"""Entrypoint of the `mlflow` image: the tracking server and model registry behind basic authentication.

    python serve.py [mlflow server arguments]

MLflow creates its admin user from MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD once, at
the first start, and ignores them afterwards; its user database lives where an ini file says. So
this entrypoint
  1. writes that ini (no secret in it) into a private temporary folder, pointing the user database
     at MLFLOW_AUTH_DATABASE_URI (on the server's data volume),
  2. makes the admin's password in that database the one of the environment (the platform's
     `mlflow-credentials` Secret), creating the user on a first start, so that the Secret stays
     the one source of the password when it is changed later,
  3. replaces itself with `mlflow server --app-name basic-auth <arguments>`.
Every request then needs the account, or one the admin creates; `/health` stays open for probes.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Mapping

USERNAME = "MLFLOW_AUTH_ADMIN_USERNAME"
PASSWORD = "MLFLOW_AUTH_ADMIN_PASSWORD"
DATABASE_URI = "MLFLOW_AUTH_DATABASE_URI"
MIN_PASSWORD_LENGTH = 12
"""MLflow refuses shorter passwords."""


class SetupError(Exception):
    """The environment does not describe a usable admin account."""


def account_from(environ: Mapping[str, str]) -> tuple[str, str, str]:
    """Admin user name, password and user database URI, checked before MLflow sees them."""
    missing = [name for name in (USERNAME, PASSWORD, DATABASE_URI) if not environ.get(name)]
    if missing:
        raise SetupError(f"{', '.join(missing)} not set: the platform passes them from the mlflow-credentials "
                         f"Secret and the server's data volume")
    password = environ[PASSWORD]
    if len(password) < MIN_PASSWORD_LENGTH:
        raise SetupError(f"{PASSWORD} has {len(password)} characters; MLflow needs at least {MIN_PASSWORD_LENGTH}")
    return environ[USERNAME], password, environ[DATABASE_URI]


def auth_config_text(database_uri: str) -> str:
    """The ini MLflow reads its auth settings from; `%` is doubled because MLflow's reader interpolates."""
    return (
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {database_uri.replace('%', '%%')}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def write_auth_config(text: str) -> Path:
    """The ini in a folder only this user can read, gone with the container."""
    path = Path(tempfile.mkdtemp(prefix="mlflow-auth-")) / "basic_auth.ini"
    path.write_text(text)
    return path


def set_admin_password(username: str, password: str, database_uri: str) -> None:
    """Create the admin with ``password``, or give the existing one that password."""
    # Imported here, after MLFLOW_AUTH_CONFIG_PATH is set: the auth package reads its ini on import.
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(database_uri)
    if store.has_user(username, use_primary=True):
        store.update_user(username, password=password, is_admin=True)
    else:
        store.create_user(username, password, is_admin=True)


def main(argv: list[str]) -> None:
    try:
        username, password, database_uri = account_from(os.environ)
    except SetupError as error:
        sys.exit(f"serve.py: {error}")
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = str(write_auth_config(auth_config_text(database_uri)))
    set_admin_password(username, password, database_uri)
    os.execvp("mlflow", ["mlflow", "server", "--app-name", "basic-auth", *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
