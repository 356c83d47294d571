"""Handlers of the bot: private-chat guard, commands, questions, buttons, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import quote

from telegram import InputFile, LinkPreviewOptions, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import RetryAfter, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import keyboards, texts
from bot.context import SvpContext
from bot.delivery import deliver_in_hand, send_long
from bot.services import AskerView, ReceivedFile
from knowledge.desk import attachments
from knowledge.desk.attachments import Upload
from knowledge.desk.tickets import MAX_QUESTION_CHARS
from knowledge.errors import DomainError
from knowledge.people import members
from knowledge.text import clean

logger = logging.getLogger(__name__)


# --- guards (group -1: run before everything, may stop the update) -------------------------------

async def guard(update: Update, context: SvpContext) -> None:
    """Serve private chats only (say so once per group), and ignore what is not for us."""
    chat = update.effective_chat
    if chat is None or update.effective_user is None:
        raise ApplicationHandlerStop  # polls, channel posts without sender...
    if chat.type == ChatType.PRIVATE:
        return
    # Told once per group, remembered in the database so a restart does not repeat it.
    if update.effective_message is not None and chat.type != ChatType.CHANNEL and \
            await asyncio.to_thread(context.svp.tell_group_once, chat.id):
        try:
            await context.bot.send_message(chat.id, texts.PRIVATE_ONLY)
        except TelegramError:
            logger.info("could not tell chat %s that only private chats are served", chat.id)
    raise ApplicationHandlerStop


async def on_edited(update: Update, context: SvpContext) -> None:
    """Edits are not taken into account: say so (the original question is kept)."""
    if update.edited_message is not None:
        await update.edited_message.reply_text(texts.EDITED)
    raise ApplicationHandlerStop


# --- commands --------------------------------------------------------------------------------

async def help_command(update: Update, context: SvpContext) -> None:
    """Explain how to use the bot (also the answer to unknown commands)."""
    if update.effective_message is not None:
        await update.effective_message.reply_html(texts.HELP)


async def nothing_to_cancel(update: Update, context: SvpContext) -> None:
    """/annuler outside a registration."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.NOTHING_TO_CANCEL)


def _refusal(asker: AskerView | None) -> str | None:
    """Why this person may not use an asker's command (None: an approved asker)."""
    if asker is None or asker.status == "erased":
        return texts.NOT_REGISTERED
    if not asker.approved:
        return texts.PENDING if asker.status == "pending" else texts.BLOCKED
    return None


async def me(update: Update, context: SvpContext) -> None:
    """Show the asker's profile; `/moi adresse` records the e-mail."""
    message = update.effective_message
    assert message is not None
    asker = await context.asker(update)
    if asker is None:
        await message.reply_text(texts.NOT_REGISTERED)
        return
    if context.args:
        try:
            asker = await asyncio.to_thread(context.svp.set_email, asker.id,
                                            " ".join(context.args))
        except DomainError as error:
            await message.reply_text(texts.invalid_value(str(error)))
            return
        await message.reply_text(texts.EMAIL_SAVED)
    await message.reply_html(texts.profile(full_name=asker.full_name,
                                           organisation=asker.organisation,
                                           email=asker.email, status=asker.status))


async def subscription(update: Update, context: SvpContext) -> None:
    """/abonnement: subscribe to the monthly digest, or unsubscribe."""
    message = update.effective_message
    assert message is not None
    asker = await context.asker(update)
    turned_away = _refusal(asker)
    if turned_away is not None:
        await message.reply_text(turned_away)
        return
    assert asker is not None
    subscribed = await asyncio.to_thread(context.svp.toggle_digest, asker.id)
    await message.reply_text(texts.SUBSCRIBED if subscribed else texts.UNSUBSCRIBED)


async def web_sign_in(update: Update, context: SvpContext) -> None:
    """/web: send an approved asker a one-time link to the members' help centre."""
    message = update.effective_message
    assert message is not None
    help_centre = context.config.help_centre_url
    if help_centre is None:
        await message.reply_text(texts.WEB_UNAVAILABLE)
        return
    asker = await context.asker(update)
    turned_away = _refusal(asker)
    if turned_away is not None:
        await message.reply_text(turned_away)
        return
    assert asker is not None
    try:
        issued = await asyncio.to_thread(context.svp.web_link, asker.id)
    except DomainError as error:  # too many links asked, or no longer a member
        await message.reply_text(str(error))
        return
    url = f"{help_centre.rstrip('/')}/lien/{quote(issued.token, safe='')}"
    # Sent from here, never through the outbox, which would keep the token in clear (the
    # database holds its hash only). The link and the update's mark are one unit of work: a
    # replay issues nothing more; if this reply is lost, the asker sends /web again.
    await message.reply_html(texts.web_link(url, members.LINK_MINUTES), protect_content=True,
                             link_preview_options=LinkPreviewOptions(is_disabled=True))
    logger.info("help-centre sign-in link sent to asker %s", asker.id)


async def erase_request(update: Update, context: SvpContext) -> None:
    """Ask for confirmation before erasing personal data."""
    message = update.effective_message
    assert message is not None
    if await context.asker(update) is None:
        await message.reply_text(texts.NOTHING_TO_ERASE)
        return
    await message.reply_text(texts.ERASE_CONFIRM, reply_markup=keyboards.erase())


async def erase_answer(update: Update, context: SvpContext) -> None:
    """Erase (or keep) the personal data after the confirmation button."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    if query.data != keyboards.ERASE_YES:
        await query.edit_message_text(texts.ERASE_KEPT)
        return
    asker = await context.asker(update)
    if asker is None:
        await query.edit_message_text(texts.NOTHING_TO_ERASE)
        return
    await asyncio.to_thread(context.svp.erase, asker.id)
    if context.user_data is not None:
        context.user_data.clear()
    await query.edit_message_text(texts.ERASED)


async def my_data(update: Update, context: SvpContext) -> None:
    """/mesdonnees: send the asker a copy of their data, as JSON and CSV files."""
    message = update.effective_message
    assert message is not None
    asker = await context.asker(update)
    if asker is None or asker.status == "erased":
        await message.reply_text(texts.NOTHING_TO_ERASE)
        return
    as_json, as_csv = await asyncio.to_thread(context.svp.my_data, asker.id)
    # Sent directly, never stored in the outbox (a second copy of everything to purge later):
    # if this fails, or the process dies, the asker asks again.
    try:
        await message.reply_document(InputFile(as_json, filename="mes-donnees-svp.json"),
                                     caption=texts.MY_DATA_CAPTION)
        await message.reply_document(InputFile(as_csv, filename="mes-donnees-svp.csv"))
    except TelegramError as error:
        logger.warning("could not send their data to asker %s (%s)", asker.id,
                       type(error).__name__)
        with contextlib.suppress(TelegramError):
            await message.reply_text(texts.MY_DATA_FAILED)
        return
    logger.info("data copy sent to asker %s", asker.id)


async def my_questions(update: Update, context: SvpContext) -> None:
    """List the asker's tickets and their statuses."""
    message = update.effective_message
    assert message is not None
    asker = await context.asker(update)
    if asker is None:
        await message.reply_text(texts.NOT_REGISTERED)
        return
    lines = await asyncio.to_thread(context.svp.my_tickets, asker.id)
    if not lines:
        await message.reply_text(texts.NO_TICKETS)
        return
    await message.reply_html(texts.ticket_list(
        [(line.id, line.status, line.created_at, line.text) for line in lines]))


async def adviser_link(update: Update, context: SvpContext) -> None:
    """/conseiller CODE: link an adviser's web account to this chat for notifications."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    if not context.args:
        await message.reply_text(texts.ADVISER_USAGE)
        return
    try:
        name = await asyncio.to_thread(context.svp.link_adviser, context.args[0], chat.id)
    except DomainError as error:
        await message.reply_text(str(error))
        return
    await message.reply_html(texts.adviser_linked(name))


# --- messages --------------------------------------------------------------------------------

async def on_text(update: Update, context: SvpContext) -> None:
    """A text from an approved asker: a comment, a clarification, or a new question."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None and message.text is not None
    asker = await context.asker(update)
    turned_away = _refusal(asker)
    if turned_away is not None:
        await message.reply_text(turned_away)
        return
    assert asker is not None
    text = clean(message.text)
    if len(text) > MAX_QUESTION_CHARS:
        await message.reply_text(texts.TOO_LONG)
        return
    if not text:
        await message.reply_text(texts.EMPTY)
        return
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and \
            replied.from_user.id == context.bot.id:
        if await _feedback_comment(message, replied, asker.id, context):
            return
        ticket_id = await asyncio.to_thread(context.svp.clarification_ticket, chat.id,
                                            replied.message_id)
        if ticket_id is not None:
            await asyncio.to_thread(context.svp.add_clarification, ticket_id, asker.id, text,
                                    message.message_id)
            await message.reply_text(texts.clarification_received(ticket_id))
            return
    await _new_question(message, asker.id, text, context)


async def _feedback_comment(message: Message, replied: Message, asker_id: int,
                            context: SvpContext) -> bool:
    ticket_id = await asyncio.to_thread(context.svp.feedback_prompt_ticket, message.chat_id,
                                        replied.message_id)
    if ticket_id is None:
        return False
    await asyncio.to_thread(context.svp.feedback_comment, ticket_id, asker_id,
                            message.text or "")
    await message.reply_text(texts.FEEDBACK_COMMENT_SAVED)
    return True


async def _new_question(message: Message, asker_id: int, text: str,
                        context: SvpContext) -> None:
    """Store a question, then show the closest validated answers."""
    # Ticket, suggestions and receipt are committed together: the receipt goes out now, or
    # from the outbox after a crash; a replayed update finds its ticket and writes nothing.
    asked = await asyncio.to_thread(context.svp.ask, asker_id, text, message.chat_id,
                                    message.message_id)
    if asked.limit is not None:
        await message.reply_text(texts.RATE_MINUTE if asked.limit == "minute"
                                 else texts.RATE_DAY)
    elif asked.receipt is not None:
        await deliver_in_hand(context.bot, context.svp.knowledge, asked.receipt)


async def on_file(update: Update, context: SvpContext) -> None:
    """A document or photo: a question (its caption), or a precision of an open question."""
    message = update.effective_message
    chat = update.effective_chat
    assert message is not None and chat is not None
    asker = await context.asker(update)
    turned_away = _refusal(asker)
    if turned_away is not None:
        await message.reply_text(turned_away)
        return
    assert asker is not None
    caption = clean(message.caption or "")
    if len(caption) > MAX_QUESTION_CHARS:
        await message.reply_text(texts.TOO_LONG)
        return
    replied = message.reply_to_message
    replied_id = replied.message_id if replied is not None and replied.from_user is not None \
        and replied.from_user.id == context.bot.id else None
    clarifying = await asyncio.to_thread(context.svp.clarification_ticket, chat.id,
                                         replied_id) if replied_id is not None else None
    target = clarifying
    if not caption and target is None:
        target = await asyncio.to_thread(context.svp.file_target, asker.id, chat.id, replied_id)
        if target is None:  # nothing to attach it to, and no question: fetch nothing
            await message.reply_text(texts.FILE_NEEDS_QUESTION)
            return
    limit = await asyncio.to_thread(context.svp.rate_limit_hit, asker.id) \
        if target is None else None
    if limit is not None:  # a new question past a limit: nothing is fetched nor stored
        await message.reply_text(texts.RATE_MINUTE if limit == "minute" else texts.RATE_DAY)
        return
    # A replayed update whose message was stored: its file is not fetched again.
    if await asyncio.to_thread(context.svp.already_stored, chat.id, message.message_id):
        return
    received, refused = await _fetch_file(message, context)
    if target is None:
        asked = await asyncio.to_thread(
            lambda: context.svp.ask(asker.id, caption, chat.id, message.message_id,
                                    files=received, refused=refused))
        if asked.limit is not None:
            await message.reply_text(texts.RATE_MINUTE if asked.limit == "minute"
                                     else texts.RATE_DAY)
        elif asked.receipt is not None:
            await deliver_in_hand(context.bot, context.svp.knowledge, asked.receipt)
        return
    if not received and not caption:
        await message.reply_html(texts.file_refused_alone(refused))
        return
    text = caption or texts.file_placeholder(received[0].file.filename)
    await asyncio.to_thread(lambda: context.svp.add_clarification(
        target, asker.id, text, message.message_id, files=received))
    await message.reply_html(texts.clarification_received(target, files=len(received),
                                                          refused=refused))


async def _fetch_file(message: Message, context: SvpContext
                      ) -> tuple[tuple[ReceivedFile, ...], tuple[str, ...]]:
    """Download a message's document or photo and check it; what was kept, what was refused."""
    limits = context.config.attachment_limits
    if message.document is not None:
        document = message.document
        name = attachments.clean_filename(document.file_name or "",
                                          fallback=f"document-{message.message_id}")
        file_id, unique_id, size = document.file_id, document.file_unique_id, document.file_size
        declared = document.mime_type
    else:
        # The largest size Telegram made of the photo that fits the limit (all are JPEG).
        sizes = sorted(message.photo, key=lambda item: item.file_size or item.width * item.height)
        fitting = [item for item in sizes if (item.file_size or 0) <= limits.per_file_bytes]
        photo = (fitting or sizes)[-1]
        name = f"photo-{message.message_id}.jpg"
        file_id, unique_id, size = photo.file_id, photo.file_unique_id, photo.file_size
        declared = "image/jpeg"
    heavy = attachments.too_heavy(name, size or 0, limits)
    if heavy is not None:  # told by Telegram's size: not downloaded at all
        return (), (heavy.message,)
    try:
        telegram_file = await context.bot.get_file(file_id)
        data = bytes(await telegram_file.download_as_bytearray())
    except TelegramError as error:
        logger.warning("could not download file of message %s (%s)", message.message_id,
                       type(error).__name__)
        return (), (attachments.Refused(name, texts.FILE_DOWNLOAD_FAILED).message,)
    accepted, refused = await asyncio.to_thread(
        lambda: attachments.accept(uploads=[Upload(name, declared, data)], limits=limits))
    return (tuple(ReceivedFile(file=item, telegram_file_unique_id=unique_id)
                  for item in accepted), tuple(item.message for item in refused))


async def on_unsupported(update: Update, context: SvpContext) -> None:
    """Voice, stickers, videos, locations...: explain that only text and documents are read."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(texts.UNSUPPORTED)


# --- buttons ---------------------------------------------------------------------------------

async def see_answer(update: Update, context: SvpContext) -> None:
    """Show a suggested answer in full."""
    query = update.callback_query
    assert query is not None
    numbers = keyboards.parse_ints(query.data, keyboards.SEE)
    asker = await context.asker(update)
    # Only an approved asker, and only an entry that was suggested on their own ticket.
    if not numbers or len(numbers) != 2 or asker is None or not asker.approved \
            or query.message is None:
        await query.answer(texts.BUTTON_EXPIRED)
        return
    ticket_id, entry_id = numbers
    entry = await asyncio.to_thread(context.svp.offered_entry, ticket_id, asker.id, entry_id)
    if entry is None:
        await query.answer(texts.BUTTON_EXPIRED)
        return
    await query.answer()
    # While the question is open the asker can say that this very answer was enough, which
    # credits this entry alone (the row under the suggestions cannot tell which one helped).
    await send_long(context.bot, query.message.chat.id,
                    texts.with_source(entry.answer, entry.source, entry.passage,
                                      entry.references),
                    header=entry.question,
                    reply_markup=keyboards.solved_with(ticket_id, entry_id)
                    if entry.ticket_open else None)


async def ticket_button(update: Update, context: SvpContext) -> None:
    """"Ma question est résolue" / "J'attends un conseiller", or "Cette réponse me suffit"."""
    query = update.callback_query
    assert query is not None
    solved = keyboards.parse_ints(query.data, keyboards.SOLVED)
    numbers = solved or keyboards.parse_ints(query.data, keyboards.WAIT)
    asker = await context.asker(update)
    # "solved:<ticket>:<entry>" names the suggestion that helped: it must be one offered there.
    entry_id = solved[1] if solved and len(solved) == 2 else None
    if not numbers or len(numbers) > (2 if solved else 1) or asker is None \
            or not asker.approved or not await asyncio.to_thread(
                context.svp.suggestions_offered, numbers[0], asker.id, entry_id=entry_id):
        await query.answer(texts.BUTTON_EXPIRED)
        return
    ticket_id = numbers[0]
    try:
        if solved:
            changed = await asyncio.to_thread(context.svp.self_served, ticket_id, asker.id,
                                              entry_id)
        else:
            changed = await asyncio.to_thread(context.svp.keep_waiting, ticket_id, asker.id)
    except DomainError as error:
        await query.answer(str(error)[:190])
        return
    await query.answer()
    if not changed:  # pressed twice, or replayed: done already, say nothing more
        return
    # Keep the "Voir la réponse" buttons; drop the choice that has just been made.
    await query.edit_message_reply_markup(
        None if entry_id is not None else keyboards.without_choice(query.message))
    if query.message is not None:
        await context.bot.send_message(query.message.chat.id, texts.solved(ticket_id)
                                       if solved else texts.waiting(ticket_id))


async def feedback_button(update: Update, context: SvpContext) -> None:
    """👍 / 👎 under a delivered answer; 👎 invites an optional comment."""
    query = update.callback_query
    assert query is not None
    numbers = keyboards.parse_ints(query.data, keyboards.FEEDBACK)
    asker = await context.asker(update)
    if not numbers or len(numbers) != 2 or asker is None or not asker.approved \
            or numbers[1] not in (1, -1) or not await asyncio.to_thread(
                context.svp.answer_delivered, numbers[0], asker.id):
        await query.answer(texts.BUTTON_EXPIRED)
        return
    ticket_id, value = numbers
    chat_id = query.message.chat.id if query.message is not None else None
    try:
        # A 👎 queues its comment prompt in the same unit of work: a restart keeps it pending.
        prompt = await asyncio.to_thread(context.svp.feedback, ticket_id, asker.id, value,
                                         chat_id)
    except DomainError:
        await query.answer(texts.ACTION_IMPOSSIBLE)
        return
    await query.answer(texts.FEEDBACK_THANKS)
    await query.edit_message_reply_markup(None)
    if prompt is not None:
        await deliver_in_hand(context.bot, context.svp.knowledge, prompt)


async def stale_button(update: Update, context: SvpContext) -> None:
    """A button nobody handles any more (old keyboard, ended registration)."""
    if update.callback_query is not None:
        await update.callback_query.answer(texts.BUTTON_EXPIRED)


# --- errors ----------------------------------------------------------------------------------

async def on_error(update: object, context: SvpContext) -> None:
    """Log the error and, in a private chat, apologise to the user."""
    if isinstance(context.error, RetryAfter):  # flood control: expected, and already waited on
        logger.warning("Telegram asked to slow down while handling an update (%s)",
                       context.error)
        return
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    try:
        await context.bot.send_message(chat.id, texts.ERROR, parse_mode=ParseMode.HTML)
    except TelegramError:
        logger.warning("could not send the error message to chat %s", chat.id)
