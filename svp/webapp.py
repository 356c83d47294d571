"""The web application of one web worker, built from the environment (uvicorn's factory).

`svp serve --workers N` (or `--no-bot`) prepares the database and the key file once, then
uvicorn starts the worker processes, each calling `create_web_app`. A worker never runs the
bot: with a webhook URL it stores Telegram's updates in the inbox, and the one bot process
(`svp bot`, or the child `svp serve` starts) processes them.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from svp import redaction, secret_keys
from svp.settings import Settings, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.routing import BaseRoute

    from knowledge.runtime import Knowledge

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"


def create_web_app() -> FastAPI:
    """Build the web admin of this worker process: settings, knowledge base, webhook route."""
    from admin.app import create_app
    from svp.cli.base import configured_secrets, open_knowledge
    from svp.cli.web import admin_config

    current = load_settings()
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redaction.install(configured_secrets())
    knowledge = open_knowledge(current)  # the parent process has migrated the database
    sealer = secret_keys.load(current).sealer()
    routes = worker_routes(current, knowledge)

    @asynccontextmanager
    async def closing(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            knowledge.close()

    return create_app(knowledge=knowledge, config=admin_config(current, sealer=sealer),
                      extra_routes=routes, lifespan=closing)


def worker_routes(current: Settings, knowledge: Knowledge) -> list[BaseRoute]:
    """The webhook route of a worker (store only) when the bot is in webhook mode."""
    from bot.webhook import inbox_route

    if not (current.telegram_token and current.telegram_webhook_url):
        return []
    secret = current.telegram_webhook_secret
    if not secret:  # svp serve refuses to start workers without one; never serve it open
        raise RuntimeError("SVP_TELEGRAM_WEBHOOK_SECRET is required with several processes")
    return [inbox_route(knowledge, secret=secret, path=WEBHOOK_PATH)]
