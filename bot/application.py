"""Build the bot's python-telegram-bot Application: handlers, outbox job, rate limiter."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from telegram import BotCommand, Update
from telegram.error import RetryAfter
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import handlers, keyboards, registration, texts
from bot.config import BotConfig
from bot.context import SERVICES_KEY, SvpApplication, SvpContext
from bot.delivery import outbox_job
from bot.intake import INTAKE_KEY, Intake
from bot.persistence import DatabasePersistence
from bot.services import BotServices
from knowledge.runtime import Knowledge

logger = logging.getLogger(__name__)

PRIVATE = filters.ChatType.PRIVATE
NEW_MESSAGE = filters.UpdateType.MESSAGE & PRIVATE
FILES = filters.PHOTO | filters.Document.ALL
UNSUPPORTED = (filters.VOICE | filters.AUDIO | filters.VIDEO
               | filters.VIDEO_NOTE | filters.Sticker.ALL
               | filters.LOCATION | filters.VENUE | filters.CONTACT | filters.ANIMATION
               | filters.POLL | filters.Dice.ALL | filters.GAME)


async def set_commands(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Register the French command list shown by Telegram clients."""
    await application.bot.set_my_commands(
        [BotCommand(name, description) for name, description in texts.COMMANDS])


def build_application(*, knowledge: Knowledge, config: BotConfig,
                      request: BaseRequest | None = None,
                      get_updates_request: BaseRequest | None = None) -> SvpApplication:
    """Build the bot: handlers, registration conversation, outbox job, AIORateLimiter."""
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_url)
        .base_file_url(config.file_url)
        .context_types(ContextTypes(context=SvpContext))
        .rate_limiter(AIORateLimiter())
        .updater(None)  # bot.intake polls: the offset only moves past committed updates
        .persistence(DatabasePersistence(
            knowledge, step_timeout=timedelta(seconds=registration.TIMEOUT_SECONDS)))
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application: SvpApplication = builder.build()
    application.bot_data[SERVICES_KEY] = BotServices(knowledge, config)
    application.bot_data[INTAKE_KEY] = Intake(
        application, knowledge, retention=timedelta(days=config.inbox_retention_days))
    add_handlers(application)
    limiter_log = logging.getLogger("telegram.ext.AIORateLimiter")
    if not any(isinstance(item, _HandledFloodControl) for item in limiter_log.filters):
        limiter_log.addFilter(_HandledFloodControl())
    job_queue = application.job_queue
    if job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    job_queue.run_repeating(outbox_job, interval=config.outbox_interval_seconds, first=1.0,
                            name="outbox", job_kwargs={"max_instances": 1, "coalesce": True})
    job_queue.run_repeating(prune_job, interval=3600, first=60, name="prune",
                            job_kwargs={"max_instances": 1, "coalesce": True})
    # Checked hourly, run once a day across processes (the last run is kept in the database).
    job_queue.run_repeating(retention_job, interval=3600, first=300, name="retention",
                            job_kwargs={"max_instances": 1, "coalesce": True})
    return application


class _HandledFloodControl(logging.Filter):
    """Drop the rate limiter's traceback for a 429: the caller waits and logs one warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, RetryAfter)


async def prune_job(context: SvpContext) -> None:
    """JobQueue callback: forget processed updates past the retention, and consumed index log."""
    intake = context.application.bot_data.get(INTAKE_KEY)
    if isinstance(intake, Intake):
        try:
            await asyncio.to_thread(intake.prune)
            await asyncio.to_thread(context.svp.knowledge.prune_index_log)
        except Exception:  # pruning is housekeeping: try again at the next run
            logger.warning("could not prune the inbox or the index log", exc_info=True)


async def retention_job(context: SvpContext) -> None:
    """JobQueue callback: apply the retention limits of personal data once a day."""
    try:
        await asyncio.to_thread(context.svp.purge_if_due)
    except Exception:  # housekeeping: try again at the next run
        logger.warning("could not apply the retention limits", exc_info=True)


def warm_up(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Load the model and index in the background so the first question is not slow."""
    services = application.bot_data.get(SERVICES_KEY)
    if isinstance(services, BotServices):
        application.create_task(asyncio.to_thread(services.warm_up), name="svp-warm-up")


def add_handlers(application: SvpApplication) -> None:
    """Register every handler, in order of precedence."""
    application.add_handler(TypeHandler(Update, handlers.guard), group=-2)
    application.add_handler(MessageHandler(filters.UpdateType.EDITED, handlers.on_edited),
                            group=-1)
    application.add_handler(registration.conversation())
    for names, callback in (
        (("aide", "help"), handlers.help_command),
        (("moi",), handlers.me),
        (("supprimer",), handlers.erase_request),
        (("mesdonnees",), handlers.my_data),
        (("mesquestions",), handlers.my_questions),
        (("abonnement",), handlers.subscription),
        (("web",), handlers.web_sign_in),
        (("conseiller",), handlers.adviser_link),
        (("annuler",), handlers.nothing_to_cancel),
    ):
        application.add_handler(CommandHandler(list(names), callback, filters=PRIVATE))
    application.add_handler(CallbackQueryHandler(handlers.see_answer,
                                                 pattern=rf"^{keyboards.SEE}:"))
    application.add_handler(CallbackQueryHandler(
        handlers.ticket_button, pattern=rf"^({keyboards.SOLVED}|{keyboards.WAIT}):"))
    application.add_handler(CallbackQueryHandler(handlers.feedback_button,
                                                 pattern=rf"^{keyboards.FEEDBACK}:"))
    application.add_handler(CallbackQueryHandler(handlers.erase_answer, pattern=r"^erase:"))
    application.add_handler(CallbackQueryHandler(handlers.stale_button))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.TEXT & ~filters.COMMAND,
                                           handlers.on_text))
    application.add_handler(MessageHandler(NEW_MESSAGE & filters.COMMAND,
                                           handlers.help_command))
    application.add_handler(MessageHandler(NEW_MESSAGE & FILES, handlers.on_file))
    application.add_handler(MessageHandler(NEW_MESSAGE & UNSUPPORTED, handlers.on_unsupported))
    application.add_handler(MessageHandler(NEW_MESSAGE, handlers.on_unsupported))
    application.add_error_handler(handlers.on_error)
