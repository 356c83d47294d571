"""The typed callback context: handlers reach the bot's services through it."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import BotConfig
from bot.services import AskerView, BotServices

SERVICES_KEY = "svp_services"


class SvpContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """CallbackContext carrying the SVP services (set in `bot_data` by `build_application`)."""

    @property
    def svp(self) -> BotServices:
        """The knowledge base seen from the bot."""
        return cast(BotServices, self.application.bot_data[SERVICES_KEY])

    @property
    def config(self) -> BotConfig:
        """The bot's settings."""
        return self.svp.config

    async def asker(self, update: Update) -> AskerView | None:
        """The registered asker behind an update, if any."""
        user = update.effective_user
        if user is None:
            return None
        return await asyncio.to_thread(self.svp.asker, user.id)


SvpApplication = Application[ExtBot[Any], SvpContext, dict[Any, Any], dict[Any, Any],
                             dict[Any, Any], Any]
