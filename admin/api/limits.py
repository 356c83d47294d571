"""Limits of the JSON API: calls per token and minute, size of bodies and query strings."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from knowledge.people import api_rate
from knowledge.runtime import Knowledge

MAX_BODY_BYTES = 2_000_000  # an entry of 200,000 characters, even escaped as \uXXXX, fits
MAX_QUERY_BYTES = 4_096


class RateLimiter:
    """Calls per key (a token's hash) and minute, counted in the database.

    Every web worker counts the same calls, so the limit holds for the service as a whole,
    whatever the number of workers.
    """

    def __init__(self, knowledge: Knowledge, per_minute: int, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.knowledge = knowledge
        self.per_minute = per_minute
        self._clock = clock  # wall clock: the workers' clocks must agree with one another

    def admit(self, key: str) -> float:
        """Count a call; return 0 when admitted, else the seconds to wait before the next."""
        with self.knowledge.session() as session:
            return api_rate.admit(session=session, key=key, per_minute=self.per_minute,
                                  now=self._clock())


def retry_after(seconds: float) -> str:
    """The Retry-After header value (whole seconds, at least one)."""
    return str(max(math.ceil(seconds), 1))


def _error(status: int, code: str, message: str) -> tuple[Message, Message]:
    body = json.dumps({"error": {"code": code, "message": message}},
                      ensure_ascii=False).encode("utf-8")
    start: Message = {"type": "http.response.start", "status": status,
                      "headers": [(b"content-type", b"application/json"),
                                  (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class SizeLimits:
    """Refuse oversized query strings (414) and bodies (413) before anything reads them."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES,
                 max_query: int = MAX_QUERY_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.max_query = max_query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_query:
            await self._refuse(send, 414, "uri_too_long",
                               f"Les paramètres dépassent {self.max_query} octets.")
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await self._refuse(send, 413, "payload_too_large",
                               f"Le corps de la requête dépasse {self.max_body} octets.")
            return
        # The body is read here, whole, so that a body sent in chunks without a length is
        # refused as soon as it passes the limit; the application then reads it from memory.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._refuse(send, 413, "payload_too_large",
                                   f"Le corps de la requête dépasse {self.max_body} octets.")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        start, body = _error(status, code, message)
        await send(start)
        await send(body)

