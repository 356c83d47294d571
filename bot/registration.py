"""The /start conversation: invite code, or name → organisation → e-mail → consent."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import keyboards, texts
from bot.context import SvpContext
from knowledge.errors import DomainError, Forbidden
from knowledge.people.askers import validate_email, validate_name

logger = logging.getLogger(__name__)

NAME, ORGANISATION, EMAIL, CONSENT = range(4)
END = ConversationHandler.END
TIMEOUT_SECONDS = 30 * 60

PRIVATE = filters.ChatType.PRIVATE
NEW_TEXT = filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE & PRIVATE
_KEY = "registration"


def _draft(context: SvpContext) -> dict[str, Any]:
    assert context.user_data is not None
    draft: dict[str, Any] = context.user_data.setdefault(_KEY, {})
    return draft


async def start(update: Update, context: SvpContext) -> int:
    """Greet a user: register by invite code, tell a known user where they stand, or ask."""
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None:
        return END
    code = context.args[0] if context.args else None
    if code:
        try:
            asker = await asyncio.to_thread(
                context.svp.register_with_invite, code=code, telegram_user_id=user.id,
                chat_id=chat.id, username=user.username, full_name=user.full_name)
        except Forbidden:
            await message.reply_text(texts.BLOCKED)
            return END
        except DomainError:
            await message.reply_text(texts.INVALID_INVITE)
            return END
        await message.reply_html(texts.welcome_invite(asker.organisation or ""))
        return END
    known = await context.asker(update)
    if known is not None:
        reply = {"approved": texts.ALREADY_REGISTERED, "pending": texts.PENDING,
                 "blocked": texts.BLOCKED}.get(known.status, texts.NOT_REGISTERED)
        await message.reply_text(reply)
        return END
    _draft(context).clear()
    await message.reply_html(texts.REG_INTRO)
    return NAME


async def got_name(update: Update, context: SvpContext) -> int:
    """Keep the full name and show the organisations."""
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        name = validate_name(message.text)
    except DomainError as error:
        await message.reply_text(texts.invalid_value(str(error)))
        return NAME
    choices = await asyncio.to_thread(context.svp.organisation_choices)
    if not choices:
        await message.reply_text(texts.REG_NO_ORGANISATION)
        return END
    _draft(context)["name"] = name
    await message.reply_html(texts.REG_ASK_ORGANISATION,
                             reply_markup=keyboards.organisations(choices))
    return ORGANISATION


async def organisation_page(update: Update, context: SvpContext) -> int:
    """Show another page of organisations."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    numbers = keyboards.parse_ints(query.data, keyboards.REG_PAGE)
    choices = await asyncio.to_thread(context.svp.organisation_choices)
    await query.edit_message_reply_markup(
        keyboards.organisations(choices, numbers[0] if numbers else 0))
    return ORGANISATION


async def got_organisation(update: Update, context: SvpContext) -> int:
    """Keep the organisation and ask for the e-mail."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    numbers = keyboards.parse_ints(query.data, keyboards.REG_ORG)
    choices = dict(await asyncio.to_thread(context.svp.organisation_choices))
    if not numbers or numbers[0] not in choices:
        return ORGANISATION
    draft = _draft(context)
    draft["organisation_id"] = numbers[0]
    await query.edit_message_text(texts.organisation_chosen(choices[numbers[0]]),
                                  parse_mode=ParseMode.HTML)
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, texts.REG_ASK_EMAIL,
                                       parse_mode=ParseMode.HTML)
    return EMAIL


async def choose_with_buttons(update: Update, context: SvpContext) -> int:
    """Remind the user that the organisation is picked with the buttons."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.REG_CHOOSE_WITH_BUTTONS)
    return ORGANISATION


async def got_email(update: Update, context: SvpContext) -> int:
    """Keep the e-mail and show what is stored and why."""
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        email = validate_email(message.text)
    except DomainError as error:
        await message.reply_text(texts.invalid_value(str(error)))
        return EMAIL
    _draft(context)["email"] = email
    await message.reply_html(texts.REG_CONSENT, reply_markup=keyboards.consent())
    return CONSENT


async def consented(update: Update, context: SvpContext) -> int:
    """Register the asker as pending."""
    query = update.callback_query
    user = update.effective_user
    chat = update.effective_chat
    assert query is not None and user is not None and chat is not None
    await query.answer()
    draft = _draft(context)
    if not {"name", "organisation_id", "email"} <= draft.keys():
        await query.edit_message_text(texts.REG_TIMEOUT)
        return END
    try:
        await asyncio.to_thread(
            context.svp.register_pending, telegram_user_id=user.id, chat_id=chat.id,
            username=user.username, full_name=draft["name"], email=draft["email"],
            organisation_id=draft["organisation_id"])
    except DomainError as error:
        await query.edit_message_text(texts.invalid_value(str(error)))
        return END
    finally:
        draft.clear()
    await query.edit_message_text(texts.REG_DONE)
    return END


async def refused(update: Update, context: SvpContext) -> int:
    """Drop the registration without storing anything."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    _draft(context).clear()
    await query.edit_message_text(texts.REG_CANCELLED)
    return END


async def use_buttons(update: Update, context: SvpContext) -> int:
    """Remind the user to answer with the consent buttons."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.REG_USE_BUTTONS)
    return CONSENT


async def cancel(update: Update, context: SvpContext) -> int:
    """Stop the registration without storing anything."""
    _draft(context).clear()
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.REG_CANCELLED)
    return END


async def in_progress(update: Update, context: SvpContext) -> None:
    """Other commands or non-text messages during registration: say what is expected."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.REG_IN_PROGRESS)


async def timed_out(update: Update, context: SvpContext) -> None:
    """Tell the user the registration expired."""
    if context.user_data is not None:
        context.user_data.pop(_KEY, None)
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.REG_TIMEOUT)


def conversation() -> ConversationHandler[SvpContext]:
    """The registration ConversationHandler (private chats only)."""
    with warnings.catch_warnings():
        # Callback queries are tracked per chat and user on purpose (one registration at a time).
        warnings.filterwarnings("ignore", message=".*per_message.*")
        return ConversationHandler(
            entry_points=[CommandHandler("start", start, filters=PRIVATE)],
            states={
                NAME: [MessageHandler(NEW_TEXT, got_name)],
                ORGANISATION: [
                    CallbackQueryHandler(got_organisation, pattern=rf"^{keyboards.REG_ORG}:"),
                    CallbackQueryHandler(organisation_page, pattern=rf"^{keyboards.REG_PAGE}:"),
                    MessageHandler(NEW_TEXT, choose_with_buttons),
                ],
                EMAIL: [MessageHandler(NEW_TEXT, got_email)],
                CONSENT: [
                    CallbackQueryHandler(consented, pattern=rf"^{keyboards.REG_OK}$"),
                    CallbackQueryHandler(refused, pattern=rf"^{keyboards.REG_CANCEL}$"),
                    MessageHandler(NEW_TEXT, use_buttons),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
            },
            fallbacks=[
                CommandHandler("annuler", cancel, filters=PRIVATE),
                MessageHandler(filters.UpdateType.MESSAGE & PRIVATE, in_progress),
            ],
            conversation_timeout=TIMEOUT_SECONDS,
            name="registration",
            persistent=True,  # steps and drafts survive a restart (bot.persistence)
            allow_reentry=True,
        )
