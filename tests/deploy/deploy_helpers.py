"""Builders shared by the deployment tests: rendered units and nginx sites, a real `svp serve`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
UNITS_DIR = DEPLOY / "systemd"
SITE = DEPLOY / "nginx" / "svp.conf"
ALERTS = DEPLOY / "prometheus" / "svp-alerts.yml"
INSTALL_SCRIPT = REPO / "scripts" / "install-server.sh"
SVP = Path(sys.executable).parent / "svp"
SHIPPED_SVP = "/opt/svp/venv/bin/svp"
SERVER_NAME = "svp.test"
START_TIMEOUT_SECONDS = 60


def tool(name: str) -> str:
    """The path of a system tool the deployment tests need (scripts/test.sh installs them)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: scripts/test.sh installs it (Debian package)")
    return path


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def clean_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any SVP_* variable, plus the given ones."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SVP_")}
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.update(settings)
    return env


# --- systemd --------------------------------------------------------------------------------


def verify_units(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    """Run `systemd-analyze verify` on unit files (a warning counts: see `assert_verified`)."""
    return subprocess.run([tool("systemd-analyze"), "verify", *map(str, paths)],
                          capture_output=True, text=True, timeout=120)


def assert_verified(result: subprocess.CompletedProcess[str]) -> None:
    """systemd accepted the units without a word: an ignored (mistyped) line is a failure."""
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def rendered_units(target: Path, edit: dict[str, tuple[str, str]] | None = None) -> list[Path]:
    """Copy the shipped units, with only the venv's `svp` replaced by this venv's one.

    `edit` maps a unit's file name to one (old, new) replacement, to break a unit on purpose.
    """
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for source in sorted(UNITS_DIR.iterdir()):
        text = source.read_text(encoding="utf-8").replace(SHIPPED_SVP, str(SVP))
        if edit and source.name in edit:
            old, new = edit[source.name]
            assert old in text, f"{old!r} not in {source.name}"
            text = text.replace(old, new)
        path = target / source.name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


# --- nginx ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NginxSite:
    """A rendered site in a private nginx prefix, on free ports of 127.0.0.1."""

    prefix: Path
    conf: Path
    http_port: int
    https_port: int
    cert: Path


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for SERVER_NAME and 127.0.0.1; return (cert, key)."""
    cert, key = folder / "tls.crt", folder / "tls.key"
    subprocess.run([tool("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    "2", "-subj", f"/CN={SERVER_NAME}", "-addext",
                    f"subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


def render_site(prefix: Path, *, upstream: str, static_dir: Path,
                values: dict[str, str] | None = None) -> NginxSite:
    """Fill the shipped site's placeholders and move its listeners to free local ports.

    Only the placeholders and the four `listen` lines change; `values` overrides a
    placeholder's value (a broken rendering).
    """
    prefix.mkdir(parents=True, exist_ok=True)
    cert, key = make_certificate(prefix)
    http_port, https_port = free_port(), free_port()
    filled = {"__SVP_SERVER_NAME__": SERVER_NAME, "__SVP_TLS_CERT__": str(cert),
              "__SVP_TLS_KEY__": str(key), "__SVP_STATIC_DIR__": str(static_dir),
              "__SVP_UPSTREAM__": upstream, **(values or {})}
    text = SITE.read_text(encoding="utf-8")
    for placeholder, value in filled.items():
        assert placeholder in text, f"{placeholder} missing from the shipped site"
        text = text.replace(placeholder, value)
    listeners = {"    listen 80;\n": f"    listen 127.0.0.1:{http_port};\n",
                 "    listen [::]:80;\n": "",
                 "    listen 443 ssl;\n": f"    listen 127.0.0.1:{https_port} ssl;\n",
                 "    listen [::]:443 ssl;\n": ""}
    for old, new in listeners.items():
        assert text.count(old) == 1, f"{old.strip()!r} not once in the shipped site"
        text = text.replace(old, new)
    (prefix / "sites-enabled").mkdir(exist_ok=True)
    (prefix / "sites-enabled" / "svp.conf").write_text(text, encoding="utf-8")
    conf = prefix / "nginx.conf"
    conf.write_text(minimal_nginx_conf(prefix), encoding="utf-8")
    return NginxSite(prefix=prefix, conf=conf, http_port=http_port, https_port=https_port,
                     cert=cert)


def minimal_nginx_conf(prefix: Path) -> str:
    """An nginx.conf like Debian's, all of its files in `prefix`, including sites-enabled."""
    # As root, workers would run as `nobody`, who cannot enter pytest's private folders.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {kind}_temp_path {prefix}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/error.log;\nevents {{ worker_connections 64; }}\n"
            f"http {{\n    include /etc/nginx/mime.types;\n"
            f"    default_type application/octet-stream;\n"
            f"    access_log {prefix}/access.log;\n{temp}"
            f"    include {prefix}/sites-enabled/*.conf;\n}}\n")


def nginx_test(conf: Path, prefix: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a configuration, its error log in `prefix`."""
    return subprocess.run([tool("nginx"), "-t", "-p", str(prefix), "-e",
                           str(prefix / "error.log"), "-c", str(conf)],
                          capture_output=True, text=True, timeout=60)


@contextmanager
def running_nginx(site: NginxSite) -> Iterator[None]:
    """Run nginx in the foreground on the rendered site until the block ends."""
    process = subprocess.Popen([tool("nginx"), "-p", str(site.prefix), "-e",
                                str(site.prefix / "error.log"), "-c", str(site.conf),
                                "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _wait_listening(site.https_port, process, "nginx")
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_listening(port: int, process: subprocess.Popen[str], name: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{name} stopped: {process.stderr.read() if process.stderr else ''}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"{name} does not listen on port {port}")


# --- a real web process ---------------------------------------------------------------------


@dataclass(frozen=True)
class SvpWeb:
    """A running `svp serve` on SQLite: its address and metrics token."""

    address: str
    metrics_token: str


@contextmanager
def running_svp_web(data_dir: Path) -> Iterator[SvpWeb]:
    """`svp init`, then `svp serve` on a free port of 127.0.0.1, until the block ends."""
    data_dir.mkdir(parents=True, exist_ok=True)
    token = "metrics-token-of-the-deploy-tests"
    env = clean_environment(SVP_DATA_DIR=str(data_dir), SVP_METRICS_TOKEN=token,
                            SVP_TRUSTED_PROXIES="127.0.0.1", SVP_SECURE_COOKIES="true",
                            SVP_ADMIN_BASE_URL=f"https://{SERVER_NAME}")
    subprocess.run([str(SVP), "init"], env=env, cwd=data_dir, check=True, capture_output=True,
                   timeout=300)
    port = free_port()
    log = data_dir / "serve.log"
    with log.open("w+", encoding="utf-8") as output:
        process = subprocess.Popen([str(SVP), "serve", "--host", "127.0.0.1", "--port",
                                    str(port)], env=env, cwd=data_dir, stdout=output,
                                   stderr=subprocess.STDOUT)
        try:
            address = f"http://127.0.0.1:{port}"
            _wait_healthy(process, address, log)
            yield SvpWeb(address=address, metrics_token=token)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=20)


def _wait_healthy(process: subprocess.Popen[bytes], address: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"svp serve stopped:\n{log.read_text(encoding='utf-8')}")
        try:
            if httpx.get(f"{address}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"svp serve did not start:\n{log.read_text(encoding='utf-8')}")
        time.sleep(0.2)
