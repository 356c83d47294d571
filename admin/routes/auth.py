"""Login (password, then the second factor when enabled) and logout."""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from admin.config import AdminConfig
from admin.pages import redirect, render
from admin.security import (
    PENDING_COOKIE,
    ConfigDep,
    CsrfRejected,
    CurrentVisitor,
    DbSession,
    KnowledgeDep,
    LoginCsrfChecked,
    LoginSlowdown,
    SentCsrf,
    clear_session_cookie,
    client_ip,
    login_csrf_value,
    reserve_attempt,
    session_token,
    set_login_csrf_cookie,
    set_session_cookie,
    slow_down,
    tokens_match,
)
from knowledge.people import advisers, second_factor, throttle
from knowledge.store.db import unit_of_work
from knowledge.store.models import User

router = APIRouter()


def _safe_next(value: str | None) -> str:
    # Only local paths: an attacker must not turn the login page into an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/queue"


def _login_page(request: Request, config: ConfigDep, *, error: str | None = None,
                login: str = "", status_code: int = 200, next_url: str | None = None
                ) -> HTMLResponse:
    token = login_csrf_value(request, config)
    page = render(request, "login.html",
                  {"error": error, "login": login, "login_csrf": token,
                   "next": _safe_next(next_url or request.query_params.get("next"))},
                  status_code=status_code)
    set_login_csrf_cookie(page, token, config)
    return page


@router.get("/login")
def login_form(request: Request, config: ConfigDep) -> HTMLResponse:
    """Show the login form."""
    return _login_page(request, config)


@router.post("/login")
def login(request: Request, _csrf: LoginCsrfChecked, _slowed: LoginSlowdown, db: DbSession,
          config: ConfigDep,
          login: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=500)],
          next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/queue") -> Response:
    """Check the credentials; open a session, or a pending one when a second factor follows."""
    try:
        reserve_attempt(db, request, config, login)
    except throttle.TooManyAttempts as error:
        return _login_page(request, config, error=str(error), login=login, status_code=429,
                           next_url=next_url)
    user = advisers.authenticate(session=db, login=login, password=password,
                                 ip=client_ip(request), limits=config.login_limits)
    if user is None:
        return _login_page(request, config, error="Identifiant ou mot de passe incorrect.",
                           login=login, status_code=401, next_url=next_url)
    if second_factor.is_enabled(user):
        # The password reservation is kept: only a complete login gives it back, so guesses
        # at the second factor cannot reset the counter by re-entering the password.
        token, _pending = advisers.open_session(
            session=db, user=user, hours=config.session_hours, ip=client_ip(request),
            user_agent=request.headers.get("user-agent"), second_factor_pending=True)
        response = RedirectResponse(
            "/login/second-factor?next=" + quote(_safe_next(next_url), safe=""), status_code=303)
        set_session_cookie(response, token, config, base=PENDING_COOKIE)
        return response
    return _complete_login(request, db, config, user, next_url)


def _complete_login(request: Request, db: Session, config: AdminConfig, user: User,
                    next_url: str) -> Response:
    """Open the full session; end the one this browser had (no two sessions side by side)."""
    throttle.release(session=db, login=user.login, ip=client_ip(request))
    old = session_token(request, config)
    if old:
        advisers.revoke_session(session=db, token=old)
    token, _web_session = advisers.open_session(
        session=db, user=user, hours=config.session_hours, ip=client_ip(request),
        user_agent=request.headers.get("user-agent"))
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    set_session_cookie(response, token, config)
    clear_session_cookie(response, config, base=PENDING_COOKIE)
    return response


def _pending(request: Request, db: Session, config: AdminConfig) -> tuple[str, User] | None:
    token = session_token(request, config, base=PENDING_COOKIE)
    resolved = advisers.resolve_session(session=db, token=token, pending=True)
    if token is None or resolved is None:
        return None
    web_session, user = resolved
    return web_session.csrf_token, user


def _second_factor_page(request: Request, csrf: str, *, error: str | None = None,
                        status_code: int = 200, next_url: str | None = None) -> HTMLResponse:
    return render(request, "second_factor.html",
                  {"login_csrf": csrf, "error": error,
                   "next": _safe_next(next_url or request.query_params.get("next"))},
                  status_code=status_code)


@router.get("/login/second-factor")
def second_factor_form(request: Request, db: DbSession, config: ConfigDep) -> Response:
    """Ask for the authenticator code (or a recovery code) after the password."""
    pending = _pending(request, db, config)
    if pending is None:
        return redirect("/login")
    return _second_factor_page(request, pending[0])


async def _second_factor_slowdown(request: Request, knowledge: KnowledgeDep,
                                  config: ConfigDep) -> None:
    def pending_login() -> str | None:
        with unit_of_work(knowledge.sessions) as session:
            resolved = advisers.resolve_session(
                session=session, token=session_token(request, config, base=PENDING_COOKIE),
                pending=True)
            return resolved[1].login if resolved else None

    login = await asyncio.to_thread(pending_login)
    if login:
        await slow_down(request, knowledge, config, login)


@router.post("/login/second-factor")
def second_factor_check(request: Request, db: DbSession, config: ConfigDep,
                        sent_csrf: SentCsrf,
                        _slowed: Annotated[None, Depends(_second_factor_slowdown)],
                        code: Annotated[str, Form(max_length=100)] = "",
                        next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/queue"
                        ) -> Response:
    """Check the second factor; open the full session when it is right."""
    pending = _pending(request, db, config)
    if pending is None:
        return redirect("/login")
    csrf, user = pending
    if not tokens_match(sent_csrf, csrf):
        raise CsrfRejected()
    try:
        reserve_attempt(db, request, config, user.login)
    except throttle.TooManyAttempts as error:
        return _second_factor_page(request, csrf, error=str(error), status_code=429,
                                   next_url=next_url)
    user = advisers.get(session=db, user_id=user.id)
    if not second_factor.verify(session=db, user=user, code=code, sealer=config.sealer()):
        throttle.note_account_failure(session=db, login=user.login, limits=config.login_limits)
        return _second_factor_page(request, csrf, error="Code incorrect ou déjà utilisé.",
                                   status_code=401, next_url=next_url)
    pending_token = session_token(request, config, base=PENDING_COOKIE)
    if pending_token:
        advisers.revoke_session(session=db, token=pending_token)
    return _complete_login(request, db, config, user, next_url)


@router.post("/logout")
def logout(request: Request, visitor: CurrentVisitor, db: DbSession,
           config: ConfigDep) -> Response:
    """End this session."""
    token = session_token(request, config)
    if token:
        advisers.revoke_session(session=db, token=token)
    response = redirect("/login", "logged_out")
    clear_session_cookie(response, config)
    return response
