"""Durable intake: updates are committed to the inbox before Telegram may forget them, then
processed from it one by one, in arrival order (hence in order within each chat).

Polling: this module's own `getUpdates` loop moves the offset (which tells Telegram to forget)
only past updates the inbox has committed. Webhook: the route answers 200 only after the
commit (`Intake.receive`). Processing marks each update done in the unit of work of what its
handler wrote (`bot.services.current_update`), so after a crash the unprocessed rows are replayed
and the processed ones are not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.services import InboxMark, current_update
from knowledge.desk import inbox
from knowledge.desk.inbox import Arrival, PendingUpdate
from knowledge.runtime import Knowledge

logger = logging.getLogger(__name__)

INTAKE_KEY = "svp_intake"
POLL_TIMEOUT_SECONDS = 10
_IDLE_SECONDS = 1.0
_STOP_GRACE_SECONDS = 30.0


def arrival(payload: dict[str, Any], update: Update) -> Arrival:
    """What the inbox stores of an update: its id, chat, kind and raw payload."""
    kind = next((key for key in payload if key != "update_id"), "unknown")
    chat = update.effective_chat
    return Arrival(update_id=update.update_id, chat_id=chat.id if chat is not None else None,
                   kind=kind[:32], payload=payload)


class Intake:
    """The bot's inbox at work: receive (or poll) into it, and process from it."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 knowledge: Knowledge, *, retention: timedelta) -> None:
        self.application = application
        self.knowledge = knowledge
        self.retention = retention
        self._wake: asyncio.Event | None = None
        self._stopping = False
        self._poller: asyncio.Task[None] | None = None
        self._processor: asyncio.Task[None] | None = None

    # --- receiving ---------------------------------------------------------------------------

    async def receive(self, updates: Sequence[tuple[dict[str, Any], Update]]) -> list[int]:
        """Commit updates to the inbox (duplicates ignored); return the ids that were new."""
        arrivals = [arrival(payload, update) for payload, update in updates]
        new = await asyncio.to_thread(self._record, arrivals)
        if new and self._wake is not None:
            self._wake.set()
        return new

    def _record(self, arrivals: list[Arrival]) -> list[int]:
        with self.knowledge.session() as session:
            return inbox.record(session=session, arrivals=arrivals)

    async def _poll(self) -> None:
        bot = self.application.bot
        offset: int | None = None  # Telegram serves every unconfirmed update; dups are ignored
        failures = 0
        while not self._stopping:
            try:
                updates = await bot.get_updates(offset=offset, timeout=POLL_TIMEOUT_SECONDS,
                                                allowed_updates=Update.ALL_TYPES)
                if updates:
                    await self.receive([(update.to_dict(), update) for update in updates])
                    # Only now may Telegram forget them: the next call confirms this offset.
                    offset = max(update.update_id for update in updates) + 1
                failures = 0
            except TimedOut:
                continue
            except RetryAfter as error:
                logger.warning("Telegram asked to slow down polling (%s)", error)
                await asyncio.sleep(_seconds(error.retry_after))
            except Conflict as error:  # another process polls, or a webhook is set
                logger.warning("getUpdates refused by Telegram: %s", error.message)
                await asyncio.sleep(5)
            except NetworkError as error:
                failures += 1
                delay = min(2.0 ** failures, 30.0)
                logger.warning("could not fetch updates (%s); trying again in %.0f s", error,
                               delay)
                await asyncio.sleep(delay)
            except Exception:  # e.g. the database is down: the offset stays, nothing is lost
                failures += 1
                logger.exception("could not store fetched updates; fetching them again later")
                await asyncio.sleep(min(2.0 ** failures, 30.0))

    # --- processing --------------------------------------------------------------------------

    async def process_pending(self) -> int:
        """Process every unprocessed update now, oldest first; return how many were processed."""
        done = 0
        last_id = 0
        while not self._stopping:
            row = await asyncio.to_thread(self._claim_next, last_id)
            if row is None:
                break
            await self._process_one(row)
            last_id = row.id
            done += 1
        return done

    def _claim_next(self, after_id: int) -> PendingUpdate | None:
        with self.knowledge.session() as session:
            return inbox.claim_next(session=session, after_id=after_id)

    def _done(self, update_id: int, error: str | None) -> None:
        with self.knowledge.session() as session:
            inbox.mark_done(session=session, update_id=update_id, error=error)

    async def _process_one(self, row: PendingUpdate) -> None:
        mark = InboxMark(update_id=row.update_id)
        token = current_update.set(mark)
        error: str | None = None
        try:
            update = Update.de_json(row.payload, self.application.bot)
            # Handler errors are reported by the application's error handler, not raised here.
            await self.application.process_update(update)
            # The conversation step and draft this update changed are stored before the
            # update counts as processed: a replay after a crash finds the step it was sent in.
            await self.application.update_persistence()
        except Exception as exc:  # an unreadable payload: recorded, never retried forever
            logger.exception("inbox update %s could not be processed", row.update_id)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            current_update.reset(token)
        if not mark.done:  # the handler wrote nothing (help, refusal...): done now
            await asyncio.to_thread(self._done, row.update_id, error)

    async def _process_forever(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.process_pending()
            except Exception:  # the database is down: try again shortly, nothing is lost
                logger.exception("could not read the inbox; trying again shortly")
                await asyncio.sleep(5)
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=_IDLE_SECONDS)

    # --- life cycle --------------------------------------------------------------------------

    def start(self, *, polling: bool) -> None:
        """Replay what the inbox holds, then process as updates arrive (and poll, if asked)."""
        self._stopping = False
        self._wake = asyncio.Event()
        self._processor = asyncio.create_task(self._process_forever(), name="svp-inbox")
        if polling:
            self._poller = asyncio.create_task(self._poll(), name="svp-polling")

    async def stop(self) -> None:
        """Stop polling at once; let the update being processed finish (within a grace delay)."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        if self._processor is not None:
            try:
                await asyncio.wait_for(self._processor, timeout=_STOP_GRACE_SECONDS)
            except TimeoutError:
                logger.warning("stopped while an update was being processed: it will be "
                               "processed again at the next start")
        self._poller = self._processor = None

    def prune(self) -> int:
        """Delete processed updates older than the retention period (blocking)."""
        with self.knowledge.session() as session:
            return inbox.prune(session=session, retention=self.retention)


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def intake_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Intake:
    """The intake `build_application` attached to an application."""
    found = application.bot_data.get(INTAKE_KEY)
    if not isinstance(found, Intake):
        raise RuntimeError("this application has no intake (build it with build_application)")
    return found
