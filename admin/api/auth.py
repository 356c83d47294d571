"""Who calls the API: the bearer token, its account and scope, the rate limit and the audit."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin.api.limits import RateLimiter, retry_after
from admin.security import KnowledgeDep
from knowledge.errors import Forbidden
from knowledge.people import api_tokens
from knowledge.runtime import Knowledge
from knowledge.store.db import unit_of_work
from knowledge.store.models import User

logger = logging.getLogger(__name__)

_CALLER = "api_caller"


class RateLimited(Exception):
    """A token made more calls in the last minute than the limit allows."""

    def __init__(self, wait_seconds: float) -> None:
        self.wait_seconds = wait_seconds
        super().__init__("rate limited")


@dataclass(frozen=True)
class Caller:
    """The account behind a token, and what the token may do."""

    token_id: int
    scope: api_tokens.TokenScope
    user: User

    @property
    def actor(self) -> str:
        """The actor the services record (the token's owner, as on the pages)."""
        return f"user:{self.user.login}"


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        raise api_tokens.TokenRejected(
            "missing", "Authentification requise : envoyez « Authorization: Bearer <jeton> ».")
    return value.strip()


def current_caller(request: Request, knowledge: KnowledgeDep) -> Caller:
    """Authenticate the bearer token, count the call against its rate limit."""
    secret = _bearer(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    # Counted before the lookup, by hash: a client over its limit costs one small write only.
    wait = limiter.admit(api_tokens.digest(secret))
    if wait > 0:
        raise RateLimited(wait)
    # A short unit of work of its own, as for web sessions: the route's own unit comes after.
    with unit_of_work(knowledge.sessions) as session:
        token = api_tokens.authenticate(session=session, secret=secret)
        caller = Caller(token_id=token.id, scope=api_tokens.TokenScope(token.scope),
                        user=session.get_one(User, token.user_id))
    request.state.api_caller = caller
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def writing_caller(caller: CurrentCaller) -> Caller:
    """The caller of a write: refused (403) with a read token."""
    if caller.scope is not api_tokens.TokenScope.WRITE:
        raise Forbidden("Ce jeton est en lecture seule : cette action demande un jeton en "
                        "écriture.")
    return caller


WritingCaller = Annotated[Caller, Depends(writing_caller)]


class CallAudit:
    """Record every call made with a write token, with its final status, after the response.

    In a unit of work of its own, so that a call whose changes were rolled back is recorded too.
    """

    def __init__(self, app: ASGIApp, *, knowledge: Knowledge) -> None:
        self.app = app
        self.knowledge = knowledge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        finally:
            caller = scope.get("state", {}).get(_CALLER)
            if isinstance(caller, Caller) and caller.scope is api_tokens.TokenScope.WRITE:
                # Starlette keeps the full path in a mounted app (the mount is in root_path).
                await asyncio.to_thread(self._record, caller, scope["method"],
                                        str(scope.get("path", "")), status)

    def _record(self, caller: Caller, method: str, path: str, status: int) -> None:
        try:
            with self.knowledge.session() as session:
                api_tokens.record_call(session=session, token_id=caller.token_id,
                                       method=method, path=path, status=status)
        except Exception:  # the response is gone; the failure must at least be logged
            logger.exception("could not record API call %s %s of token %s", method, path,
                             caller.token_id)


def rate_limit_headers(error: RateLimited) -> dict[str, str]:
    """The Retry-After header of a 429."""
    return {"Retry-After": retry_after(error.wait_seconds)}
