"""No question lost: the real bot killed with SIGKILL during a backlog of 200 questions.

Polling (`svp bot`) against a stand-in Bot API that follows Telegram's offset rules, and
webhook (`svp serve`) fed like Telegram feeds it (an update is posted again until it gets a
200). After every kill the bot is started again; once drained, every question is stored
exactly once and its receipt was sent once, or twice at worst.
"""

from __future__ import annotations

import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import TOKEN
from sqlalchemy import func, select
from standin_bot_api import StandInBotApi, running, stop

from index.embedders import Embedder
from knowledge.catalog.entries import EntryFields, create
from knowledge.people import askers, organisations
from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine
from knowledge.store.models import InboxUpdate, Outbox, Ticket

SVP = Path(sys.executable).with_name("svp")
DEVSET = Path(__file__).resolve().parents[1] / "data" / "devset.jsonl"
QUESTIONS = 200
CHATS = [820_000 + number for number in range(20)]
SECRET = "crash-test_secret"
RECEIPT = re.compile(r"enregistrée sous le <b>n° (\d+)</b>")
DRAIN_SECONDS = 150

pytestmark = pytest.mark.slow


@dataclass
class World:
    """The database the bot works on, and the updates Telegram holds for it."""

    database_url: str
    env: dict[str, str]
    updates: list[dict[str, Any]]
    logs: Path


def _updates() -> list[dict[str, Any]]:
    with DEVSET.open(encoding="utf-8") as lines:
        queries = [json.loads(line)["q"] for line in lines if line.strip()]
    updates = []
    for number in range(1, QUESTIONS + 1):
        chat = CHATS[number % len(CHATS)]
        updates.append({"update_id": 5000 + number, "message": {
            "message_id": 300 + number, "date": int(time.time()),
            "text": f"{queries[number % len(queries)]} (cas {number})",
            "chat": {"id": chat, "type": "private", "first_name": "A"},
            "from": {"id": chat, "is_bot": False, "first_name": "A"}}})
    return updates


@pytest.fixture
def world(database_url: str, tmp_path: Path, bot_embedder: Embedder) -> World:
    """20 approved askers, three validated entries, 200 questions waiting."""
    knowledge = Knowledge(engine=make_engine(database_url), embedder_factory=lambda: bot_embedder,
                          index_dir=tmp_path / "index-test")
    with knowledge.session() as session:
        org = organisations.create(session=session, name="Habitat Crash", actor="test",
                                   kind=organisations.parse_kind("oph"), departement="13")
        for chat in CHATS:
            asker = askers.register_pending(
                session=session, telegram_user_id=chat, chat_id=chat, telegram_username=None,
                full_name=f"Demandeur {chat}", email=f"d{chat}@example.org",
                organisation_id=org.id)
            askers.approve(session=session, asker_id=asker.id, actor="test")
        for question, answer in (
                ("Qui paie la taxe d'enlèvement des ordures ménagères ?",
                 "Le locataire, au titre des charges récupérables."),
                ("Un locataire peut-il sous-louer son logement social ?",
                 "Non, sauf exceptions prévues par la loi."),
                ("Comment est calculé le supplément de loyer de solidarité ?",
                 "Selon les ressources du ménage et le plafond applicable.")):
            create(session=session, content=EntryFields(question=question, answer=answer),
                   actor="test", embedder=bot_embedder)
        session.query(Outbox).delete()  # the "inscription validée" messages are not the point
    knowledge.close()
    env = {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
           "SVP_TELEGRAM_TOKEN": TOKEN, "SVP_OUTBOX_INTERVAL_SECONDS": "0.5",
           "SVP_RATE_LIMIT_PER_MINUTE": "10000", "SVP_RATE_LIMIT_PER_DAY": "10000"}
    env.pop("SVP_TELEGRAM_WEBHOOK_URL", None)
    env.pop("SVP_TELEGRAM_WEBHOOK_SECRET", None)
    return World(database_url=database_url, env=env, updates=_updates(), logs=tmp_path)


def _start(world: World, args: list[str], env: dict[str, str], run: int
           ) -> subprocess.Popen[bytes]:
    out = (world.logs / f"run{run}.out").open("wb")
    err = (world.logs / f"run{run}.err").open("wb")
    return subprocess.Popen([str(SVP), *args], env=env, stdout=out, stderr=err)


def _receipts(api: StandInBotApi) -> Counter[int]:
    """How many times each ticket's receipt reached Telegram."""
    return Counter(int(match.group(1)) for text in api.texts()
                   if (match := RECEIPT.search(text)))


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def _check_drained(world: World, api: StandInBotApi) -> tuple[int, int, Counter[int]]:
    """Wait for the drain; return (lost, stored twice, receipts per ticket) after checking."""
    engine = make_engine(world.database_url)
    try:
        def drained() -> bool:
            with engine.connect() as connection:
                stored = connection.scalar(select(func.count()).select_from(Ticket)) or 0
            return stored >= QUESTIONS and len(_receipts(api)) >= stored

        _wait(drained, DRAIN_SECONDS, "the backlog to drain")
        time.sleep(1.0)  # anything still in flight lands now
        with engine.connect() as connection:
            stored = [(row.telegram_chat_id, row.telegram_message_id, row.id)
                      for row in connection.execute(select(Ticket))]
            pending = connection.scalar(select(func.count()).select_from(InboxUpdate)
                                        .where(InboxUpdate.processed_at.is_(None)))
    finally:
        engine.dispose()
    expected = {(u["message"]["chat"]["id"], u["message"]["message_id"]) for u in world.updates}
    keys = Counter((chat, message) for chat, message, _ in stored)
    lost = len(expected - set(keys))
    twice = sum(count - 1 for count in keys.values())
    receipts = _receipts(api)
    print(f"lost={lost} stored_twice={twice} receipts_sent_twice="
          f"{sum(1 for c in receipts.values() if c == 2)}")
    assert lost == 0 and twice == 0
    assert pending == 0
    for _, _, ticket_id in stored:
        assert 1 <= receipts[ticket_id] <= 2, f"ticket {ticket_id}: {receipts[ticket_id]}"
    return lost, twice, receipts


@pytest.mark.parametrize("seed", [7])
def test_polling_bot_killed_three_times_loses_and_duplicates_nothing(
        world: World, seed: int) -> None:
    kills = sorted(random.Random(seed).sample(range(5, QUESTIONS - 5), 3))
    with running(TOKEN) as api:
        for update in world.updates:
            api.push(update)
        env = {**world.env, "SVP_TELEGRAM_API_URL": api.url}
        for run, after in enumerate(kills):
            process = _start(world, ["bot"], env, run)
            _wait(lambda after=after, process=process:
                  len(_receipts(api)) >= after or process.poll() is not None,
                  DRAIN_SECONDS, f"{after} receipts")
            assert process.poll() is None, (world.logs / f"run{run}.err").read_text()
            process.kill()  # SIGKILL: no clean-up of any kind
            process.wait()
        process = _start(world, ["bot"], env, len(kills))
        try:
            _check_drained(world, api)
            _wait(lambda: api.unconfirmed() == 0, 30, "Telegram to be told every update")
        finally:
            stop(process)
    errors = (world.logs / f"run{len(kills)}.err").read_text()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors and "Warning" not in errors, errors


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Telegram(threading.Thread):
    """Posts each update to the webhook, again and again until it is answered 200."""

    def __init__(self, url: str, updates: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.updates = updates
        self.acknowledged = 0
        self.stopping = False

    def run(self) -> None:
        for update in self.updates:
            while not self.stopping:
                request = urllib.request.Request(
                    self.url, data=json.dumps(update).encode(), method="POST",
                    headers={"Content-Type": "application/json",
                             "X-Telegram-Bot-Api-Secret-Token": SECRET})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        if response.status == 200:
                            self.acknowledged += 1
                            break
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.05)


@pytest.mark.parametrize("seed", [11])
def test_webhook_server_killed_between_posts_loses_and_duplicates_nothing(
        world: World, seed: int) -> None:
    rng = random.Random(seed)
    acknowledged_kill = rng.randrange(20, QUESTIONS - 20)  # while Telegram is still posting
    receipt_kills = sorted(rng.sample(range(5, QUESTIONS - 5), 2))  # while processing
    port = _free_port()
    with running(TOKEN) as api:
        env = {**world.env, "SVP_TELEGRAM_API_URL": api.url,
               "SVP_TELEGRAM_WEBHOOK_URL": "https://svp.example.org/telegram/webhook",
               "SVP_TELEGRAM_WEBHOOK_SECRET": SECRET,
               # The search is the polling test's business; here receipts come faster without.
               "SVP_SUGGESTIONS_SHOWN": "0"}
        args = ["serve", "--port", str(port)]
        telegram = Telegram(f"http://127.0.0.1:{port}/telegram/webhook", world.updates)
        telegram.start()
        conditions: list[Callable[[], bool]] = [
            lambda: telegram.acknowledged >= acknowledged_kill,
            *[lambda after=after: len(_receipts(api)) >= after for after in receipt_kills]]
        try:
            for run, condition in enumerate(conditions):
                process = _start(world, args, env, run)
                _wait(lambda condition=condition, process=process:
                      condition() or process.poll() is not None,
                      DRAIN_SECONDS, f"kill point {run}")
                assert process.poll() is None, (world.logs / f"run{run}.err").read_text()
                process.kill()
                process.wait()
            process = _start(world, args, env, len(conditions))
            try:
                _check_drained(world, api)
                assert telegram.acknowledged == QUESTIONS
            finally:
                stop(process)
        finally:
            telegram.stopping = True
            telegram.join(timeout=15)
    assert "setWebhook" in api.methods
