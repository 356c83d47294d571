"""`svp bot` as a real process, polling a small local server that speaks the Bot API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from standin_bot_api import StandInBotApi, running, stop

SVP = Path(sys.executable).with_name("svp")
CHAT = 9001


class FakeBotApi(StandInBotApi):
    """The stand-in Bot API, with text messages from one person."""

    def push_text(self, text: str) -> None:
        update_id = self.pushed + 1
        message: dict[str, Any] = {
            "message_id": 100 + update_id, "date": int(time.time()), "text": text,
            "chat": {"id": CHAT, "type": "private", "first_name": "Marie"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "Marie", "last_name": "Durand"}}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        self.push({"update_id": update_id, "message": message})


@pytest.fixture
def bot_api() -> Iterator[tuple[FakeBotApi, str]]:
    with running(TOKEN, FakeBotApi) as api:
        assert isinstance(api, FakeBotApi)
        yield api, api.url


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
        time.sleep(0.05)
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
        api.push_text(f"/start {code}")
        assert "Habitat Provence" in _wait_for(api, "Bienvenue", process)
        api.push_text("Un locataire peut-il sous-louer son logement social ?")
        receipt = _wait_for(api, "enregistrée sous le", process)
        assert "n° 1" in receipt
        assert {"getMe", "getUpdates", "sendMessage", "setMyCommands"} <= set(api.methods)
    finally:
        stop(process)
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
