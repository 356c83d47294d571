"""Request dependencies of the web admin: unit of work, login session, roles, CSRF, throttling."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from admin.config import AdminConfig
from knowledge.errors import Forbidden, InvalidInput
from knowledge.people import advisers, second_factor, throttle
from knowledge.runtime import Knowledge
from knowledge.store.db import unit_of_work
from knowledge.store.models import User, WebSession

SESSION_COOKIE = "svp_session"
PENDING_COOKIE = "svp_pending"  # password checked, second factor awaited
LOGIN_CSRF_COOKIE = "svp_login_csrf"
# Over HTTPS the cookies carry this prefix: the browser then refuses them unless Secure, for
# path / and without Domain, so a sibling subdomain cannot plant or overwrite them.
HOST_PREFIX = "__Host-"
# Pages an admin may still reach when the second factor is mandatory and not yet enrolled.
_ENROLMENT_PATHS = ("/account", "/logout")
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class LoginRequired(Exception):
    """No valid session: the visitor must log in."""


class CsrfRejected(Exception):
    """A state-changing request came without the right anti-forgery token."""


class SecondFactorRequired(Exception):
    """An admin must enrol a second factor before anything else."""


def cookie_name(base: str, config: AdminConfig) -> str:
    """The name of one of the admin's cookies: `__Host-` prefixed when cookies are secure."""
    return f"{HOST_PREFIX}{base}" if config.secure_cookies else base


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


def current_visitor(request: Request, knowledge: KnowledgeDep, config: ConfigDep,
                    sent_csrf: SentCsrf) -> Visitor:
    """Return the logged-in visitor; check the CSRF token of every state-changing request."""
    # A short unit of work of its own: on SQLite every transaction holds the write lock, and
    # the route may need to search (which reads through its own session) before touching
    # the database.
    with unit_of_work(knowledge.sessions) as session:
        resolved = advisers.resolve_session(
            session=session, token=request.cookies.get(cookie_name(SESSION_COOKIE, config)),
            idle_minutes=config.session_idle_minutes)
    if resolved is None:
        raise LoginRequired()
    web_session, user = resolved
    if request.method in _UNSAFE_METHODS and not tokens_match(sent_csrf, web_session.csrf_token):
        raise CsrfRejected()
    if (config.second_factor_mandatory(user.role) and not second_factor.is_enabled(user)
            and not request.url.path.startswith(_ENROLMENT_PATHS)):
        request.state.visitor = Visitor(user=user, web_session=web_session)
        raise SecondFactorRequired()
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


def check_login_csrf(request: Request, config: ConfigDep, sent_csrf: SentCsrf) -> None:
    """Check the login form's token against its cookie (double submit: no session yet)."""
    if not tokens_match(sent_csrf, request.cookies.get(cookie_name(LOGIN_CSRF_COOKIE, config))):
        raise CsrfRejected()


LoginCsrfChecked = Annotated[None, Depends(check_login_csrf)]


def login_csrf_value(request: Request, config: AdminConfig,
                     base: str = LOGIN_CSRF_COOKIE) -> str:
    """Return the pre-login anti-forgery token of this browser, or a fresh one."""
    token = request.cookies.get(cookie_name(base, config))
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    return token


def set_login_csrf_cookie(response: Response, token: str, config: AdminConfig,
                          base: str = LOGIN_CSRF_COOKIE) -> None:
    """Store the pre-login anti-forgery token in its cookie (double submit)."""
    response.set_cookie(cookie_name(base, config), token, httponly=True,
                        samesite="lax", secure=config.secure_cookies, path="/")


def set_session_cookie(response: Response, token: str, config: AdminConfig,
                       base: str = SESSION_COOKIE) -> None:
    """Give the browser a session token: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    max_age = (config.session_hours * 3600 if base == SESSION_COOKIE
               else int(advisers.PENDING_SESSION_LIFETIME.total_seconds()))
    response.set_cookie(cookie_name(base, config), token, max_age=max_age, httponly=True,
                        samesite="lax", secure=config.secure_cookies, path="/")


def clear_session_cookie(response: Response, config: AdminConfig,
                         base: str = SESSION_COOKIE) -> None:
    """Remove a session cookie from the browser."""
    response.delete_cookie(cookie_name(base, config), path="/", httponly=True, samesite="lax",
                           secure=config.secure_cookies)


def session_token(request: Request, config: AdminConfig, base: str = SESSION_COOKIE
                  ) -> str | None:
    """The session token (full or pending) the browser sent, if any."""
    return request.cookies.get(cookie_name(base, config))


def reserve_attempt(db: Session, request: Request, config: AdminConfig, login: str) -> None:
    """Count a secret check before making it (TooManyAttempts over a limit), and commit.

    Committed at once so parallel attempts see it: the limit holds under concurrency.
    """
    throttle.reserve(session=db, login=login, ip=client_ip(request), limits=config.login_limits)
    db.commit()


def reauthenticate(db: Session, request: Request, config: AdminConfig, user: User,
                   password: str) -> None:
    """Check the visitor's own password again before a sensitive change (throttled)."""
    reserve_attempt(db, request, config, user.login)
    if not advisers.verify_password(user, password):
        # The reservation stays counted as a failure; the route's changes are rolled back.
        raise InvalidInput("Votre mot de passe actuel est incorrect.")
    throttle.release(session=db, login=user.login, ip=client_ip(request))


async def slow_down(request: Request, knowledge: Knowledge, config: AdminConfig,
                    login: str) -> None:
    """Wait the delay an account earned by failures from every address (never a refusal)."""

    def delay() -> float:
        with unit_of_work(knowledge.sessions) as session:
            return throttle.account_delay(session=session, login=login,
                                          limits=config.login_limits)

    seconds = await asyncio.to_thread(delay)
    if seconds > 0:
        # Awaited, not slept in a worker thread: a slowed guesser holds no thread.
        await asyncio.sleep(seconds)


async def login_slowdown(request: Request, knowledge: KnowledgeDep, config: ConfigDep) -> None:
    """Before a login form is checked, wait the delay its account earned."""
    login = (await request.form()).get("login") if request.method == "POST" else None
    if isinstance(login, str) and login:
        await slow_down(request, knowledge, config, login[:200])


LoginSlowdown = Annotated[None, Depends(login_slowdown)]


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
