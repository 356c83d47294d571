"""`svp bot` as a real process, polling a small local server that speaks the Bot API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from conftest import BOT_USER, TOKEN

SVP = Path(sys.executable).with_name("svp")
CHAT = 9001


class FakeBotApi:
    """Just enough of the Bot API: getMe, getUpdates (long polling), sendMessage and friends."""

    def __init__(self) -> None:
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.methods: list[str] = []
        self.lock = threading.Lock()
        self.next_message_id = 1

    def push(self, text: str) -> None:
        with self.lock:
            update_id = len(self.updates) + 1
            message: dict[str, Any] = {
                "message_id": 100 + update_id, "date": int(time.time()), "text": text,
                "chat": {"id": CHAT, "type": "private", "first_name": "Marie"},
                "from": {"id": CHAT, "is_bot": False, "first_name": "Marie",
                         "last_name": "Durand"}}
            if text.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0,
                                        "length": len(text.split()[0])}]
            self.updates.append({"update_id": update_id, "message": message})

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.methods.append(method)
            if method == "getMe":
                return BOT_USER
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                return [u for u in self.updates if u["update_id"] >= offset]
            if method in ("sendMessage", "editMessageText"):
                self.next_message_id += 1
                self.sent.append(params)
                return {"message_id": self.next_message_id, "date": int(time.time()),
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "from": BOT_USER, "text": params.get("text", "")}
            return True

    def texts(self) -> list[str]:
        with self.lock:
            return [str(p.get("text", "")) for p in self.sent]


@pytest.fixture
def bot_api() -> Iterator[tuple[FakeBotApi, str]]:
    api = FakeBotApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(body or "{}")
            else:
                params = {key: values[0] for key, values in parse_qs(body).items()}
            method = self.path.rsplit("/", 1)[-1]
            if not self.path.startswith(f"/bot{TOKEN}/"):
                self._reply(401, {"ok": False, "error_code": 401,
                                  "description": "Unauthorized"})
                return
            if method == "getUpdates" and not api.answer("getUpdates", params):
                time.sleep(0.2)  # a short long-poll keeps the loop calm
            self._reply(200, {"ok": True, "result": api.answer(method, params)})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield api, f"http://127.0.0.1:{server.server_address[1]}/bot"
    server.shutdown()
    server.server_close()


def _svp(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(SVP), *args], env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _wait_for(api: FakeBotApi, needle: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 180  # generous: the first question loads the model
    while time.monotonic() < deadline:
        for text in api.texts():
            if needle in text:
                return text
        assert process.poll() is None, "svp bot stopped"
        time.sleep(0.2)
    raise AssertionError(f"no reply containing {needle!r}; got {api.texts()}")


@pytest.mark.slow
def test_svp_bot_registers_by_invite_and_answers_a_question(
        bot_api: tuple[FakeBotApi, str], database_url: str, tmp_path: Path) -> None:
    api, url = bot_api
    env = {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
           "SVP_TELEGRAM_TOKEN": TOKEN, "SVP_TELEGRAM_API_URL": url,
           "SVP_OUTBOX_INTERVAL_SECONDS": "0.5"}
    env.pop("SVP_TELEGRAM_WEBHOOK_URL", None)
    _svp(env, "org", "add", "Habitat Provence", "--kind", "oph", "--departement", "13")
    code = _svp(env, "org", "invite", "Habitat Provence").strip().splitlines()[-1]
    process = subprocess.Popen([str(SVP), "bot"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        api.push(f"/start {code}")
        assert "Habitat Provence" in _wait_for(api, "Bienvenue", process)
        api.push("Un locataire peut-il sous-louer son logement social ?")
        receipt = _wait_for(api, "enregistrée sous le", process)
        assert "n° 1" in receipt
        assert {"getMe", "getUpdates", "sendMessage", "setMyCommands"} <= set(api.methods)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


@pytest.mark.slow
def test_svp_bot_with_a_token_the_server_refuses_fails_with_one_line(
        bot_api: tuple[FakeBotApi, str], database_url: str, tmp_path: Path) -> None:
    _, url = bot_api
    env = {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
           "SVP_TELEGRAM_TOKEN": "987654321:" + "B" * 35, "SVP_TELEGRAM_API_URL": url}
    result = subprocess.run([str(SVP), "bot"], env=env, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("Erreur")]
    assert len(errors) == 1 and "refuse le jeton" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
