"""scripts/install-server.sh run for real, twice, in a temporary root: venv, PostgreSQL role
and database, env file, units, nginx site, schema, and the operator's `svp` command."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from deploy_helpers import (
    INSTALL_SCRIPT,
    assert_verified,
    clean_environment,
    nginx_test,
    tool,
    verify_units,
)
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("SVP_TEST_DATABASE_URL", "").strip()
SERVER_NAME = "svp.install.test"
REQUIRED_KEYS = {"SVP_SERVER_NAME", "SVP_ADMIN_BASE_URL", "SVP_DATA_DIR", "SVP_DATABASE_URL",
                 "SVP_SECRET_KEY", "SVP_METRICS_TOKEN", "SVP_TELEGRAM_WEBHOOK_SECRET",
                 "SVP_SECURE_COOKIES", "SVP_TRUSTED_PROXIES", "SVP_WEB_WORKERS"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="install-server.sh runs as root"),
    pytest.mark.skipif(not PG_URL, reason="needs the local PostgreSQL server "
                       "(SVP_TEST_DATABASE_URL, set by scripts/test.sh)"),
]


@pytest.fixture
def database_name() -> Iterator[str]:
    """A unique name for the role and database the script creates; both dropped afterwards."""
    name = f"svp_install_{uuid.uuid4().hex[:10]}"
    yield name
    admin = create_engine(make_url(PG_URL).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :name"), {"name": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'DROP ROLE IF EXISTS "{name}"'))
    admin.dispose()


def _packages_present() -> bool:
    return bool(shutil.which("nginx") and list(Path("/usr/lib/postgresql").glob("*/bin/postgres")))


def _run(root: Path, database: str) -> str:
    env = clean_environment(
        SVP_PREFIX=str(root / "opt"), SVP_ETC_DIR=str(root / "etc"),
        SVP_STATE_DIR=str(root / "state"), SVP_UNIT_DIR=str(root / "units"),
        SVP_NGINX_DIR=str(root / "nginx"), SVP_BIN_DIR=str(root / "bin"),
        SVP_LETSENCRYPT_DIR=str(root / "letsencrypt"), SVP_DB_NAME=database,
        SVP_DB_USER=database, SVP_SKIP_USER="1", SVP_USER=pwd.getpwuid(os.geteuid()).pw_name,
        SVP_SKIP_SYSTEMD="1")
    if not _packages_present():  # never install Debian packages from a test
        env["SVP_SKIP_APT"] = "1"
    result = subprocess.run(["bash", str(INSTALL_SCRIPT), "--server-name", SERVER_NAME],
                            env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _nginx_conf(root: Path) -> None:
    """Debian's nginx.conf in miniature: what the script's `nginx -t` reads."""
    folder = root / "nginx"
    folder.mkdir(parents=True)
    temp = "".join(f"    {kind}_temp_path {root}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (folder / "nginx.conf").write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/error.log;\nevents {{}}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n{temp}"
        f"    include {folder}/sites-enabled/*;\n}}\n", encoding="utf-8")


def _settings(env_file: Path) -> dict[str, str]:
    lines = env_file.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_install_server_installs_for_real_and_a_second_run_keeps_everything(
        tmp_path: Path, database_name: str) -> None:
    tool("nginx")
    root = tmp_path / "root"
    _nginx_conf(root)
    first = _run(root, database_name)
    env_file = root / "etc" / "svp.env"
    written = env_file.read_text(encoding="utf-8")
    second = _run(root, database_name)

    # The env file: secret (0600, root), complete, and kept as it was by the second run.
    mode = env_file.stat()
    assert stat.S_IMODE(mode.st_mode) == 0o600 and mode.st_uid == 0
    assert env_file.read_text(encoding="utf-8") == written
    settings = _settings(env_file)
    assert settings.keys() >= REQUIRED_KEYS
    assert len(settings["SVP_SECRET_KEY"].encode()) >= 32
    assert settings["SVP_ADMIN_BASE_URL"] == f"https://{SERVER_NAME}"
    assert settings["SVP_DATA_DIR"] == str(root / "state")
    assert "base inchangée" in second and "inchangé" in second
    assert "certbot --nginx -d " + SERVER_NAME in first and "--role admin" in first

    # PostgreSQL: the generated role owns the database, and `svp init` made the schema.
    url = make_url(settings["SVP_DATABASE_URL"])
    assert url.username == database_name and url.database == database_name and url.password
    engine = create_engine(url)
    with engine.connect() as connection:
        owner = connection.execute(text(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :name"),
            {"name": database_name}).scalar()
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert owner == database_name and revision

    # The venv holds the project; the units and the site point into it and are accepted.
    venv_svp = root / "opt" / "venv" / "bin" / "svp"
    units = sorted((root / "units").iterdir())
    assert len(units) == 9 and f"ExecStart={venv_svp} serve" in (
        root / "units" / "svp-web.service").read_text(encoding="utf-8")
    assert_verified(verify_units(units))
    site = (root / "nginx" / "sites-available" / "svp.conf").read_text(encoding="utf-8")
    assert "__SVP_" not in site and f"server_name {SERVER_NAME};" in site
    static = Path(re.search(r"alias (\S+)/;", site).group(1))  # type: ignore[union-attr]
    assert static.is_relative_to(root / "opt" / "venv") and (static / "admin.css").is_file()
    assert (root / "nginx" / "sites-enabled" / "svp.conf").resolve() == (
        root / "nginx" / "sites-available" / "svp.conf")
    assert nginx_test(root / "nginx" / "nginx.conf", root).returncode == 0

    # The one thing left to the operator works: the first admin account, through `svp`.
    added = subprocess.run([str(root / "bin" / "svp"), "user", "add", "camille", "--role",
                            "admin", "--password-stdin"], input="Tournesol-Vif-Argent-42\n",
                           capture_output=True, text=True, timeout=300,
                           env=clean_environment())
    assert added.returncode == 0, added.stdout + added.stderr
