"""Starting the bot inside another event loop (webhook mode) and stopping it."""

from __future__ import annotations

import pytest
from conftest import TOKEN, RecordingRequest

from bot import runner
from bot.application import build_application
from bot.config import BotConfig
from knowledge.runtime import Knowledge

pytestmark = pytest.mark.anyio


async def test_webhook_start_registers_commands_and_the_secret_then_stops(
        bot_knowledge: Knowledge) -> None:
    transport = RecordingRequest()
    application = build_application(
        knowledge=bot_knowledge, config=BotConfig(token=TOKEN), request=transport,
        get_updates_request=RecordingRequest())
    await runner.start(application, webhook_url="https://svp.example.org/telegram/webhook",
                       secret="abc_DEF-123")
    try:
        assert application.running
        [webhook] = [c for c in transport.calls if c.method == "setWebhook"]
        assert webhook.params["secret_token"] == "abc_DEF-123"
        [commands] = [c for c in transport.calls if c.method == "setMyCommands"]
        names = [c["command"] for c in commands.params["commands"]]
        assert {"mesquestions", "aide", "moi", "supprimer"} <= set(names)
    finally:
        await runner.stop(application)
    assert not application.running
