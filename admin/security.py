"""Request dependencies of the web admin: unit of work, login session, roles and CSRF."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from admin.config import AdminConfig
from knowledge.errors import Forbidden
from knowledge.people import advisers
from knowledge.runtime import Knowledge
from knowledge.store.db import unit_of_work
from knowledge.store.models import User, WebSession

SESSION_COOKIE = "svp_session"
LOGIN_CSRF_COOKIE = "svp_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class LoginRequired(Exception):
    """No valid session: the visitor must log in."""


class CsrfRejected(Exception):
    """A state-changing request came without the right anti-forgery token."""


@dataclass(frozen=True)
class Visitor:
    """The logged-in person of a request and their session."""

    user: User
    web_session: WebSession

    @property
    def csrf_token(self) -> str:
        """The anti-forgery token every form of this session carries."""
        return self.web_session.csrf_token


def get_knowledge(request: Request) -> Knowledge:
    """The knowledge base the app owns."""
    knowledge: Knowledge = request.app.state.knowledge
    return knowledge


def get_config(request: Request) -> AdminConfig:
    """The admin configuration the app was built with."""
    config: AdminConfig = request.app.state.config
    return config


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back on error."""
    with unit_of_work(get_knowledge(request).sessions) as session:
        yield session


KnowledgeDep = Annotated[Knowledge, Depends(get_knowledge)]
ConfigDep = Annotated[AdminConfig, Depends(get_config)]
# scope="function": the commit happens before the response is sent, so a redirect never
# shows stale data and a failed commit becomes an error page instead of a lost write.
DbSession = Annotated[Session, Depends(get_db, scope="function")]


async def sent_csrf_token(request: Request) -> str | None:
    """Read the anti-forgery token of a state-changing request (form field or header)."""
    if request.method not in _UNSAFE_METHODS:
        return None
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


SentCsrf = Annotated[str | None, Depends(sent_csrf_token)]


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Compare two anti-forgery tokens in constant time."""
    if not sent or not expected:
        return False
    return secrets.compare_digest(sent.encode("utf-8"), expected.encode("utf-8"))


def current_visitor(request: Request, knowledge: KnowledgeDep, sent_csrf: SentCsrf) -> Visitor:
    """Return the logged-in visitor; check the CSRF token of every state-changing request."""
    # A short unit of work of its own: on SQLite every transaction holds the write lock, and
    # the route may need to search (which reads through its own session) before touching
    # the database.
    with unit_of_work(knowledge.sessions) as session:
        resolved = advisers.resolve_session(session=session,
                                            token=request.cookies.get(SESSION_COOKIE))
    if resolved is None:
        raise LoginRequired()
    web_session, user = resolved
    if request.method in _UNSAFE_METHODS and not tokens_match(sent_csrf, web_session.csrf_token):
        raise CsrfRejected()
    visitor = Visitor(user=user, web_session=web_session)
    request.state.visitor = visitor
    return visitor


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]


def current_user(visitor: CurrentVisitor) -> User:
    """Return the logged-in adviser or admin."""
    return visitor.user


CurrentUser = Annotated[User, Depends(current_user)]


def current_admin(user: CurrentUser) -> User:
    """Return the logged-in admin; refuse advisers."""
    advisers.require_admin(user)
    return user


CurrentAdmin = Annotated[User, Depends(current_admin)]


def check_login_csrf(request: Request, sent_csrf: SentCsrf) -> None:
    """Check the login form's token against its cookie (double submit: no session yet)."""
    if not tokens_match(sent_csrf, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise CsrfRejected()


LoginCsrfChecked = Annotated[None, Depends(check_login_csrf)]


def login_csrf_value(request: Request) -> str:
    """Return the pre-login anti-forgery token of this browser, or a fresh one."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    return token


def set_login_csrf_cookie(response: Response, token: str, config: AdminConfig) -> None:
    """Store the pre-login anti-forgery token in its cookie (double submit)."""
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax",
                        secure=config.secure_cookies, path="/")


def set_session_cookie(response: Response, token: str, config: AdminConfig) -> None:
    """Give the browser its session token: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(SESSION_COOKIE, token, max_age=config.session_hours * 3600,
                        httponly=True, samesite="lax", secure=config.secure_cookies, path="/")


def clear_session_cookie(response: Response, config: AdminConfig) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=config.secure_cookies)


def client_ip(request: Request) -> str:
    """The address a request came from (the direct peer; proxies are not trusted)."""
    return request.client.host if request.client else "inconnu"


def end_read(db: Session) -> None:
    """End the request's read transaction so a search, which opens its own, never waits on it.

    On SQLite each transaction takes the database lock up front (BEGIN IMMEDIATE).
    """
    db.commit()


def require(condition: bool, message: str) -> None:
    """Raise Forbidden with a French message unless the condition holds."""
    if not condition:
        raise Forbidden(message)
