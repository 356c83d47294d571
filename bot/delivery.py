"""Outbox delivery: a JobQueue job sends pending rows through Telegram, safely.

Guarantee (see also `knowledge.desk.outbox`): a row is claimed and committed before sending; every
part Telegram accepts is recorded right away; the row is marked sent after its last part. After
a crash between Telegram accepting a part and that record, the part is sent once more when the
claim expires: at most one duplicate, never a loss. `TimedOut`, connection errors and
`RetryAfter` are retried with backoff; `BadRequest` and `Forbidden` (the user blocked the bot)
fail the row at once, with the reason advisers see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    LinkPreviewOptions,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot import keyboards, texts
from bot.context import SvpContext
from knowledge.desk import attachments, heartbeat, outbox
from knowledge.desk.formatting import MESSAGE_LIMIT as MESSAGE_LIMIT  # 4,096, re-exported
from knowledge.desk.formatting import render_parts
from knowledge.desk.formatting import split_text as split_text  # re-exported for callers
from knowledge.desk.outbox import OutboxItem
from knowledge.runtime import Knowledge
from knowledge.store.models import OutboxKind
from knowledge.timeutil import utcnow

logger = logging.getLogger(__name__)


# --- rendering (shared with the admin's preview: knowledge.desk.formatting) ------------------

def render_outbox(item: OutboxItem) -> list[str]:
    """Telegram HTML parts of an outbox row: French header by kind, body, footer."""
    if item.kind == OutboxKind.RECEIPT.value:
        return [item.text]  # already Telegram HTML (texts.receipt), well within one message
    return render_parts(body=item.text, header=texts.outbox_header(item.kind, item.ticket_id),
                        footer=texts.outbox_footer(item.kind), formatted=item.formatted)


def _markup(item: OutboxItem) -> InlineKeyboardMarkup | ForceReply | None:
    if item.kind == OutboxKind.CLARIFICATION.value:
        return ForceReply(input_field_placeholder=texts.CLARIFICATION_PLACEHOLDER)
    if item.kind == OutboxKind.FEEDBACK_PROMPT.value:
        return ForceReply(input_field_placeholder=texts.FEEDBACK_COMMENT_PLACEHOLDER)
    if item.kind == OutboxKind.RECEIPT.value:  # rows of callback buttons, as keyboards made them
        return InlineKeyboardMarkup([[InlineKeyboardButton(str(button["text"]),
                                                           callback_data=str(button["callback_data"]))
                                      for button in row] for row in item.buttons]) \
            if item.buttons else None
    rows: list[list[InlineKeyboardButton]] = []
    if item.kind in (OutboxKind.ANSWER.value, OutboxKind.CORRECTION.value) and \
            item.ticket_id is not None:
        rows.extend(keyboards.feedback(item.ticket_id).inline_keyboard)  # type: ignore[arg-type]
    for button in item.buttons:
        if isinstance(button, dict) and button.get("text") and button.get("url"):
            rows.append([InlineKeyboardButton(str(button["text"]), url=str(button["url"]))])
    return InlineKeyboardMarkup(rows) if rows else None


# --- sending ---------------------------------------------------------------------------------

async def send_long(bot: Bot, chat_id: int, body: str, *, header: str | None = None,
                    reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Send a plain-text message of any length, split and escaped; buttons go on the last part."""
    parts = render_parts(body=body, header=header)
    for number, part in enumerate(parts, start=1):
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML,
                               link_preview_options=LinkPreviewOptions(is_disabled=True),
                               reply_markup=reply_markup if number == len(parts) else None)


def _claim(knowledge: Knowledge, now: datetime | None, limit: int) -> list[OutboxItem]:
    with knowledge.session() as session:
        # The sign of life advisers see on the ticket page ("le bot ne tourne pas").
        heartbeat.beat(session=session, name=heartbeat.BOT_DELIVERY)
        return [OutboxItem.of(row)
                for row in outbox.claim_due(session=session, now=now, limit=limit)]


def _record_part(knowledge: Knowledge, outbox_id: int, message_id: int, last: bool) -> None:
    with knowledge.session() as session:
        outbox.record_part_sent(session=session, outbox_id=outbox_id,
                                telegram_message_id=message_id, last=last)


def _file(knowledge: Knowledge, attachment_id: int) -> tuple[str, bytes] | None:
    with knowledge.session() as session:
        found = attachments.by_ids(session=session, attachment_ids=[attachment_id])
        return (found[0].filename, found[0].data) if found else None


def _mark_sent(knowledge: Knowledge, outbox_id: int) -> None:
    with knowledge.session() as session:
        outbox.mark_sent(session=session, outbox_id=outbox_id)


def _retry(knowledge: Knowledge, outbox_id: int, error: str, delay: timedelta | None,
           now: datetime | None) -> None:
    with knowledge.session() as session:
        outbox.schedule_retry(session=session, outbox_id=outbox_id, error=error, delay=delay,
                              now=now)


def _fail(knowledge: Knowledge, outbox_id: int, reason: str) -> None:
    with knowledge.session() as session:
        outbox.mark_failed(session=session, outbox_id=outbox_id, reason=reason)


class SlowDown(Exception):
    """Telegram asked to wait (RetryAfter): the rest of the batch waits too."""

    def __init__(self, delay: timedelta) -> None:
        super().__init__(str(delay))
        self.delay = delay


def _release(knowledge: Knowledge, outbox_id: int, not_before: datetime) -> None:
    with knowledge.session() as session:
        outbox.release(session=session, outbox_id=outbox_id, not_before=not_before)


async def deliver(bot: Bot, knowledge: Knowledge, item: OutboxItem, *,
                  now: datetime | None = None) -> bool:
    """Send the parts of one claimed row not sent yet; return True once it is all delivered.

    Raises SlowDown after recording the retry when Telegram answers RetryAfter.
    """
    parts = render_outbox(item)
    # The files go after the text, each one a part of its own: recorded as soon as Telegram
    # accepted it, so a crash sends again at most the one document in flight.
    total = len(parts) + len(item.attachment_ids)
    try:
        for index in range(len(item.sent_message_ids), total):
            last = index == total - 1
            if index < len(parts):
                message_id = (await bot.send_message(
                    item.chat_id, parts[index], parse_mode=ParseMode.HTML,
                    reply_markup=_markup(item) if index == len(parts) - 1 else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True))).message_id
            else:
                found = await asyncio.to_thread(_file, knowledge,
                                                item.attachment_ids[index - len(parts)])
                # Erased meanwhile (the asker's erasure fails their pending rows anyway):
                # nothing to send, the part counts as done (0 is never a Telegram message id).
                message_id = 0 if found is None else (await bot.send_document(
                    item.chat_id, InputFile(found[1], filename=found[0]),
                    disable_content_type_detection=True)).message_id
            await asyncio.to_thread(_record_part, knowledge, item.id, message_id, last)
        if len(item.sent_message_ids) >= total:  # every part went out before a crash
            await asyncio.to_thread(_mark_sent, knowledge, item.id)
        return True
    except Forbidden as error:
        reason = f"destinataire injoignable : il a bloqué le bot ou supprimé son compte " \
                 f"({error.message})"
        await asyncio.to_thread(_fail, knowledge, item.id, reason)
    except (BadRequest, ChatMigrated) as error:  # retrying would fail the same way
        await asyncio.to_thread(_fail, knowledge, item.id, f"refusé par Telegram : {error}")
    except RetryAfter as error:
        wait = error.retry_after
        delay = wait if isinstance(wait, timedelta) else timedelta(seconds=wait)
        await asyncio.to_thread(_retry, knowledge, item.id, f"limite de débit Telegram ({error})",
                                delay, now)
        raise SlowDown(delay) from error
    except TelegramError as error:  # TimedOut, NetworkError, InvalidToken...: transient
        await asyncio.to_thread(_retry, knowledge, item.id,
                                f"{type(error).__name__} : {error}", None, now)
    return False


async def drain(bot: Bot, knowledge: Knowledge, *, now: datetime | None = None,
                limit: int = 20) -> int:
    """Deliver the due outbox rows; return how many were fully delivered."""
    items = await asyncio.to_thread(_claim, knowledge, now, limit)
    delivered = 0
    for position, item in enumerate(items):
        try:
            if await deliver(bot, knowledge, item, now=now):
                delivered += 1
        except SlowDown as slow:
            # Flood control applies to the whole bot: hand the rest back, untried, for later.
            not_before = (now or utcnow()) + slow.delay
            for rest in items[position + 1:]:
                await asyncio.to_thread(_release, knowledge, rest.id, not_before)
            break
    return delivered


async def deliver_in_hand(bot: Bot, knowledge: Knowledge, item: OutboxItem) -> None:
    """Send at once a row its creator claimed (`enqueue(in_hand=...)`); the job retries failures."""
    with contextlib.suppress(SlowDown):  # recorded: the delivery job sends it after the delay
        await deliver(bot, knowledge, item)


async def outbox_job(context: SvpContext) -> None:
    """JobQueue callback: drain the outbox."""
    await drain(context.bot, context.svp.knowledge)
