"""The webhook endpoint the web process mounts (Starlette route)."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.intake import intake_of

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
