"""Inline keyboards and their callback data (short strings, parsed in the handlers)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage, Message

from bot import texts

ORGANISATIONS_PER_PAGE = 8

# Callback data prefixes; each handler is registered on a `^prefix:` pattern.
REG_ORG = "reg:org"
REG_PAGE = "reg:page"
REG_OK = "reg:ok"
REG_CANCEL = "reg:cancel"
SEE = "see"
SOLVED = "solved"
WAIT = "wait"
FEEDBACK = "fb"
ERASE_YES = "erase:yes"
ERASE_NO = "erase:no"


def organisations(choices: Sequence[tuple[int, str]], page: int = 0) -> InlineKeyboardMarkup:
    """One button per organisation, paged, with previous/next buttons when long."""
    pages = max(1, -(-len(choices) // ORGANISATIONS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    start = page * ORGANISATIONS_PER_PAGE
    rows = [[InlineKeyboardButton(name[:60], callback_data=f"{REG_ORG}:{org_id}")]
            for org_id, name in choices[start:start + ORGANISATIONS_PER_PAGE]]
    navigation = []
    if page > 0:
        navigation.append(InlineKeyboardButton("◀ Précédents",
                                               callback_data=f"{REG_PAGE}:{page - 1}"))
    if page < pages - 1:
        navigation.append(InlineKeyboardButton("Suivants ▶",
                                               callback_data=f"{REG_PAGE}:{page + 1}"))
    if navigation:
        rows.append(navigation)
    return InlineKeyboardMarkup(rows)


def consent() -> InlineKeyboardMarkup:
    """Accept or cancel the registration."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("J'accepte et je m'inscris", callback_data=REG_OK),
        InlineKeyboardButton("Annuler", callback_data=REG_CANCEL),
    ]])


def suggestions(ticket_id: int, entry_ids: Sequence[int]) -> InlineKeyboardMarkup:
    """"Voir la réponse" per suggestion, then "résolue" and "j'attends"."""
    rows = [[InlineKeyboardButton(texts.suggestion_button(number),
                                  callback_data=f"{SEE}:{ticket_id}:{entry_id}")]
            for number, entry_id in enumerate(entry_ids, start=1)]
    rows.append([InlineKeyboardButton(texts.SOLVED_BUTTON, callback_data=f"{SOLVED}:{ticket_id}"),
                 InlineKeyboardButton(texts.WAIT_BUTTON, callback_data=f"{WAIT}:{ticket_id}")])
    return InlineKeyboardMarkup(rows)


def solved_with(ticket_id: int, entry_id: int) -> InlineKeyboardMarkup:
    """"Cette réponse me suffit" under a suggestion shown in full: closes naming that entry."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        texts.SOLVED_WITH_BUTTON, callback_data=f"{SOLVED}:{ticket_id}:{entry_id}")]])


def feedback(ticket_id: int) -> InlineKeyboardMarkup:
    """👍 / 👎 under a delivered answer."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(texts.FEEDBACK_UP, callback_data=f"{FEEDBACK}:{ticket_id}:1"),
        InlineKeyboardButton(texts.FEEDBACK_DOWN, callback_data=f"{FEEDBACK}:{ticket_id}:-1"),
    ]])


def erase() -> InlineKeyboardMarkup:
    """Confirm or keep the personal data."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton("Oui, effacer mes données", callback_data=ERASE_YES),
        InlineKeyboardButton("Non", callback_data=ERASE_NO),
    ]])


def parse_ints(data: str | None, prefix: str) -> list[int] | None:
    """Return the integers after `prefix:` in callback data, or None when it does not match."""
    if not data or not data.startswith(prefix + ":"):
        return None
    try:
        return [int(part) for part in data[len(prefix) + 1:].split(":")]
    except ValueError:
        return None


def without_choice(message: MaybeInaccessibleMessage | None) -> InlineKeyboardMarkup | None:
    """The suggestions keyboard of a message minus its "résolue"/"j'attends" row."""
    markup = message.reply_markup if isinstance(message, Message) else None
    if markup is None:
        return None
    rows = [row for row in markup.inline_keyboard
            if not any(str(button.callback_data or "").startswith((f"{SOLVED}:", f"{WAIT}:"))
                       for button in row)]
    return InlineKeyboardMarkup(rows) if rows else None
