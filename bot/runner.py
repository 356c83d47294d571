"""Start and stop the bot: blocking polling for `svp bot`, or inside another event loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.application import set_commands, warm_up
from bot.intake import intake_of

logger = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


async def start(application: AnyApplication, *, webhook_url: str | None,
                secret: str | None) -> None:
    """Initialise and start the bot in a running loop: webhook when a URL is given, else polling.

    Unprocessed updates left in the inbox by a previous run are processed first. For use
    inside another event loop (e.g. the web server's lifespan); pair with `stop`.
    """
    await application.initialize()
    try:
        await set_commands(application)
    except Exception:  # the command menu is a comfort; never refuse to start for it
        logger.warning("could not register the bot commands", exc_info=True)
    if webhook_url:
        await application.bot.set_webhook(webhook_url, secret_token=secret,
                                          allowed_updates=Update.ALL_TYPES)
    else:
        await application.bot.delete_webhook()
    await application.start()
    intake_of(application).start(polling=not webhook_url)
    logger.info("bot started, %s", "webhook" if webhook_url else "polling")
    warm_up(application)


async def stop(application: AnyApplication) -> None:
    """Stop polling and processing, the job queue and handlers, then release resources."""
    jobs = application.job_queue
    if jobs is not None and jobs.scheduler.running:
        # No job may start while the rest stops: one started then would be cancelled with the
        # loop, and APScheduler logs that as an error with its traceback.
        jobs.scheduler.pause()
    await intake_of(application).stop()
    if application.running:
        await application.stop()
    await application.shutdown()


def run_polling(application: AnyApplication) -> None:
    """Run the bot in polling mode until interrupted (SIGINT/SIGTERM); blocking."""
    run_until_stopped(application, webhook_url=None, secret=None)


def run_until_stopped(application: AnyApplication, *, webhook_url: str | None,
                      secret: str | None) -> None:
    """Run the bot until SIGINT/SIGTERM; blocking.

    With a webhook URL, the webhook is registered and the updates the web workers store in
    the inbox are processed here; without one, this process polls Telegram.
    """

    async def main() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stopping.set)
        await start(application, webhook_url=webhook_url, secret=secret)
        try:
            await stopping.wait()
        finally:
            await stop(application)

    asyncio.run(main())
