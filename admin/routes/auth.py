"""Login and logout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from admin.pages import redirect, render
from admin.security import (
    SESSION_COOKIE,
    ConfigDep,
    CurrentVisitor,
    DbSession,
    LoginCsrfChecked,
    clear_session_cookie,
    client_ip,
    login_csrf_value,
    set_login_csrf_cookie,
    set_session_cookie,
)
from knowledge.people import advisers

router = APIRouter()


def _safe_next(value: str | None) -> str:
    # Only local paths: an attacker must not turn the login page into an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/queue"


def _login_page(request: Request, config: ConfigDep, *, error: str | None = None,
                login: str = "", status_code: int = 200, next_url: str | None = None
                ) -> HTMLResponse:
    token = login_csrf_value(request)
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
def login(request: Request, _csrf: LoginCsrfChecked, db: DbSession, config: ConfigDep,
          login: Annotated[str, Form(max_length=200)],
          password: Annotated[str, Form(max_length=500)],
          next_url: Annotated[str, Form(alias="next")] = "/queue") -> Response:
    """Check the credentials, open a server-side session and set its cookie."""
    try:
        user = advisers.authenticate(session=db, login=login, password=password,
                                     ip=client_ip(request), limits=config.login_limits)
    except advisers.TooManyAttempts as error:
        return _login_page(request, config, error=str(error), login=login, status_code=429,
                           next_url=next_url)
    if user is None:
        return _login_page(request, config, error="Identifiant ou mot de passe incorrect.",
                           login=login, status_code=401, next_url=next_url)
    token, _web_session = advisers.open_session(
        session=db, user=user, hours=config.session_hours, ip=client_ip(request),
        user_agent=request.headers.get("user-agent"))
    response = RedirectResponse(_safe_next(next_url), status_code=303)
    set_session_cookie(response, token, config)
    return response


@router.post("/logout")
def logout(request: Request, visitor: CurrentVisitor, db: DbSession,
           config: ConfigDep) -> Response:
    """End this session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        advisers.revoke_session(session=db, token=token)
    response = redirect("/login", "logged_out")
    clear_session_cookie(response, config)
    return response
