"""A local stand-in for the Bot API that follows Telegram's offset rules, for process tests.

`getUpdates` forgets every update below the offset it is given (Telegram's confirmation) and
serves the others again, however often they were served before; it long-polls briefly when
nothing waits. Every other call is recorded and answered like Telegram would.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_USER = {"id": 777000, "is_bot": True, "first_name": "SVP", "username": "svp_test_bot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False}


class StandInBotApi:
    """The Bot API's state: waiting updates, and what the bot sent."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.waiting: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.methods: list[str] = []
        self.next_message_id = 1
        self.pushed = 0
        self.url = ""

    def push(self, update: dict[str, Any]) -> None:
        """Make an update available to getUpdates."""
        with self.lock:
            self.waiting.append(update)
            self.pushed += 1

    def answer(self, method: str, params: dict[str, Any]) -> Any:
        """The result of one Bot API call."""
        with self.lock:
            self.methods.append(method)
            if method == "getMe":
                return BOT_USER
            if method == "getUpdates":
                offset = int(params.get("offset") or 0)
                # Telegram's rule: an offset confirms (and forgets) every update below it.
                self.waiting = [u for u in self.waiting if u["update_id"] >= offset]
                return list(self.waiting[:int(params.get("limit") or 100)])
            if method in ("sendMessage", "editMessageText"):
                self.next_message_id += 1
                self.sent.append(dict(params))
                return {"message_id": self.next_message_id, "date": int(time.time()),
                        "chat": {"id": int(params["chat_id"]), "type": "private"},
                        "from": BOT_USER, "text": params.get("text", "")}
            return True

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Texts sent (to one chat, if given)."""
        with self.lock:
            return [str(p.get("text", "")) for p in self.sent
                    if chat_id is None or int(p["chat_id"]) == chat_id]

    def messages(self) -> list[tuple[int, str]]:
        """(chat id, text) of every message sent, in order."""
        with self.lock:
            return [(int(p["chat_id"]), str(p.get("text", ""))) for p in self.sent]

    def unconfirmed(self) -> int:
        """How many updates Telegram still holds."""
        with self.lock:
            return len(self.waiting)


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a bot process as Ctrl+C does; kill it if it does not stop within a minute."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def running(token: str, kind: type[StandInBotApi] = StandInBotApi) -> Iterator[StandInBotApi]:
    """Serve a stand-in Bot API on a free local port (`api.url`: SVP_TELEGRAM_API_URL)."""
    api = kind(token)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                params = json.loads(body or "{}")
            else:
                params = {key: values[0] for key, values in parse_qs(body).items()}
            if not self.path.startswith(f"/bot{api.token}/"):
                self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                return
            method = self.path.rsplit("/", 1)[-1]
            result = api.answer(method, params)
            if method == "getUpdates" and not result:
                time.sleep(0.2)  # a short long-poll
                result = api.answer(method, params)
            self._reply(200, {"ok": True, "result": result})

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            with contextlib.suppress(OSError):  # the bot may have been killed meanwhile
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.url = f"http://127.0.0.1:{server.server_address[1]}/bot"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
