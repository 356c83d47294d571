"""No email lost: the real mail worker (`svp mail`) killed with SIGKILL during a backlog of 100
emails, then started again. Every row is sent, none twice but the one in flight at a kill."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mail_server import Mailbox, smtp_server
from sqlalchemy import select, update

from knowledge.desk import outbox
from knowledge.runtime import Knowledge
from knowledge.store.db import make_engine
from knowledge.store.models import Outbox, OutboxKind, OutboxStatus

SVP = Path(sys.executable).with_name("svp")
EMAILS = 100
KILLS_AFTER = (25, 60)

pytestmark = pytest.mark.slow


class SlowMailbox(Mailbox):
    """A server taking a few milliseconds per message, so that a kill lands mid-backlog."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Accept after a short wait."""
        await asyncio.sleep(0.02)
        return await super().handle_DATA(server, session, envelope)


def _no_embedder() -> Any:
    raise AssertionError("sending mail embeds nothing")


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def test_the_mail_worker_killed_twice_loses_nothing_and_sends_twice_at_most_one_each_time(
        database_url: str, tmp_path: Path) -> None:
    knowledge = Knowledge(engine=make_engine(database_url), embedder_factory=_no_embedder,
                          index_dir=tmp_path / "index")
    with knowledge.session() as session:
        for number in range(EMAILS):
            outbox.enqueue_email(session=session, kind=OutboxKind.NOTIFICATION,
                                 to=f"membre{number}@habitat-test.fr",
                                 subject=f"Message {number}", text=f"Texte n° {number}",
                                 created_by="test")
    box = SlowMailbox()
    with smtp_server(box) as (port, _):
        env = {**os.environ, "SVP_DATABASE_URL": database_url, "SVP_DATA_DIR": str(tmp_path),
               "SVP_MAIL_SMTP_HOST": "127.0.0.1", "SVP_MAIL_SMTP_PORT": str(port),
               "SVP_MAIL_SMTP_SECURITY": "none", "SVP_MAIL_FROM": "SVP <svp@svp.example>",
               "SVP_MAIL_INTERVAL_SECONDS": "0.2"}
        for run, after in enumerate([*KILLS_AFTER, None]):
            err = (tmp_path / f"run{run}.err").open("wb")
            process = subprocess.Popen([str(SVP), "mail"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=err)
            if after is None:
                break
            _wait(lambda after=after, process=process:
                  len(box.messages) >= after or process.poll() is not None,
                  60, f"{after} emails")
            assert process.poll() is None, (tmp_path / f"run{run}.err").read_text()
            process.kill()  # SIGKILL: no clean-up of any kind
            process.wait()
            # The row in flight at the kill waits for its lease: let it expire now.
            with knowledge.session() as session:
                session.execute(update(Outbox).where(
                    Outbox.status == OutboxStatus.PENDING.value, Outbox.attempts > 0)
                    .values(next_attempt_at=Outbox.created_at))
        try:
            _wait(lambda: len({m["Message-ID"] for m in box.messages}) >= EMAILS, 120,
                  "every email")
            _wait(lambda: all(row == OutboxStatus.SENT.value for row in _statuses(knowledge)),
                  30, "every row marked sent")
        finally:
            process.terminate()
            process.wait(timeout=30)
    with knowledge.session() as session:
        kept = dict(session.execute(select(Outbox.mail_message_id, Outbox.email_to)).all())
    knowledge.close()
    received = Counter(message["Message-ID"] for message in box.messages)
    twice = sum(count - 1 for count in received.values())
    print(f"emails={EMAILS} received={len(box.messages)} lost={EMAILS - len(received)} "
          f"sent_twice={twice}")
    assert set(received) == set(kept) and len(kept) == EMAILS  # 0 lost, one Message-ID each
    assert twice <= len(KILLS_AFTER) and max(received.values()) <= 2
    for message in box.messages:  # a message sent again is the same message, to the same one
        assert kept[message["Message-ID"]] == message["To"]
    errors = (tmp_path / f"run{len(KILLS_AFTER)}.err").read_text()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors, errors


def _statuses(knowledge: Knowledge) -> list[str]:
    with knowledge.session() as session:
        return list(session.scalars(select(Outbox.status)))
