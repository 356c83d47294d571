"""Start and stop the bot: blocking polling for `svp bot`, or inside another event loop."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.application import set_commands, warm_up

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


async def start(application: AnyApplication, *, webhook_url: str | None,
                secret: str | None) -> None:
    """Initialise and start the bot in a running loop: webhook when a URL is given, else polling.

    For use inside another event loop (e.g. the web server's lifespan); pair with `stop`.
    """
    await application.initialize()
    try:
        await set_commands(application)
    except Exception:
        logger.warning("could not register the bot commands", exc_info=True)
    if webhook_url:
        await application.bot.set_webhook(webhook_url, secret_token=secret,
                                          allowed_updates=Update.ALL_TYPES)
        logger.info("bot started with a webhook")
    else:
        await application.bot.delete_webhook()
        updater = application.updater
        if updater is None:
            raise RuntimeError("the application has no updater to poll with")
        await updater.start_polling(allowed_updates=Update.ALL_TYPES)
        logger.info("bot started, polling")
    await application.start()
    warm_up(application)


async def stop(application: AnyApplication) -> None:
    """Stop polling (if any), the job queue and handlers, then release resources."""
    updater = application.updater
    if updater is not None and updater.running:
        await updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def run_polling(application: AnyApplication) -> None:
    """Run the bot in polling mode until interrupted (SIGINT/SIGTERM); blocking."""
    application.run_polling(allowed_updates=Update.ALL_TYPES, close_loop=False)
