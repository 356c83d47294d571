"""`svp serve --workers N`: N web processes on PostgreSQL, exactly one bot, SQLite refused."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from standin_bot_api import running
from svp_process import run_svp

TOKEN = "123456789:" + "C" * 35


def _children(parent: int) -> dict[int, str]:
    """The command lines of a process's children."""
    found = {}
    for path in Path("/proc").iterdir():
        if not path.name.isdigit():
            continue
        try:
            status = (path / "status").read_text()
            command = (path / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(status.split("PPid:", 1)[1].split()[0]) == parent:
            found[int(path.name)] = command
    return found


def _bots(parent: int) -> list[int]:
    return [pid for pid, command in _children(parent).items() if command.endswith(" bot ")]


def _web_workers(parent: int) -> list[int]:
    return [pid for pid, command in _children(parent).items() if "spawn_main" in command]


def test_several_workers_on_sqlite_are_refused_with_one_line(svp_env: dict[str, str],
                                                             tmp_path: Path) -> None:
    if not svp_env["SVP_DATABASE_URL"].startswith("sqlite"):
        return  # the refusal is SQLite's; PostgreSQL runs them (test below)
    result = run_svp("serve", "--workers", "2", env=svp_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "PostgreSQL" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_separate_processes_need_the_shared_webhook_secret(svp_env: dict[str, str],
                                                           tmp_path: Path) -> None:
    env = {**svp_env, "SVP_TELEGRAM_TOKEN": TOKEN,
           "SVP_TELEGRAM_WEBHOOK_URL": "https://svp.example.org/telegram/webhook"}
    result = run_svp("serve", "--no-bot", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "SVP_TELEGRAM_WEBHOOK_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_two_workers_and_exactly_one_bot_each_started_again_when_killed(
        svp_env: dict[str, str], tmp_path: Path) -> None:
    if svp_env["SVP_DATABASE_URL"].startswith("sqlite"):
        return  # several web processes: PostgreSQL only
    assert run_svp("init", env=svp_env, cwd=tmp_path).returncode == 0
    port = _free_port()
    with running(TOKEN) as api:
        env = {**svp_env, "SVP_TELEGRAM_TOKEN": TOKEN, "SVP_TELEGRAM_API_URL": api.url}
        log = tmp_path / "serve.log"
        with log.open("wb") as output:
            serve = subprocess.Popen([sys.executable, "-m", "svp", "serve", "--port", str(port),
                                      "--workers", "2"], env=env, cwd=tmp_path, stdout=output,
                                     stderr=subprocess.STDOUT)
        try:
            _wait(lambda: len(_web_workers(serve.pid)) == 2 and len(_bots(serve.pid)) == 1
                  and _healthy(port) and "getUpdates" in api.methods, serve, log)
            bot = _bots(serve.pid)[0]
            os.kill(bot, signal.SIGKILL)
            _wait(lambda: _bots(serve.pid) not in ([], [bot]), serve, log)
            assert len(_bots(serve.pid)) == 1 and len(_web_workers(serve.pid)) == 2
            assert _healthy(port)
            started = [*_bots(serve.pid), *_web_workers(serve.pid)]
        finally:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
    # Stopping svp serve stops its bot and web workers too.
    time.sleep(0.5)
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()
                and "zombie" not in Path(f"/proc/{pid}/status").read_text()]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: object, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while not (callable(condition) and condition()):
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"svp serve --workers 2:\n{log.read_text(errors='replace')}")
        time.sleep(0.2)
