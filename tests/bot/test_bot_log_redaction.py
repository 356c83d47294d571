"""The bot token never reaches a log: `svp --debug bot` against a stand-in Bot API."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import TOKEN
from test_bot_process import SVP, FakeBotApi, bot_api  # noqa: F401  (the stand-in Bot API)

from svp.redaction import MASK


@pytest.mark.slow
def test_debug_logs_of_a_running_bot_never_show_the_token(
        bot_api: tuple[FakeBotApi, str], database_url: str, tmp_path: Path) -> None:  # noqa: F811
    api, url = bot_api
    env = {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
           "SVP_TELEGRAM_TOKEN": TOKEN, "SVP_TELEGRAM_API_URL": url,
           "SVP_OUTBOX_INTERVAL_SECONDS": "0.5"}
    env.pop("SVP_TELEGRAM_WEBHOOK_URL", None)
    subprocess.run([str(SVP), "init"], env=env, capture_output=True, timeout=180, check=True)
    log = tmp_path / "bot.log"
    with log.open("w") as sink:
        process = subprocess.Popen([str(SVP), "--debug", "bot"], env=env, stdout=sink,
                                   stderr=subprocess.STDOUT, text=True)
        try:
            api.push_text("/aide")
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not api.texts():
                assert process.poll() is None, log.read_text()
                time.sleep(0.2)
            assert api.texts(), "the bot answered nothing"
            time.sleep(1)  # a few more polling rounds, each logged
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    text = log.read_text()
    assert "DEBUG" in text and "getUpdates" in text  # the bot did log, at DEBUG level
    assert "HTTP Request: POST" in text and MASK in text  # httpx's URL line, redacted
    assert TOKEN not in text
    assert TOKEN.split(":")[1] not in text
