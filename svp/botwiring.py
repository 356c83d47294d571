"""Wiring of the Telegram bot: its configuration from the settings, and its Application."""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import Application

from bot.application import build_application
from bot.config import BotConfig
from knowledge.runtime import Knowledge
from svp.cli.base import OperatorError
from svp.runtime import attachment_limits, retention_policy
from svp.settings import Settings

# BotFather tokens look like "123456789:AAH...": a numeric bot id, a colon, 30+ characters.
_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,100}$")


class BotConfigError(OperatorError):
    """The bot settings are missing or unusable; the message says what to fix."""


def bot_config(settings: Settings) -> BotConfig:
    """Build the bot configuration; raise BotConfigError when the token is missing or malformed."""
    token = (settings.telegram_token or "").strip()
    if not token:
        raise BotConfigError("jeton du bot absent : définissez SVP_TELEGRAM_TOKEN avec le jeton "
                             "donné par @BotFather.")
    if not _TOKEN.match(token):
        raise BotConfigError("jeton du bot mal formé (attendu « 123456789:ABC… », tel que donné "
                             "par @BotFather) : corrigez SVP_TELEGRAM_TOKEN.")
    # A webhook without a configured secret is allowed: `svp serve` then draws a fresh one at
    # each start and registers it with set_webhook.
    if settings.telegram_webhook_secret and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
        raise BotConfigError("SVP_TELEGRAM_WEBHOOK_SECRET ne doit contenir que A-Z, a-z, 0-9, _ "
                             "et - (256 caractères au plus).")
    return BotConfig(
        token=token,
        api_url=settings.telegram_api_url.strip() or "https://api.telegram.org/bot",
        webhook_url=settings.telegram_webhook_url or None,
        webhook_secret=settings.telegram_webhook_secret or None,
        rate_limit_per_minute=settings.rate_limit_per_minute,
        rate_limit_per_day=settings.rate_limit_per_day,
        outbox_interval_seconds=settings.outbox_interval_seconds,
        suggestions_shown=settings.suggestions_shown,
        admin_base_url=settings.admin_base_url,
        help_centre_url=(f"{settings.admin_base_url.rstrip('/')}/aide" if settings.help_centre
                         else None),
        inbox_retention_days=settings.inbox_retention_days,
        retention=retention_policy(settings),
        attachment_limits=attachment_limits(settings),
    )


def build_bot(knowledge: Knowledge, settings: Settings) -> Application[Any, Any, Any, Any, Any,
                                                                        Any]:
    """Build the bot Application of this process from the settings."""
    return build_application(knowledge=knowledge, config=bot_config(settings))
