"""The webhook endpoints a web process mounts (Starlette routes).

`webhook_route` belongs to a process that runs the bot itself (one web process): it stores and
wakes the local processing. `inbox_route` belongs to web workers that do not run the bot (several
workers, `svp serve --no-bot`): it only stores the update in the durable inbox, and the one bot
process (`svp bot`) processes it from there.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.intake import arrival, intake_of
from knowledge.desk import inbox
from knowledge.runtime import Knowledge

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_route(application: Application[Any, Any, Any, Any, Any, Any], *, secret: str,
                  path: str = "/telegram/webhook") -> Route:
    """A POST route receiving Telegram updates; 403 unless the secret header matches.

    It answers 200 only once the update is committed to the inbox: Telegram keeps delivering
    it until then. A second delivery of the same update is acknowledged and ignored.
    """
    expected = secret.encode("utf-8")
    intake = intake_of(application)

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not expected or not hmac.compare_digest(given, expected):
            logger.warning("webhook call refused: wrong or missing secret token")
            return Response(status_code=403)
        try:
            payload = json.loads(await request.body())
            update = Update.de_json(payload, application.bot)
        except Exception:  # any unreadable body: refuse it, never crash the web process
            logger.warning("webhook call with an unreadable update ignored")
            return Response(status_code=400)
        if update is None or not isinstance(payload, dict):
            return Response(status_code=400)
        try:
            await intake.receive([(payload, update)])
        except Exception:  # not stored: Telegram retries the delivery later
            logger.warning("could not store a webhook update; Telegram will deliver it again",
                           exc_info=True)
            return Response(status_code=503)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])


def inbox_route(knowledge: Knowledge, *, secret: str,
                path: str = "/telegram/webhook") -> Route:
    """A POST route storing Telegram updates in the inbox only; 403 unless the secret matches.

    200 once the update is committed (a second delivery is acknowledged and ignored); the bot
    process, polling the inbox, processes it within a second or so.
    """
    expected = secret.encode("utf-8")

    def store(payload: dict[str, Any], update: Update) -> None:
        with knowledge.session() as session:
            inbox.record(session=session, arrivals=[arrival(payload, update)])

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not expected or not hmac.compare_digest(given, expected):
            logger.warning("webhook call refused: wrong or missing secret token")
            return Response(status_code=403)
        try:
            payload = json.loads(await request.body())
            update = Update.de_json(payload, None) if isinstance(payload, dict) else None
        except Exception:  # any unreadable body: refuse it, never crash the web process
            logger.warning("webhook call with an unreadable update ignored")
            return Response(status_code=400)
        if update is None:
            return Response(status_code=400)
        try:
            await asyncio.to_thread(store, payload, update)
        except Exception:  # not stored: Telegram retries the delivery later
            logger.warning("could not store a webhook update; Telegram will deliver it again",
                           exc_info=True)
            return Response(status_code=503)
        return Response(status_code=200)

    return Route(path, receive, methods=["POST"])
